import type { FileSegment, PieceDigests } from '../core/index.ts';
import type { DataFile } from './descriptor-file.ts';
import type { DownloadState } from './download-state.ts';
import { transferError } from './failure-table.ts';
import { type DigestReport, digestsMatch } from './running-digests.ts';
import { segmentedDownload } from './segmented-download.ts';

/** Times a file is fetched again (bad pieces, or whole) before BG_E_DIGEST_MISMATCH. */
const MAX_REPAIRS = 3;

/**
 * Check a file whose every byte is durable against its digests (docs/transfer.md, digests).
 * Bad pieces are fetched again alone — never from a source that sent them while another is
 * left, and that source is named (onSourceDropped) — a whole-file mismatch without pieces to
 * blame fetches the file again from 0 (`again`); after MAX_REPAIRS, fatal BG_E_DIGEST_MISMATCH.
 */
export async function verifyDigests(st: DownloadState, fh: DataFile, again: () => Promise<void>): Promise<void> {
  const running = st.digests;
  if (!running.active) return;
  for (let attempt = 0; ; attempt++) {
    const size = st.validators?.size ?? st.bytesTotal;
    const pieces = running.pieces;
    if (pieces !== null && !piecesFit(pieces, size)) {
      throw transferError('digest:mismatch', `${pieces.hashes.length} piece digests do not fit a ${size}-byte file`);
    }
    const readBefore = running.readBack;
    const report = await running.check(size);
    if (digestsMatch(report)) {
      st.req.hooks.onDigestsVerified?.({
        digests: running.expected,
        pieces: pieces?.hashes.length ?? 0,
        readBackBytes: running.readBack,
        readAtCheckBytes: running.readBack - readBefore,
      });
      return;
    }
    const what = describe(report, pieces);
    if (attempt >= MAX_REPAIRS) throw transferError('digest:mismatch', `${what} (after ${attempt} re-fetches)`);
    if (pieces !== null && report.badPieces.length > 0 && st.validators !== null) {
      const distrust = blame(st, report.badPieces, pieces);
      st.provenance.length = 0;
      for (const i of report.badPieces) running.forget(i * pieces.length, (i + 1) * pieces.length);
      await segmentedDownload(st, fh, repairLayout(size, pieces.length, report.badPieces), distrust);
    } else {
      await st.restart(what);
      await again();
    }
  }
}

function describe(report: DigestReport, pieces: PieceDigests | null): string {
  if (report.badPieces.length > 0 && pieces !== null) {
    const list = report.badPieces.slice(0, 8).join(', ') + (report.badPieces.length > 8 ? ', …' : '');
    return `${report.badPieces.length} piece(s) failed the ${pieces.algorithm} check (${list})`;
  }
  return `the file failed its ${report.mismatched.join(' and ')} digest`;
}

/** The sources that sent bytes of a bad piece in this call: named, and kept out of the repair. */
function blame(st: DownloadState, bad: readonly number[], pieces: PieceDigests): Map<string, string> {
  const out = new Map<string, string>();
  for (const i of bad) {
    const start = i * pieces.length;
    const end = start + pieces.length;
    for (const p of st.provenance) {
      if (p.from < end && p.to > start && !out.has(p.url)) {
        const reason = `sent piece ${i}, which failed the ${pieces.algorithm} check`;
        out.set(p.url, reason);
        st.req.hooks.onSourceDropped?.(p.url, reason);
      }
    }
  }
  return out;
}

/**
 * The layout that fetches only the bad pieces again: every other byte is durable already.
 * Pieces are `length` bytes from 0; the layout tiles [0, size).
 */
export function repairLayout(size: number, length: number, badPieces: readonly number[]): FileSegment[] {
  const out: FileSegment[] = [];
  let at = 0;
  for (const i of [...new Set(badPieces)].sort((a, b) => a - b)) {
    const start = i * length;
    const end = Math.min(size, start + length);
    if (start >= size) continue;
    if (start > at) out.push({ start: at, end: start, done: start });
    out.push({ start, end, done: start });
    at = end;
  }
  if (at < size || out.length === 0) out.push({ start: at, end: size, done: size });
  return out;
}

/** Whether the piece digests cover a `size`-byte file exactly. */
export function piecesFit(pieces: PieceDigests, size: number): boolean {
  return pieces.hashes.length === Math.max(1, Math.ceil(size / pieces.length));
}
