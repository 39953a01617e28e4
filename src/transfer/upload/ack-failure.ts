import { type ErrorContext, type ErrorName, errorNameForHresult, httpErrorName } from '../../core/index.ts';
import {
  type AckFields,
  ERROR_CONTEXT_REMOTE_APPLICATION,
  formatErrorCode,
  type PacketType,
} from '../../core/upload-protocol.ts';
import type { TransferFailure } from '../download-request.ts';
import { ackRowKey, type FailureKey, failure } from '../failure-table.ts';

/**
 * An error Ack as a failure (bits-upload-protocol.md §6): BITS-Error-Code / BITS-Error-Context
 * become the BITS error recorded on the job; whether it is transient or fatal is the failure
 * table's `ack:` rows (ackRowKey: the server-application status table and the always-fatal
 * answers of §6.2).
 */

/** BG_E_SESSION_NOT_FOUND: the session is gone; start a new one from byte 0 (§9.3 step 4). */
export const SESSION_NOT_FOUND = 0x8020001f;

/** True when the Ack says the session id is unknown to the server. */
export function isSessionNotFound(ack: AckFields): boolean {
  return ack.errorCode === SESSION_NOT_FOUND;
}

/** The failure an error Ack (any non-success answer to `packet`) stands for. */
export function ackFailure(
  packet: PacketType,
  status: number,
  ack: AckFields,
  retryAfterMs: number | null = null,
): TransferFailure {
  const context: ErrorContext =
    ack.errorContext === ERROR_CONTEXT_REMOTE_APPLICATION ? 'REMOTE_APPLICATION' : 'REMOTE_FILE';
  const code = ack.errorCode !== undefined && ack.errorCode !== 0 ? ack.errorCode : undefined;
  const statusName = status >= 100 && status <= 599 ? httpErrorName(status) : httpErrorName(500);
  const name: ErrorName = (code === undefined ? undefined : errorNameForHresult(code)) ?? statusName;
  const parts = [`${packet}: the server answered HTTP ${status}`];
  if (code !== undefined) parts.push(`BITS-Error-Code ${formatErrorCode(code)}`);
  if (ack.errorContext !== undefined) parts.push(`BITS-Error-Context 0x${ack.errorContext.toString(16)}`);
  return failure(ackRowKey(status, code), parts.join(', '), { name, context, retryAfterMs });
}

/** A well-formed HTTP answer that breaks the protocol (missing or contradictory BITS headers). */
export function protocolFailure(
  packet: PacketType,
  message: string,
  key: Extract<FailureKey, `ack:${string}`> = 'ack:invalid',
): TransferFailure {
  return failure(key, `${packet}: ${message}`);
}
