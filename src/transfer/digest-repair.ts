import type { FileHandle } from 'node:fs/promises';
import type { PieceDigests } from '../core/index.ts';
import { checkDigests, type DigestReport, digestsMatch, piecesFit, repairLayout } from './digest-check.ts';
import type { DownloadState } from './download-state.ts';
import { transferError } from './failure-table.ts';
import { segmentedDownload } from './segmented-download.ts';

/** Times a file is fetched again (bad pieces, or whole) before BG_E_DIGEST_MISMATCH. */
const MAX_REPAIRS = 3;

/**
 * Check a file whose every byte is durable against its digests (docs/transfer.md, digests).
 * Bad pieces are fetched again alone — never from a source that sent them while another is
 * left, and that source is named (onSourceDropped) — a whole-file mismatch without pieces to
 * blame fetches the file again from 0 (`again`); after MAX_REPAIRS, fatal BG_E_DIGEST_MISMATCH.
 */
export async function verifyDigests(st: DownloadState, fh: FileHandle, again: () => Promise<void>): Promise<void> {
  const digests = st.req.digests ?? [];
  const given = st.req.pieces ?? null;
  if (digests.length === 0 && given === null) return;
  for (let attempt = 0; ; attempt++) {
    const size = st.validators?.size ?? st.bytesTotal;
    const pieces = given !== null && piecesFit(given, size) ? given : null;
    if (given !== null && pieces === null) {
      throw transferError('digest:mismatch', `${given.hashes.length} piece digests do not fit a ${size}-byte file`);
    }
    const report = await checkDigests(st.temporaryName, st.temporaryFileId, size, digests, pieces);
    if (digestsMatch(report)) return;
    const what = describe(report, pieces);
    if (attempt >= MAX_REPAIRS) throw transferError('digest:mismatch', `${what} (after ${attempt} re-fetches)`);
    if (pieces !== null && report.badPieces.length > 0 && st.validators !== null) {
      const distrust = blame(st, report.badPieces, pieces);
      st.provenance.length = 0;
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
