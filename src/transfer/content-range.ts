import type { RemoteValidators } from '../core/index.ts';

/**
 * Parsing of the response headers that decide which bytes arrived: Content-Range decides,
 * never the status alone (reliability-security-performance.md §1.4).
 */

/** `bytes first-last/complete` (complete null when unknown), or the unsatisfied form (first/last null). */
export interface ContentRange {
  readonly first: number | null;
  readonly last: number | null;
  readonly complete: number | null;
}

const RANGE = /^bytes[ \t]+(?:(\d{1,16})-(\d{1,16})|\*)\/(\d{1,16}|\*)$/iu;

/** Parse a Content-Range value; null if absent or malformed (a malformed one is a protocol error). */
export function parseContentRange(value: string | null): ContentRange | null {
  if (value === null) return null;
  const m = RANGE.exec(value.trim());
  if (m === null) return null;
  const complete = m[3] === '*' || m[3] === undefined ? null : Number(m[3]);
  if (m[1] === undefined || m[2] === undefined) return complete === null ? null : { first: null, last: null, complete };
  const first = Number(m[1]);
  const last = Number(m[2]);
  if (last < first || (complete !== null && last >= complete)) return null;
  return { first, last, complete };
}

/** A single, plain header value (undici gives string | string[] | undefined). */
export type RawHeaders = Record<string, string | string[] | undefined>;

/** The first value of a header, or null. */
export function headerValue(headers: RawHeaders, name: string): string | null {
  const v = headers[name];
  if (v === undefined) return null;
  return Array.isArray(v) ? (v[0] ?? null) : v;
}

/** Every value of a header that may repeat (WWW-Authenticate). */
export function headerValues(headers: RawHeaders, name: string): string[] {
  const v = headers[name];
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/** Content-Length as a number; null when absent, repeated with different values, or malformed. */
export function parseContentLength(headers: RawHeaders): number | null {
  const v = headers['content-length'];
  if (v === undefined) return null;
  const values = Array.isArray(v) ? v : [v];
  const first = values[0]?.trim() ?? '';
  if (!/^\d{1,16}$/u.test(first) || values.some((x) => x.trim() !== first)) return null;
  return Number(first);
}

/** The validators a response carries for a file of `size` bytes. */
export function responseValidators(headers: RawHeaders, size: number): RemoteValidators {
  return {
    size,
    lastModified: headerValue(headers, 'last-modified'),
    etag: headerValue(headers, 'etag'),
  };
}

/**
 * True when `fresh` shows a different file than `stored`: size, ETag or Last-Modified differs
 * (a validator the server stopped sending counts as a change).
 */
export function validatorsChanged(stored: RemoteValidators | null, fresh: RemoteValidators): boolean {
  if (stored === null) return false;
  if (stored.size >= 0 && fresh.size >= 0 && stored.size !== fresh.size) return true;
  if (stored.etag !== null && stored.etag !== fresh.etag) return true;
  if (stored.lastModified !== null && stored.lastModified !== fresh.lastModified) return true;
  return false;
}

/** The If-Range value for a resume: a strong ETag, else Last-Modified, else null. */
export function ifRangeValue(v: RemoteValidators | null): string | null {
  if (v === null) return null;
  if (v.etag !== null && !v.etag.startsWith('W/')) return v.etag;
  return v.lastModified;
}
