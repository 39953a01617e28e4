/**
 * The transfer layer: moves the bytes of one download file with BITS semantics (see
 * docs/transfer.md). The manager calls `downloadFile` per file and persists what the hooks
 * report; `checkLocalDestination` at AddFile; `commitFile` / `deleteTempFile` at Complete/Cancel.
 */
export { checkLocalDestination, commitFile, deleteTempFile, publishedMode } from './commit-file.ts';
export type * from './contract.ts';
export { closeDispatchers } from './dispatcher-pool.ts';
export { downloadFile } from './download-file.ts';
export { DEFAULT_TIMEOUTS } from './download-state.ts';
export { FAILURE_TABLE, type FailureRow } from './failure-table.ts';
export { TEMP_SUFFIX } from './temp-file.ts';
export { abortError, isAbortError, isTransferError, TransferError } from './transfer-error.ts';
