import { type ErrorContext, type ErrorName, httpErrorName } from '../core/index.ts';
import type { TransferFailure } from './contract.ts';
import { isTransferError, transferFailure } from './transfer-error.ts';

/**
 * THE classification of transfer failures (reliability-security-performance.md §1.6, bits-client.md
 * §11.1): every network, TLS, HTTP and local-file failure maps to one row, with its kind
 * (transient → TRANSIENT_ERROR and a retry; fatal → ERROR), its BITS error and its context.
 * docs/transfer.md shows this table; nothing else in the engine decides transient vs fatal.
 */
export interface FailureRow {
  /** `net:<errno or undici code>`, `tls:<group>`, `http:<status or class>`, `local:<errno>`. */
  readonly key: string;
  readonly kind: TransferFailure['kind'];
  /** Error name; `BG_E_HTTP_ERROR_*` rows use the actual status. */
  readonly name: ErrorName | 'BG_E_HTTP_ERROR_<status>';
  readonly context: ErrorContext;
  readonly note: string;
}

const row = (
  key: string,
  kind: FailureRow['kind'],
  name: FailureRow['name'],
  context: ErrorContext,
  note: string,
): FailureRow => ({ key, kind, name, context, note });

const T = 'transient';
const F = 'fatal';
const HTTP = 'BG_E_HTTP_ERROR_<status>';

/** The rows, in the order docs/transfer.md shows them. */
export const FAILURE_TABLE: readonly FailureRow[] = [
  row('net:ECONNREFUSED', T, 'ERROR_INTERNET_CANNOT_CONNECT', 'GENERAL_TRANSPORT', 'connection refused'),
  row('net:ECONNRESET', T, 'ERROR_INTERNET_CONNECTION_RESET', 'GENERAL_TRANSPORT', 'reset; received prefix kept'),
  row('net:EPIPE', T, 'ERROR_INTERNET_CONNECTION_RESET', 'GENERAL_TRANSPORT', 'broken pipe'),
  row('net:UND_ERR_SOCKET', T, 'BG_E_CONNECTION_CLOSED', 'GENERAL_TRANSPORT', 'socket closed early (short body)'),
  row('net:ENOTFOUND', T, 'ERROR_INTERNET_NAME_NOT_RESOLVED', 'GENERAL_TRANSPORT', 'DNS: no such name'),
  row('net:EAI_AGAIN', T, 'ERROR_INTERNET_NAME_NOT_RESOLVED', 'GENERAL_TRANSPORT', 'DNS: temporary failure'),
  row('net:EHOSTUNREACH', T, 'ERROR_INTERNET_CANNOT_CONNECT', 'GENERAL_TRANSPORT', 'no route to host'),
  row('net:ENETUNREACH', T, 'BG_E_NETWORK_DISCONNECTED', 'GENERAL_TRANSPORT', 'network unreachable'),
  row('net:ETIMEDOUT', T, 'ERROR_INTERNET_TIMEOUT', 'GENERAL_TRANSPORT', 'TCP timeout'),
  row('net:UND_ERR_CONNECT_TIMEOUT', T, 'ERROR_INTERNET_TIMEOUT', 'GENERAL_TRANSPORT', 'connect timeout (30 s)'),
  row('net:UND_ERR_HEADERS_TIMEOUT', T, 'ERROR_INTERNET_TIMEOUT', 'GENERAL_TRANSPORT', 'headers timeout (60 s)'),
  row('net:UND_ERR_BODY_TIMEOUT', T, 'ERROR_INTERNET_TIMEOUT', 'GENERAL_TRANSPORT', 'body idle timeout (60 s)'),
  row('net:UND_ERR_HEADERS_OVERFLOW', F, 'ERROR_HTTP_HEADER_SIZE_OVERFLOW', 'REMOTE_FILE', 'headers over 16 KiB'),
  row('net:UND_ERR_RES_CONTENT_LENGTH_MISMATCH', T, 'BG_E_CONNECTION_CLOSED', 'REMOTE_FILE', 'short body'),
  row('net:HPE', T, 'ERROR_HTTP_INVALID_SERVER_RESPONSE', 'GENERAL_TRANSPORT', 'unparsable response'),
  row('net:other', T, 'BG_E_CONNECT_FAILURE', 'GENERAL_TRANSPORT', 'any other network error'),
  row('tls:ca', F, 'ERROR_INTERNET_INVALID_CA', 'GENERAL_TRANSPORT', 'unknown CA (BG_SSL_IGNORE_UNKNOWN_CA)'),
  row('tls:cn', F, 'ERROR_INTERNET_SEC_CERT_CN_INVALID', 'GENERAL_TRANSPORT', 'name (BG_SSL_IGNORE_CERT_CN_INVALID)'),
  row('tls:date', F, 'ERROR_INTERNET_SEC_CERT_DATE_INVALID', 'GENERAL_TRANSPORT', 'expiry (IGNORE_CERT_DATE_INVALID)'),
  row('tls:other', F, 'ERROR_INTERNET_SEC_CERT_ERRORS', 'GENERAL_TRANSPORT', 'any other certificate error'),
  row('http:408', T, HTTP, 'REMOTE_FILE', 'request timeout'),
  row('http:409', T, HTTP, 'REMOTE_FILE', 'conflict'),
  row('http:429', T, HTTP, 'REMOTE_FILE', 'too many requests; Retry-After honoured'),
  row('http:501', F, HTTP, 'REMOTE_FILE', 'not implemented'),
  row('http:505', F, HTTP, 'REMOTE_FILE', 'HTTP version not supported'),
  row('http:5xx', T, HTTP, 'REMOTE_FILE', 'server error; Retry-After honoured'),
  row('http:4xx', F, HTTP, 'REMOTE_FILE', '400, 401, 403, 404, 407, 410, …; partial data kept'),
  row('http:3xx', F, HTTP, 'REMOTE_FILE', 'redirect without a usable Location'),
  row('http:other', T, HTTP, 'REMOTE_FILE', 'any other unexpected status'),
  row('local:ENOSPC', F, 'ERROR_DISK_FULL', 'LOCAL_FILE', 'disk full; truncated to the last checkpoint'),
  row('local:EDQUOT', F, 'ERROR_DISK_FULL', 'LOCAL_FILE', 'quota exceeded'),
  row('local:EACCES', F, 'E_ACCESSDENIED', 'LOCAL_FILE', 'permission denied'),
  row('local:EPERM', F, 'E_ACCESSDENIED', 'LOCAL_FILE', 'operation not permitted'),
  row('local:EROFS', F, 'ERROR_WRITE_PROTECT', 'LOCAL_FILE', 'read-only file system'),
  row('local:ENOENT', F, 'ERROR_PATH_NOT_FOUND', 'LOCAL_FILE', 'destination folder gone'),
  row('local:ENOTDIR', F, 'ERROR_PATH_NOT_FOUND', 'LOCAL_FILE', 'destination folder is not a folder'),
  row('local:ELOOP', F, 'E_ACCESSDENIED', 'LOCAL_FILE', 'symbolic link refused'),
  row('local:EIO', T, 'E_FAIL', 'LOCAL_FILE', 'I/O error (fdatasync): truncated to the last checkpoint'),
  row('local:other', T, 'E_FAIL', 'LOCAL_FILE', 'any other local error'),
  row('internal:other', F, 'E_FAIL', 'GENERAL_QUEUE_MANAGER', 'not a transfer failure (a bug): stop, do not retry'),
];

