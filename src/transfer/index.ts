/**
 * The transfer layer: moves the bytes of one download file with BITS semantics (see
 * docs/transfer.md). The service's download runner calls `downloadFile` per file and the job's
 * run persists what the hooks report; `checkLocalDestinations` at AddFile; `commitFile` /
 * `deleteTempFile` at Complete/Cancel; `FAILURE_TABLE` decides transient vs fatal.
 */
export {
  checkLocalDestination,
  checkLocalDestinations,
  commitFile,
  commitFiles,
  deleteTempFile,
  type PublishItem,
  publishedMode,
} from './commit-file.ts';
export { closeDispatchers } from './dispatcher-pool.ts';
export { downloadFile } from './download-file.ts';
export type * from './download-request.ts';
export { DEFAULT_TIMEOUTS } from './download-state.ts';
export { FAILURE_TABLE, type FailureRow, unexpectedFailure } from './failure-table.ts';
export { DEFAULT_MIN_SPLIT_BYTES } from './segment-plan.ts';
export { TEMP_SUFFIX } from './temp-file.ts';
export { abortError, isAbortError, isTransferError, TransferError } from './transfer-error.ts';
