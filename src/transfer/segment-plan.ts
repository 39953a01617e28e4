import type { FileSegment } from '../core/index.ts';

/**
 * How one file is cut into segments for several connections, aria2 style (`--split`,
 * `--min-split-size`): at most `connections` equal parts, none smaller than `minSplitBytes`;
 * a connection that runs out of work takes the back half of the part with the most bytes left,
 * when both halves stay at least `minSplitBytes`. Pure: the download loop owns the live state.
 */

/** Default smallest part a file is split into (aria2's --min-split-size default is 20 MiB). */
export const DEFAULT_MIN_SPLIT_BYTES = 20 * 1024 * 1024;
/** Highest maxConnections a job may ask for (aria2's -x allows 16 too). */
export const MAX_CONNECTIONS = 16;
/** Split points are rounded down to this, so pieces start on page boundaries. */
const ALIGN = 64 * 1024;

/** A segment as the download loop sees it: `pos` is the next byte to fetch (accepted, maybe not durable). */
export interface LiveRange {
  readonly start: number;
  readonly end: number;
  readonly pos: number;
}

/**
 * The first layout of a `size`-byte file: equal parts tiling [0, size), their boundaries rounded
 * down to multiples of `align` (the piece length, so no piece straddles two parts).
 */
export function initialSegments(size: number, connections: number, minSplitBytes: number, align = 1): FileSegment[] {
  if (size <= 0) return [{ start: 0, end: 0, done: 0 }];
  const parts = Math.max(1, Math.min(connections, Math.floor(size / Math.max(1, minSplitBytes))));
  const out: FileSegment[] = [];
  let start = 0;
  for (let i = 1; i <= parts; i++) {
    const cut = Math.floor((size * i) / parts);
    const end = i === parts ? size : Math.max(start, cut - (cut % Math.max(1, align)));
    if (end === start) continue;
    out.push({ start, end, done: start });
    start = end;
  }
  return out;
}

/**
 * True when a recorded layout can be resumed for a `size`-byte file: it tiles [0, size) in order
 * and every `done` lies within its segment.
 */
export function layoutFits(segments: readonly FileSegment[], size: number): boolean {
  if (segments.length === 0 || size < 0) return false;
  let at = 0;
  for (const s of segments) {
    const ok =
      Number.isSafeInteger(s.start) &&
      Number.isSafeInteger(s.end) &&
      Number.isSafeInteger(s.done) &&
      s.start === at &&
      s.end >= s.start &&
      s.done >= s.start &&
      s.done <= s.end;
    if (!ok) return false;
    at = s.end;
  }
  return at === size;
}

/** Bytes durable in a layout (what bytesTransferred records). */
export function durableBytes(segments: readonly FileSegment[]): number {
  let n = 0;
  for (const s of segments) n += s.done - s.start;
  return n;
}

/**
 * The layout to record: adjacent finished segments are merged, so the record stays short
 * however many times parts were split.
 */
export function compactLayout(segments: readonly FileSegment[]): FileSegment[] {
  const out: FileSegment[] = [];
  for (const s of segments) {
    const prev = out.at(-1);
    if (prev !== undefined && prev.done === prev.end && s.done === s.end && prev.end === s.start) {
      out[out.length - 1] = { start: prev.start, end: s.end, done: s.end };
    } else {
      out.push({ ...s });
    }
  }
  return out;
}

/**
 * Where an idle connection should start: the index of the part with the most bytes left and the
 * offset to split it at, or null when no part is worth splitting (each half < minSplitBytes).
 */
export function pickSplit(
  parts: readonly LiveRange[],
  minSplitBytes: number,
  align = ALIGN,
): { index: number; at: number } | null {
  let best = -1;
  let bestLeft = 0;
  parts.forEach((p, i) => {
    const left = p.end - p.pos;
    if (left > bestLeft) {
      best = i;
      bestLeft = left;
    }
  });
  const part = parts[best];
  if (part === undefined || bestLeft < 2 * Math.max(1, minSplitBytes)) return null;
  const at = alignDown(part.pos + Math.floor(bestLeft / 2), part.pos, align);
  if (!(at - part.pos >= minSplitBytes && part.end - at >= minSplitBytes)) return null;
  return { index: best, at };
}

/** `n` rounded down to `align`, but never to or below `floor` (then null: no split). */
function alignDown(n: number, floor: number, align: number): number {
  const a = n - (n % Math.max(1, align));
  return a > floor ? a : Number.NaN;
}
