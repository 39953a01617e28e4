import { BitsError, type ErrorContext, type ErrorName, httpErrorName } from '../core/index.ts';
import type { TransferFailure } from './download-request.ts';
import { isTransferError, TransferError } from './transfer-error.ts';

/**
 * THE classification of transfer failures (reliability-security-performance.md §1.6, bits-client.md
 * §11.1, bits-upload-protocol.md §6): every network, TLS, HTTP, protocol, upload-Ack and local
 * failure maps to one row, with its kind (transient → TRANSIENT_ERROR and a retry; fatal → ERROR),
 * its BITS error and its context. docs/transfer.md shows this table. Nothing else decides
 * transient vs fatal: the engines name a row (`transferError(key, …)`) and this module builds
 * the failure from it.
 */
export interface FailureRow {
  /**
   * `net:<errno or undici code>`, `tls:<group>`, `http:<status or class>`, `local:<errno>`,
   * `response:`/`range:`/`redirect:`… for what the download logic decides from an answer,
   * `source:` for file:// sources, `upload:` and `ack:` for the upload protocol.
   */
  readonly key: string;
  readonly kind: TransferFailure['kind'];
  /** Error name; the `<…>` patterns are filled in from the answer (its status or BITS-Error-Code). */
  readonly name: ErrorName | PatternName;
  readonly context: ErrorContext;
  readonly note: string;
}

const HTTP = 'BG_E_HTTP_ERROR_<status>';
const REDIRECT = 'HTTP_STATUS_<redirect status>';
const ACK = '<BITS-Error-Code, else BG_E_HTTP_ERROR_<status>>';
type PatternName = typeof HTTP | typeof REDIRECT | typeof ACK;

const row = <K extends string>(
  key: K,
  kind: FailureRow['kind'],
  name: FailureRow['name'],
  context: ErrorContext,
  note: string,
): FailureRow & { readonly key: K } => ({ key, kind, name, context, note });

const T = 'transient';
const F = 'fatal';
const NET = 'GENERAL_TRANSPORT';
const REMOTE = 'REMOTE_FILE';
const LOCAL = 'LOCAL_FILE';

