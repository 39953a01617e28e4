import { createHash, type Hash } from 'node:crypto';
import { constants, open } from 'node:fs/promises';
import type { DigestAlgorithm, FileDigest, FileSegment, PieceDigests } from '../core/index.ts';

/** Node's names for the digest algorithms. */
const NODE_ALGORITHM: Record<DigestAlgorithm, string> = {
  'sha-256': 'sha256',
  'sha-512': 'sha512',
  'sha-1': 'sha1',
  md5: 'md5',
};
const READ_BYTES = 1024 * 1024;

/** What one pass over the temp file found. */
export interface DigestReport {
  /** Whole-file digests that did not match (their algorithms). */
  readonly mismatched: readonly DigestAlgorithm[];
  /** Indexes of the pieces whose digest did not match. */
  readonly badPieces: readonly number[];
}

/** True when nothing in the report failed. */
export const digestsMatch = (r: DigestReport): boolean => r.mismatched.length === 0 && r.badPieces.length === 0;

/**
 * Hash the temp file once, front to back, through every whole-file digest and the piece digests.
 * The file is read through its own O_RDONLY|O_NOFOLLOW descriptor, checked to be the temp file
 * that was written (same dev:ino). Runs once the last byte is durable: a segmented file's parts
 * arrive out of order and a hash state does not survive a restart, so one sequential read (from
 * the page cache, as a rule) is what checks every byte exactly once.
 */
export async function checkDigests(
  path: string,
  fileId: string,
  size: number,
  digests: readonly FileDigest[],
  pieces: PieceDigests | null,
): Promise<DigestReport> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const st = await fh.stat({ bigint: true });
    if (`${st.dev}:${st.ino}` !== fileId) throw new Error(`${path} is not the temp file that was written`);
    const whole = digests.map((d) => ({ d, hash: createHash(NODE_ALGORITHM[d.algorithm]) }));
    const badPieces: number[] = [];
    let piece: Hash | null = null;
    let pieceIndex = 0;
    let pieceLeft = 0;
    const buf = Buffer.allocUnsafe(READ_BYTES);
    let at = 0;
    while (at < size) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(READ_BYTES, size - at), at);
      if (bytesRead === 0) break;
      const chunk = buf.subarray(0, bytesRead);
      for (const w of whole) w.hash.update(chunk);
      let off = 0;
      while (pieces !== null && off < bytesRead) {
        if (piece === null) {
          piece = createHash(NODE_ALGORITHM[pieces.algorithm]);
          pieceLeft = Math.min(pieces.length, size - (at + off));
        }
        const n = Math.min(pieceLeft, bytesRead - off);
        piece.update(chunk.subarray(off, off + n));
        off += n;
        pieceLeft -= n;
        if (pieceLeft === 0) {
          if (piece.digest('hex') !== pieces.hashes[pieceIndex]) badPieces.push(pieceIndex);
          piece = null;
          pieceIndex++;
        }
      }
      at += bytesRead;
    }
    // A short file fails every digest (and every piece it never reached).
    if (at < size && pieces !== null) {
      for (let i = pieceIndex; i < pieces.hashes.length; i++) badPieces.push(i);
    }
    const mismatched = whole.filter((w) => at < size || w.hash.digest('hex') !== w.d.value).map((w) => w.d.algorithm);
    return { mismatched, badPieces };
  } finally {
    await fh.close();
  }
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
