/** One satisfiable byte range, inclusive. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** Outcome of a Range header against a file size. */
export type RangeRequest =
  /** No usable Range header: send the whole file with 200. */
  | { readonly kind: 'full' }
  /** 416 with `Content-Range: bytes * /size`. */
  | { readonly kind: 'unsatisfiable' }
  /** One range → 206; several → multipart/byteranges, in request order, never merged (§13). */
  | { readonly kind: 'ranges'; readonly ranges: readonly ByteRange[] };

const MAX_RANGES = 100;

/**
 * Parse `Range: bytes=…` (RFC 9110 §14.2) for a file of `size` bytes. A malformed header is
 * ignored (full response); ranges that start past the end are dropped; none left → 416.
 */
export function parseRange(value: string | undefined, size: number): RangeRequest {
  if (value === undefined) return { kind: 'full' };
  const m = /^bytes=(.+)$/i.exec(value.trim());
  if (m?.[1] === undefined) return { kind: 'full' };
  const specs = m[1].split(',').map((s) => s.trim());
  if (specs.length > MAX_RANGES) return { kind: 'full' };
  const ranges: ByteRange[] = [];
  for (const spec of specs) {
    const r = /^(\d{0,16})-(\d{0,16})$/.exec(spec);
    if (r === null || (r[1] === '' && r[2] === '')) return { kind: 'full' };
    if (r[1] === '') {
      const suffix = Number(r[2]);
      if (suffix === 0 || size === 0) continue;
      ranges.push({ start: Math.max(0, size - suffix), end: size - 1 });
      continue;
    }
    const start = Number(r[1]);
    const end = r[2] === '' ? size - 1 : Math.min(Number(r[2]), size - 1);
    if (r[2] !== '' && Number(r[2]) < start) return { kind: 'full' };
    if (start >= size) continue;
    ranges.push({ start, end });
  }
  return ranges.length === 0 ? { kind: 'unsatisfiable' } : { kind: 'ranges', ranges };
}