const BY_KEY: ReadonlyMap<string, FailureRow> = new Map(FAILURE_TABLE.map((r) => [r.key, r]));

function fromRow(key: string, message: string, status?: number, retryAfterMs: number | null = null): TransferFailure {
  const r = BY_KEY.get(key);
  if (r === undefined) throw new Error(`no failure row ${key}`);
  const name = r.name === HTTP ? httpErrorName(status ?? 0) : r.name;
  return transferFailure(r.kind, name, r.context, message, retryAfterMs);
}

/** Classify an HTTP status that ends an attempt (not 2xx, not a followed redirect or auth retry). */
export function classifyHttpStatus(status: number, retryAfterMs: number | null = null): TransferFailure {
  const msg = `the server answered HTTP ${status}`;
  const exact = `http:${status}`;
  if (BY_KEY.has(exact)) return fromRow(exact, msg, status, retryAfterMs);
  if (status >= 500 && status <= 599) return fromRow('http:5xx', msg, status, retryAfterMs);
  if (status >= 400 && status <= 499) return fromRow('http:4xx', msg, status);
  if (status >= 300 && status <= 399) return fromRow('http:3xx', msg, status);
  return fromRow('http:other', msg, status >= 100 && status <= 599 ? status : 500, retryAfterMs);
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

/** The TLS row for a certificate error code (Node's / OpenSSL's names), or null if not a cert error. */
export function tlsRowKey(code: string): string | null {
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