const ROWS = [
  row('net:ECONNREFUSED', T, 'ERROR_INTERNET_CANNOT_CONNECT', NET, 'connection refused'),
  row('net:ECONNRESET', T, 'ERROR_INTERNET_CONNECTION_RESET', NET, 'reset; received prefix kept'),
  row('net:EPIPE', T, 'ERROR_INTERNET_CONNECTION_RESET', NET, 'broken pipe'),
  row('net:UND_ERR_SOCKET', T, 'BG_E_CONNECTION_CLOSED', NET, 'socket closed early (short body)'),
  row('net:ENOTFOUND', T, 'ERROR_INTERNET_NAME_NOT_RESOLVED', NET, 'DNS: no such name'),
  row('net:EAI_AGAIN', T, 'ERROR_INTERNET_NAME_NOT_RESOLVED', NET, 'DNS: temporary failure'),
  row('net:EHOSTUNREACH', T, 'ERROR_INTERNET_CANNOT_CONNECT', NET, 'no route to host'),
  row('net:ENETUNREACH', T, 'BG_E_NETWORK_DISCONNECTED', NET, 'network unreachable'),
  row('net:ETIMEDOUT', T, 'ERROR_INTERNET_TIMEOUT', NET, 'TCP timeout'),
  row('net:UND_ERR_CONNECT_TIMEOUT', T, 'ERROR_INTERNET_TIMEOUT', NET, 'connect timeout (30 s)'),
  row('net:UND_ERR_HEADERS_TIMEOUT', T, 'ERROR_INTERNET_TIMEOUT', NET, 'headers timeout (60 s)'),
  row('net:UND_ERR_BODY_TIMEOUT', T, 'ERROR_INTERNET_TIMEOUT', NET, 'body idle timeout (60 s)'),
  row('net:UND_ERR_HEADERS_OVERFLOW', F, 'ERROR_HTTP_HEADER_SIZE_OVERFLOW', REMOTE, 'headers over 16 KiB'),
  row('net:UND_ERR_RES_CONTENT_LENGTH_MISMATCH', T, 'BG_E_CONNECTION_CLOSED', REMOTE, 'short body'),
  row('net:HPE', T, 'ERROR_HTTP_INVALID_SERVER_RESPONSE', NET, 'unparsable response'),
  row('net:other', T, 'BG_E_CONNECT_FAILURE', NET, 'any other network error'),
  row('tls:ca', F, 'ERROR_INTERNET_INVALID_CA', NET, 'unknown CA (BG_SSL_IGNORE_UNKNOWN_CA)'),
  row('tls:cn', F, 'ERROR_INTERNET_SEC_CERT_CN_INVALID', NET, 'name (BG_SSL_IGNORE_CERT_CN_INVALID)'),
  row('tls:date', F, 'ERROR_INTERNET_SEC_CERT_DATE_INVALID', NET, 'expiry (IGNORE_CERT_DATE_INVALID)'),
  row('tls:other', F, 'ERROR_INTERNET_SEC_CERT_ERRORS', NET, 'any other certificate error'),
  row('http:408', T, HTTP, REMOTE, 'request timeout'),
  row('http:409', T, HTTP, REMOTE, 'conflict'),
  row('http:429', T, HTTP, REMOTE, 'too many requests; Retry-After honoured'),
  row('http:501', F, HTTP, REMOTE, 'not implemented'),
  row('http:505', F, HTTP, REMOTE, 'HTTP version not supported'),
  row('http:5xx', T, HTTP, REMOTE, 'server error; Retry-After honoured'),
  row('http:4xx', F, HTTP, REMOTE, '400, 401, 403, 404, 407, 410, …; partial data kept'),
  row('http:3xx', F, HTTP, REMOTE, 'redirect without a usable Location'),
  row('http:other', T, HTTP, REMOTE, 'any other unexpected status'),
  row('response:invalid', T, 'BG_E_INVALID_SERVER_RESPONSE', REMOTE, 'whole file: the answer does not fit'),
  row('response:invalid-ranged', F, 'BG_E_INVALID_SERVER_RESPONSE', REMOTE, 'the same, with ranges (as BITS)'),
  row('response:both-lengths', T, 'ERROR_HTTP_INVALID_SERVER_RESPONSE', REMOTE, 'Content-Length and Transfer-Encoding'),
  row('response:short-body', T, 'BG_E_CONNECTION_CLOSED', REMOTE, 'closed before the declared length; prefix kept'),
  row('response:no-size', F, 'BG_E_MISSING_FILE_SIZE', REMOTE, '200 without Content-Length (not dynamic content)'),
  row('response:range-ignored', F, 'BG_E_INSUFFICIENT_RANGE_SUPPORT', REMOTE, '200 (whole file) to a Range request'),
  row('range:invalid', F, 'BG_E_INVALID_RANGE', REMOTE, 'a range past the end of the file; 416'),
  row('size:over-limit', F, 'BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED', REMOTE, 'larger than the job allows'),
  row('remote:changed', T, 'BG_E_REMOTE_FILE_CHANGED', REMOTE, 'changed after 4 restarts; file:// source shrank'),
  row('digest:mismatch', F, 'BG_E_DIGEST_MISMATCH', REMOTE, 'a digest still fails after 3 re-fetches'),
  row('redirect:failed', F, 'ERROR_HTTP_REDIRECT_FAILED', REMOTE, 'HTTPS→HTTP, a loop, > 10 hops, no Location'),
  row('redirect:disallowed', F, REDIRECT, REMOTE, 'the job disallows redirects'),
  row('request:invalid-header', F, 'E_INVALIDARG', NET, 'a custom header with CR, LF or NUL'),
  row('request:invalid-url', F, 'E_INVALIDARG', REMOTE, 'not a URL, or a scheme the engine does not speak'),
  row('proxy:invalid', F, 'BG_E_INVALID_PROXY_INFO', NET, 'an unusable proxy entry'),
  row('source:missing', F, 'ERROR_FILE_NOT_FOUND', REMOTE, 'file:// source does not exist'),
  row('source:denied', F, 'E_ACCESSDENIED', REMOTE, 'file:// source cannot be read'),
  row('source:not-a-file', F, 'E_INVALIDARG', REMOTE, 'file:// source is not a regular file'),
  row('source:other', T, 'E_FAIL', REMOTE, 'any other error reading a file:// source'),
  row('upload:missing', F, 'ERROR_FILE_NOT_FOUND', LOCAL, 'the file to upload does not exist'),
  row('upload:not-a-file', F, 'E_INVALIDARG', LOCAL, 'the file to upload is not a regular file'),
  row('upload:empty-reply', F, 'E_INVALIDARG', LOCAL, 'an upload-reply job cannot send an empty file'),
  row('upload:changed', F, 'BG_E_LOCAL_FILE_CHANGED', LOCAL, 'the file to upload changed after the upload began'),
  row('upload:session-lost', T, 'BG_E_SESSION_NOT_FOUND', REMOTE, 'the server lost the session 3 times in a row'),
  row('ack:invalid', T, 'BG_E_INVALID_SERVER_RESPONSE', REMOTE, 'an Ack that breaks the protocol'),
  row('ack:invalid-session', F, 'BG_E_INVALID_SERVER_RESPONSE', REMOTE, 'no valid session id or reply URL'),
  row('ack:protocol-mismatch', F, 'BG_E_CLIENT_SERVER_PROTOCOL_MISMATCH', REMOTE, 'a protocol that was not offered'),
  row('ack:too-large', F, 'BG_E_TOO_LARGE', REMOTE, '413 for the smallest fragment'),
  row('ack:403', F, ACK, REMOTE, 'error Ack: forbidden (§6.2)'),
  row('ack:fatal-code', F, ACK, REMOTE, 'error Ack: BG_E_TOO_LARGE, E_INVALIDARG, E_ACCESSDENIED'),
  row('ack:408', T, ACK, REMOTE, 'error Ack: request timeout'),
  row('ack:409', T, ACK, REMOTE, 'error Ack: conflict'),
  row('ack:4xx', F, ACK, REMOTE, 'error Ack: any other 4xx'),
  row('ack:501', F, ACK, REMOTE, 'error Ack: not implemented'),
  row('ack:505', F, ACK, REMOTE, 'error Ack: HTTP version not supported'),
  row('ack:5xx', T, ACK, REMOTE, 'error Ack: server error; Retry-After honoured'),
  row('ack:3xx-fatal', F, ACK, REMOTE, 'error Ack: 300–305, 307'),
  row('ack:3xx', T, ACK, REMOTE, 'error Ack: any other 3xx'),
  row('ack:other', T, ACK, REMOTE, 'error Ack: any other status'),
  row('local:ENOSPC', F, 'ERROR_DISK_FULL', LOCAL, 'disk full; truncated to the last checkpoint'),
  row('local:EDQUOT', F, 'ERROR_DISK_FULL', LOCAL, 'quota exceeded'),
  row('local:EACCES', F, 'E_ACCESSDENIED', LOCAL, 'permission denied'),
  row('local:EPERM', F, 'E_ACCESSDENIED', LOCAL, 'operation not permitted'),
  row('local:EROFS', F, 'ERROR_WRITE_PROTECT', LOCAL, 'read-only file system'),
  row('local:ENOENT', F, 'ERROR_PATH_NOT_FOUND', LOCAL, 'destination folder gone'),
  row('local:ENOTDIR', F, 'ERROR_PATH_NOT_FOUND', LOCAL, 'destination folder is not a folder'),
  row('local:ELOOP', F, 'E_ACCESSDENIED', LOCAL, 'symbolic link refused'),
  row('local:EIO', T, 'E_FAIL', LOCAL, 'I/O error (fdatasync): truncated to the last checkpoint'),
  row('local:other', T, 'E_FAIL', LOCAL, 'any other local error'),
  row('internal:other', F, 'E_FAIL', 'GENERAL_QUEUE_MANAGER', 'not a transfer failure (a bug): stop, do not retry'),
];

