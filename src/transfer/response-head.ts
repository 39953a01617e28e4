import type { RawHeaders } from './content-range.ts';

/**
 * A strict HTTP/1.1 response head parser for the plain-HTTP reader (plain-http.ts). It is a
 * security boundary: anything RFC 9112 forbids is refused (obs-fold, bare LF or CR, control
 * characters, a name that is not a token, a repeated or malformed Content-Length, a head past the
 * limit), and anything merely unusual (1xx, Transfer-Encoding, a body delimited by the close)
 * is left to undici, which re-sends the request (`unusual`).
 */

/** The largest head read, as undici's default maxHeaderSize. */
export const MAX_HEAD_BYTES = 16 * 1024;

/** A head this reader takes: the body is exactly `length` bytes (0 for 204/304). */
export interface ResponseHead {
  readonly status: number;
  readonly headers: RawHeaders;
  readonly length: number;
  /** The connection may carry the next request once the body is read. */
  readonly keepAlive: boolean;
  /** Seconds the server keeps an idle connection (Keep-Alive: timeout=N), or null. */
  readonly keepAliveSeconds: number | null;
  /** Bytes of the head, CRLFCRLF included. */
  readonly headBytes: number;
}

/** A response this reader does not handle (it is valid HTTP; undici reads it instead). */
export const UNUSUAL = 'unusual';

/** A malformed head: `code` as llhttp / undici name it (failure-table.ts maps them). */
export class HeadError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

const CR = 0x0d;
const LF = 0x0a;

/** tchar (RFC 9110 §5.6.2), by byte. */
const TOKEN = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") {
  TOKEN[c.charCodeAt(0)] = 1;
}

/**
 * Parse the head at the start of `buf[0, end)`: null while it is incomplete, UNUSUAL for a
 * response to leave to undici; throws HeadError when it is malformed or too large.
 */
export function parseResponseHead(buf: Uint8Array, end: number): ResponseHead | typeof UNUSUAL | null {
  const headEnd = findHeadEnd(buf, end);
  if (headEnd < 0) {
    if (end > MAX_HEAD_BYTES) throw new HeadError('UND_ERR_HEADERS_OVERFLOW', 'headers over 16 KiB');
    return null;
  }
  if (headEnd > MAX_HEAD_BYTES) throw new HeadError('UND_ERR_HEADERS_OVERFLOW', 'headers over 16 KiB');
  const lines = splitLines(buf, headEnd - 2);
  const statusLine = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: [\t !-~\x80-\xff]*)?$/u.exec(lines[0] ?? '');
  if (statusLine === null) throw new HeadError('HPE_INVALID_STATUS', 'invalid status line');
  const minor = statusLine[1] as string;
  const status = Number(statusLine[2]);
  // No prototype: a header named __proto__ or constructor is a header like any other.
  const headers: Record<string, string | string[]> = Object.create(null);
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new HeadError('HPE_INVALID_HEADER_TOKEN', 'invalid header line');
    for (let k = 0; k < colon; k++) {
      const c = line.charCodeAt(k);
      if (c >= 128 || TOKEN[c] !== 1) throw new HeadError('HPE_INVALID_HEADER_TOKEN', 'invalid header name');
    }
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/gu, '');
    const name = line.slice(0, colon).toLowerCase();
    const prev = headers[name];
    if (prev === undefined) headers[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else headers[name] = [prev, value];
  }
  if (status < 200) return UNUSUAL;
  if (headers['transfer-encoding'] !== undefined) return UNUSUAL;
  const length = contentLength(headers['content-length']);
  const bodiless = status === 204 || status === 304;
  if (length === null && !bodiless) return UNUSUAL;
  const connection = tokens(headers.connection);
  const keepAlive = minor === '1' ? !connection.includes('close') : connection.includes('keep-alive');
  return {
    status,
    headers,
    length: bodiless ? 0 : (length as number),
    keepAlive,
    keepAliveSeconds: keepAliveTimeout(headers['keep-alive']),
    headBytes: headEnd + 2,
  };
}

/** The offset of the last CR of the head's "\r\n\r\n" (the head is that + 2 bytes); -1 if absent. */
function findHeadEnd(buf: Uint8Array, end: number): number {
  const limit = Math.min(end, MAX_HEAD_BYTES + 4);
  for (let i = 3; i < limit; i++) {
    if (buf[i] === LF && buf[i - 1] === CR && buf[i - 2] === LF && buf[i - 3] === CR) return i - 1;
  }
  return -1;
}

/**
 * The head's lines (CRLF-separated, up to `end`), as latin1. Every CR and LF must be part of a
 * CRLF, no line may start with whitespace (obs-fold) and no other control character but HTAB
 * may appear. The bytes are checked first, then decoded once and split (no Buffer per line).
 */
function splitLines(buf: Uint8Array, end: number): string[] {
  // A line is judged at its end, as a line-by-line reader would: its bytes first, then its fold.
  const folded = (start: number) => start > 0 && (buf[start] === 0x20 || buf[start] === 0x09);
  let lineStart = 0;
  for (let i = 0; i < end; i++) {
    const c = buf[i] as number;
    if (c === CR) {
      if (buf[i + 1] !== LF) throw new HeadError('HPE_LF_EXPECTED', 'bare CR in the head');
      if (folded(lineStart)) throw new HeadError('HPE_INVALID_HEADER_TOKEN', 'obs-fold in the head');
      lineStart = i + 2;
      i++;
    } else if ((c < 0x20 && c !== 0x09) || c === 0x7f) {
      throw new HeadError(c === LF ? 'HPE_CR_EXPECTED' : 'HPE_INVALID_HEADER_TOKEN', 'control character in the head');
    }
  }
  if (folded(lineStart)) throw new HeadError('HPE_INVALID_HEADER_TOKEN', 'obs-fold in the head');
  return Buffer.from(buf.buffer, buf.byteOffset, end).toString('latin1').split('\r\n');
}

/**
 * The Content-Length: null when absent; throws when repeated (even with equal values, as llhttp
 * does: a list is how two framings get smuggled) or not plain digits.
 */
function contentLength(v: string | string[] | undefined): number | null {
  if (v === undefined) return null;
  if (Array.isArray(v)) throw new HeadError('HPE_UNEXPECTED_CONTENT_LENGTH', 'more than one Content-Length');
  if (!/^\d{1,15}$/u.test(v)) throw new HeadError('HPE_INVALID_CONTENT_LENGTH', 'invalid Content-Length');
  return Number(v);
}

function tokens(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).flatMap((x) =>
    x
      .toLowerCase()
      .split(',')
      .map((t) => t.trim()),
  );
}

function keepAliveTimeout(v: string | string[] | undefined): number | null {
  const m = /(?:^|[,\s])timeout=(\d{1,6})/iu.exec(Array.isArray(v) ? v.join(',') : (v ?? ''));
  return m === null ? null : Number(m[1]);
}
