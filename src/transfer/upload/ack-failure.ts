import { type ErrorContext, type ErrorName, errorNameForHresult, httpErrorName } from '../../core/index.ts';
import {
  type AckFields,
  classifyServerApplicationStatus,
  ERROR_CONTEXT_REMOTE_APPLICATION,
  formatErrorCode,
  type PacketType,
} from '../../core/upload-protocol.ts';
import type { TransferFailure } from '../contract.ts';
import { transferFailure } from '../transfer-error.ts';

/**
 * Classification of an error Ack (bits-upload-protocol.md §6): BITS-Error-Code / BITS-Error-Context
 * become the BITS error recorded on the job, the HTTP status decides transient vs fatal with the
 * server-application table (3xx transient except 300–305/307; 4xx fatal except 408/409; 5xx
 * transient except 501/505; anything else transient), and some answers are always fatal (§6.2:
 * 403, 501, BG_E_TOO_LARGE, E_INVALIDARG, E_ACCESSDENIED).
 */

/** BG_E_SESSION_NOT_FOUND: the session is gone; start a new one from byte 0 (§9.3 step 4). */
export const SESSION_NOT_FOUND = 0x8020001f;
const FATAL_CODES: ReadonlySet<number> = new Set([0x80200020, 0x80070057, 0x80070005]);
const FATAL_STATUSES: ReadonlySet<number> = new Set([403, 501]);

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
  const fatal =
    FATAL_STATUSES.has(status) ||
    (code !== undefined && FATAL_CODES.has(code)) ||
    classifyServerApplicationStatus(status) === 'fatal';
  const parts = [`${packet}: the server answered HTTP ${status}`];
  if (code !== undefined) parts.push(`BITS-Error-Code ${formatErrorCode(code)}`);
  if (ack.errorContext !== undefined) parts.push(`BITS-Error-Context 0x${ack.errorContext.toString(16)}`);
  return transferFailure(fatal ? 'fatal' : 'transient', name, context, parts.join(', '), fatal ? null : retryAfterMs);
}

/** A well-formed HTTP answer that breaks the protocol (missing or contradictory BITS headers). */
export function protocolFailure(
  packet: PacketType,
  message: string,
  name: ErrorName = 'BG_E_INVALID_SERVER_RESPONSE',
  kind: TransferFailure['kind'] = 'transient',
): TransferFailure {
  return transferFailure(kind, name, 'REMOTE_FILE', `${packet}: ${message}`);
}