/** The rows, in the order docs/transfer.md shows them. */
export const FAILURE_TABLE: readonly FailureRow[] = ROWS;

/** A row's key: what an engine names when it fails. */
export type FailureKey = (typeof ROWS)[number]['key'];

const BY_KEY: ReadonlyMap<string, FailureRow> = new Map(FAILURE_TABLE.map((r) => [r.key, r]));

/** What the answer adds to a row: the actual error name for a pattern row, the Ack's context, Retry-After. */
export interface FailureDetails {
  readonly name?: ErrorName;
  readonly context?: ErrorContext;
  readonly retryAfterMs?: number | null;
}

/** The failure of row `key` (a transient row keeps `retryAfterMs`; a fatal one never retries). */
export function failure(key: FailureKey, message: string, details: FailureDetails = {}): TransferFailure {
  return fromRow(key, message, details);
}

function fromRow(key: string, message: string, details: FailureDetails = {}): TransferFailure {
  const r = BY_KEY.get(key);
  if (r === undefined) throw new Error(`no failure row ${key}`);
  const name = details.name ?? (isPattern(r.name) ? undefined : r.name);
  if (name === undefined) throw new Error(`failure row ${key} needs the actual error name`);
  const error = new BitsError(name, message, { context: details.context ?? r.context }).toJSON();
  return { kind: r.kind, error, retryAfterMs: r.kind === 'transient' ? (details.retryAfterMs ?? null) : null };
}

function isPattern(name: FailureRow['name']): name is PatternName {
  return name === HTTP || name === REDIRECT || name === ACK;
}

/** The TransferError an engine throws for row `key`. */
export function transferError(
  key: FailureKey,
  message: string,
  details: FailureDetails & { readonly cause?: unknown } = {},
): TransferError {
  return new TransferError(failure(key, message, details), { cause: details.cause });
}

