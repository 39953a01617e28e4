import { BitsError, type BitsErrorData, isBitsError } from '../core/bits-error.ts';
import { errorInfo } from '../core/error-codes.ts';

/** The JSON body of every failed API call. */
export interface ErrorEnvelope {
  readonly error: BitsErrorData;
}

/**
 * Any thrown value as a BitsError. Errors that are not BitsErrors are bugs or I/O failures
 * inside the daemon: they become E_FAIL and their text stays in the daemon's log.
 */
export function asBitsError(err: unknown): { error: BitsError; internal: boolean } {
  if (isBitsError(err)) return { error: err, internal: false };
  return { error: new BitsError('E_FAIL', 'internal error in bitsd (see its log)', { cause: err }), internal: true };
}

/** The envelope and HTTP status (from the core registry) for an error. */
export function errorReply(err: BitsError, status?: number): { body: ErrorEnvelope; status: number } {
  return { body: { error: err.toJSON() }, status: status ?? errorInfo(err.name)?.httpStatus ?? 500 };
}
