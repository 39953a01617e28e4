import { type FileRange, LENGTH_TO_EOF } from '../core/index.ts';
import { transferError } from './failure-table.ts';

/**
 * AddFileWithRanges layout (bits-client.md §5.4): ranges are written back to back in the order
 * given, so the local file is the concatenation; BG_LENGTH_TO_EOF lengths are resolved once the
 * remote size is known.
 */
export interface Segment {
  /** First remote byte. */
  readonly remoteStart: number;
  /** Length in bytes, or LENGTH_TO_EOF while the remote size is unknown. */
  readonly length: number;
  /** Where the segment starts in the local file, or -1 while an earlier length is unknown. */
  readonly localStart: number;
}

/** Lay the ranges out; with `remoteSize` known every length is resolved and checked. */
export function planSegments(ranges: readonly FileRange[], remoteSize: number | null): Segment[] {
  const out: Segment[] = [];
  let local = 0;
  for (const r of ranges) {
    let length = r.length;
    if (remoteSize !== null) {
      if (r.offset >= remoteSize && !(r.offset === remoteSize && length === LENGTH_TO_EOF && remoteSize === 0)) {
        throw transferError('range:invalid', `range at ${r.offset} is past the end of the ${remoteSize}-byte file`);
      }
      if (length === LENGTH_TO_EOF) length = remoteSize - r.offset;
      if (r.offset + length > remoteSize) {
        throw transferError(
          'range:invalid',
          `range ${r.offset}+${length} runs past the end of the ${remoteSize}-byte file`,
        );
      }
    }
    out.push({ remoteStart: r.offset, length, localStart: local });
    local = local < 0 || length === LENGTH_TO_EOF ? -1 : local + length;
  }
  return out;
}

/** Sum of the lengths, or -1 while one is unknown. */
export function segmentsTotal(segments: readonly Segment[]): number {
  let total = 0;
  for (const s of segments) {
    if (s.length === LENGTH_TO_EOF) return -1;
    total += s.length;
  }
  return total;
}

/** The remote byte span to request for local offset `local`: `last` null means "to the end". */
export function spanAt(
  segments: readonly Segment[],
  local: number,
): { remoteFirst: number; remoteLast: number | null } | null {
  for (const s of segments) {
    if (s.localStart < 0) return null;
    if (s.length === LENGTH_TO_EOF) return { remoteFirst: s.remoteStart + (local - s.localStart), remoteLast: null };
    if (local < s.localStart + s.length) {
      return { remoteFirst: s.remoteStart + (local - s.localStart), remoteLast: s.remoteStart + s.length - 1 };
    }
  }
  return null;
}
