/**
 * A strict HTTP/1.1 request-head parser. Node's own parser (llhttp) rejects the `BITS_POST`
 * method outright (bits-upload-protocol.md §11, re-checked on Node 24: HPE_INVALID_METHOD even
 * with insecureHTTPParser), so every request to the upload server goes through this instead.
 * Strict on purpose: CRLF line ends only, no obs-fold, token header names, no control bytes,
 * one Content-Length, Transfer-Encoding refused — the inputs that enable request smuggling.
 */

/** Limits on the request head; exceeding one ends the connection after an error response. */
export interface HeadLimits {
  /** Bytes of the request line (method, target, version). */
  readonly requestLine: number;
  /** Bytes of the whole head, request line and headers included. */
  readonly headBytes: number;
  readonly headerCount: number;
}

export const DEFAULT_HEAD_LIMITS: HeadLimits = { requestLine: 8192, headBytes: 16384, headerCount: 100 };

/** A parsed request head. Header names are lower-cased; repeated headers keep every value. */
export interface RequestHead {
  readonly method: string;
  readonly target: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  readonly minorVersion: 0 | 1;
  readonly headers: ReadonlyMap<string, readonly string[]>;
  /** Declared body length (0 when absent). */
  readonly contentLength: number;
  readonly hasContentLength: boolean;
  /** Whether the connection may carry another request after this one. */
  readonly keepAlive: boolean;
  /** The raw bytes of the head, kept for a hand-off to another HTTP server. */
  readonly raw: Buffer;
}

/** A head that cannot be served; `status` is the answer and the connection is closed after it. */
export class HeadError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'HeadError';
    this.status = status;
  }
}

// Token characters of RFC 9110 that methods use; case is kept (methods are case-sensitive).
const METHOD = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Visible ASCII, space, tab and obs-text; no other control bytes (CR, LF, NUL above all).
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const TARGET = /^[\x21-\x7e]+$/;

/** First single header value (trimmed), or undefined. */
export function header(head: Pick<RequestHead, 'headers'>, name: string): string | undefined {
  return head.headers.get(name)?.[0];
}

/**
 * Find the end of a head in `buf` (index just past CRLFCRLF), or -1. Throws 431/414 once the
 * buffered bytes exceed the limits without a complete head.
 */
export function findHeadEnd(buf: Buffer, limits: HeadLimits): number {
  const end = buf.indexOf('\r\n\r\n');
  const firstLineEnd = buf.indexOf('\r\n');
  const lineLen = firstLineEnd === -1 ? buf.length : firstLineEnd;
  if (lineLen > limits.requestLine) throw new HeadError(414, 'request line too long');
  if (end === -1) {
    if (buf.length > limits.headBytes) throw new HeadError(431, 'request head too large');
    return -1;
  }
  if (end + 4 > limits.headBytes) throw new HeadError(431, 'request head too large');
  return end + 4;
}

/** Parse a complete head (as delimited by findHeadEnd). */
export function parseRequestHead(raw: Buffer, limits: HeadLimits = DEFAULT_HEAD_LIMITS): RequestHead {
  const text = raw.toString('latin1', 0, raw.length - 4);
  if (/\r(?!\n)|(?<!\r)\n/.test(text)) throw new HeadError(400, 'bare CR or LF in request head');
  const lines = text.split('\r\n');
  const requestLine = lines[0] ?? '';
  if (requestLine.length > limits.requestLine) throw new HeadError(414, 'request line too long');
  const parts = requestLine.split(' ');
  if (parts.length !== 3) throw new HeadError(400, 'malformed request line');
  const [method = '', target = '', version = ''] = parts;
  if (!METHOD.test(method)) throw new HeadError(400, 'malformed method');
  if (!TARGET.test(target)) throw new HeadError(400, 'malformed request target');
  let minorVersion: 0 | 1;
  if (version === 'HTTP/1.1') minorVersion = 1;
  else if (version === 'HTTP/1.0') minorVersion = 0;
  else if (/^HTTP\/\d\.\d$/.test(version)) throw new HeadError(505, 'HTTP version not supported');
  else throw new HeadError(400, 'malformed HTTP version');

  const headerLines = lines.slice(1);
  if (headerLines.length > limits.headerCount) throw new HeadError(431, 'too many header fields');
  const headers = new Map<string, string[]>();
  for (const line of headerLines) {
    if (line.startsWith(' ') || line.startsWith('\t')) throw new HeadError(400, 'obsolete line folding');
    const colon = line.indexOf(':');
    if (colon <= 0) throw new HeadError(400, 'malformed header field');
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) throw new HeadError(400, 'malformed header name');
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (!FIELD_VALUE.test(value)) throw new HeadError(400, 'control character in header value');
    const key = name.toLowerCase();
    const list = headers.get(key);
    if (list === undefined) headers.set(key, [value]);
    else list.push(value);
  }

  const hosts = headers.get('host');
  if (minorVersion === 1 && hosts?.length !== 1) throw new HeadError(400, 'HTTP/1.1 needs exactly one Host');
  // Refuse any Transfer-Encoding: BITS never sends chunked bodies, and with Content-Length it is
  // the classic smuggling pair (reliability-security-performance.md §1.6 row 13).
  if (headers.has('transfer-encoding')) throw new HeadError(400, 'Transfer-Encoding is not supported');
  const lengths = headers.get('content-length');
  let contentLength = 0;
  if (lengths !== undefined) {
    if (lengths.length !== 1) throw new HeadError(400, 'repeated Content-Length');
    const cl = lengths[0] ?? '';
    if (!/^\d{1,16}$/.test(cl)) throw new HeadError(400, 'malformed Content-Length');
    contentLength = Number(cl);
    if (!Number.isSafeInteger(contentLength)) throw new HeadError(400, 'Content-Length too large');
  }
  const connection = (headers.get('connection') ?? []).join(',').toLowerCase();
  const tokens = new Set(connection.split(',').map((t) => t.trim()));
  const keepAlive = minorVersion === 1 ? !tokens.has('close') : tokens.has('keep-alive');
  return {
    method,
    target,
    minorVersion,
    headers,
    contentLength,
    hasContentLength: lengths !== undefined,
    keepAlive,
    raw,
  };
}