/** Classify an HTTP status that ends an attempt (not 2xx, not a followed redirect or auth retry). */
export function classifyHttpStatus(status: number, retryAfterMs: number | null = null): TransferFailure {
  const details = { name: httpErrorName(status >= 100 && status <= 599 ? status : 500), retryAfterMs };
  const exact = `http:${status}`;
  const message = `the server answered HTTP ${status}`;
  if (BY_KEY.has(exact)) return fromRow(exact, message, details);
  return fromRow(`http:${statusClass(status)}`, message, details);
}

/** `5xx`, `4xx`, `3xx`, or `other`: the class rows of a status. */
function statusClass(status: number): string {
  if (status >= 300 && status <= 599) return `${Math.floor(status / 100)}xx`;
  return 'other';
}

const TLS_CA = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_CHAIN_TOO_LONG',
]);
const TLS_DATE = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);
const TLS_CN = new Set(['ERR_TLS_CERT_ALTNAME_INVALID']);
const TLS_OTHER = /^(CERT_|ERR_TLS_CERT|INVALID_CA|INVALID_PURPOSE|CERT_REJECTED)/u;

/**
 * THE list of TLS certificate error codes (Node's / OpenSSL's names): the row a code belongs to,
 * or null if it is not a certificate error. tls-verify.ts asks it too, when it re-checks a peer.
 */
export function tlsRowKey(code: string): 'tls:ca' | 'tls:date' | 'tls:cn' | 'tls:other' | null {
  if (TLS_CA.has(code)) return 'tls:ca';
  if (TLS_DATE.has(code)) return 'tls:date';
  if (TLS_CN.has(code)) return 'tls:cn';
  if (TLS_OTHER.test(code)) return 'tls:other';
  return null;
}

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

/** Classify a thrown network or TLS error (undici, net, tls, dns). TransferErrors pass through. */
export function classifyNetworkError(err: unknown): TransferFailure {
  if (isTransferError(err)) return err.failure;
  let e: unknown = err;
  // undici wraps socket errors; the root cause names the errno.
  for (let depth = 0; depth < 4 && codeOf(e) === '' && (e as { cause?: unknown })?.cause !== undefined; depth++) {
    e = (e as { cause?: unknown }).cause;
  }
  const code = codeOf(e) || codeOf(err);
  const message = e instanceof Error ? e.message : String(e);
  const tls = tlsRowKey(code);
  if (tls !== null) return fromRow(tls, `TLS: ${code}: ${message}`);
  if (code.startsWith('HPE_')) return fromRow('net:HPE', `${code}: ${message}`);
  if (BY_KEY.has(`net:${code}`)) return fromRow(`net:${code}`, `${code}: ${message}`);
  return fromRow('net:other', code === '' ? message : `${code}: ${message}`);
}

/** Classify a local file-system error (temp file create/write/fdatasync/truncate/rename). */
export function classifyLocalError(err: unknown): TransferFailure {
  if (isTransferError(err)) return err.failure;
  const code = codeOf(err);
  const message = err instanceof Error ? err.message : String(err);
  const key = BY_KEY.has(`local:${code}`) ? `local:${code}` : 'local:other';
  return fromRow(key, message);
}

/** Error Acks whose BITS-Error-Code is always fatal (§6.2): BG_E_TOO_LARGE, E_INVALIDARG, E_ACCESSDENIED. */
const FATAL_ACK_CODES: ReadonlySet<number> = new Set([0x80200020, 0x80070057, 0x80070005]);

/**
 * The row of an error Ack (bits-upload-protocol.md §6, [W32] handling-server-application-errors):
 * 403, 501 and the fatal codes always stop; otherwise 3xx is transient except 300–305 and 307,
 * 4xx fatal except 408 and 409, 5xx transient except 501 and 505, anything else transient.
 */
export function ackRowKey(status: number, errorCode: number | undefined): FailureKey {
  if (status === 403) return 'ack:403';
  if (errorCode !== undefined && FATAL_ACK_CODES.has(errorCode)) return 'ack:fatal-code';
  switch (status) {
    case 408:
    case 409:
    case 501:
    case 505:
      return `ack:${status}`;
  }
  if (status >= 300 && status <= 399)
    return (status >= 300 && status <= 305) || status === 307 ? 'ack:3xx-fatal' : 'ack:3xx';
  if (status >= 400 && status <= 499) return 'ack:4xx';
  if (status >= 500 && status <= 599) return 'ack:5xx';
  return 'ack:other';
}

/** Anything a run throws that is not a classified transfer failure: fatal, so a bug is not retried forever. */
export function unexpectedFailure(err: unknown): TransferFailure {
  return fromRow('internal:other', err instanceof Error ? err.message : String(err));
}

/** Parse Retry-After (delta-seconds or HTTP-date) into ms from `nowMs`; null if absent or bad. */
export function parseRetryAfter(value: string | null, nowMs: number): number | null {
  if (value === null) return null;
  const v = value.trim();
  if (/^\d+$/u.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - nowMs);
}
