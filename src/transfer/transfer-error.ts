import type { TransferFailure } from './download-request.ts';

/**
 * The error `downloadFile` rejects with when a transfer fails: `failure` says transient or
 * fatal, with the BITS error (name, HRESULT, context) to record on the job. Only the failure
 * table builds one (failure-table.ts `transferError`): it alone decides transient vs fatal.
 */
export class TransferError extends Error {
  override readonly name = 'TransferError';
  readonly failure: TransferFailure;

  constructor(failure: TransferFailure, options?: { cause?: unknown }) {
    super(`${failure.error.name}: ${failure.error.message}`, options);
    this.failure = failure;
  }
}

/** The rejection of an aborted download: a DOMException named AbortError, the signal's reason as cause. */
export function abortError(signal: AbortSignal): DOMException {
  const err = new DOMException('the download was aborted', 'AbortError');
  Object.defineProperty(err, 'cause', { value: signal.reason, enumerable: false });
  return err;
}

/** True for the rejection of an aborted download (as opposed to a TransferError). */
export function isAbortError(value: unknown): value is DOMException {
  return value instanceof DOMException && value.name === 'AbortError';
}

/** True for the rejection of a failed (not aborted) download. */
export function isTransferError(value: unknown): value is TransferError {
  return value instanceof TransferError;
}
