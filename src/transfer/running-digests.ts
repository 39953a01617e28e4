import { createHash, type Hash } from 'node:crypto';
import { constants, type FileHandle, open } from 'node:fs/promises';
import type { DigestAlgorithm, FileDigest, PieceDigests } from '../core/index.ts';

/** Node's names for the digest algorithms. */
export const NODE_ALGORITHM: Record<DigestAlgorithm, string> = {
  'sha-256': 'sha256',
  'sha-512': 'sha512',
  'sha-1': 'sha1',
  md5: 'md5',
};
const READ_BYTES = 1024 * 1024;

/** What the digests found once every byte was durable. */
export interface DigestReport {
  /** Whole-file digests that did not match (their algorithms). */
  readonly mismatched: readonly DigestAlgorithm[];
  /** Indexes of the pieces whose digest did not match. */
  readonly badPieces: readonly number[];
}

/** True when nothing in the report failed. */
export const digestsMatch = (r: DigestReport): boolean => r.mismatched.length === 0 && r.badPieces.length === 0;

/**
 * Where the bytes at `at` are, as the sink writing the temp file sees them: written (on disk, up
 * to `disk`), still in its buffers (`memory`: the bytes from `at`, in order), or not yet there.
 */
export type HashSource = { locate(at: number): { readonly disk: number } | { readonly memory: Uint8Array[] } | null };

/** A piece being hashed as its bytes are accepted. */
interface PieceRun {
  readonly index: number;
  readonly end: number;
  readonly hash: Hash;
}

/**
 * The digests of one file, computed while it is written (docs/transfer.md, digests). The sinks
 * call `feed` with every chunk they accept, at its offset:
 * - Whole-file hashes take bytes in order: a chunk at the hashed prefix's end goes straight in
 *   (one connection: every byte). Bytes written ahead of the prefix (other parts, or a resumed
 *   file's durable prefix after a restart lost the hash state) are read back from the temp file
 *   as the prefix reaches them, while the download goes on (`advance`, on each completed write),
 *   or taken from the sink's buffers when they are not written yet.
 * - A piece is hashed by the connection that fills it, from its first byte; a piece whose bytes
 *   did not all arrive in order in this call (a part resumed mid-piece) is read back in `check`.
 * `check` runs after the last fdatasync and reads back only what no feed covered.
 */
export class RunningDigests {
  readonly #path: string;
  readonly #fileId: string;
  readonly #pieces: PieceDigests | null;
  #expected: readonly FileDigest[];
  #whole: Hash[];
  /** Bytes [0, #hashed) went through the whole-file hashes. */
  #hashed = 0;
  /** Running piece hashes, keyed by the offset of the next byte each expects. */
  #runs = new Map<number, PieceRun>();
  /** Pieces hashed whole in this call: index → matched. */
  #judged = new Map<number, boolean>();
  /** Bumped by every forget: a read-back begun before it is stale. */
  #generation = 0;
  #source: HashSource | null = null;
  #catching: Promise<void> | null = null;
  #again = false;
  #reader: FileHandle | null = null;
  /** Bytes read back from the temp file in this call. */
  readBack = 0;

  constructor(temp: { path: string; id: string }, digests: readonly FileDigest[], pieces: PieceDigests | null) {
    this.#path = temp.path;
    this.#fileId = temp.id;
    this.#pieces = pieces;
    this.#expected = digests;
    this.#whole = digests.map((d) => createHash(NODE_ALGORITHM[d.algorithm]));
  }

  /** The whole-file digests checked. */
  get expected(): readonly FileDigest[] {
    return this.#expected;
  }

  get pieces(): PieceDigests | null {
    return this.#pieces;
  }

  /** True when there is something to check. */
  get active(): boolean {
    return this.#expected.length > 0 || this.#pieces !== null;
  }

  /**
   * Check against `digests` from now on (a server's Digest header): a change of them starts the
   * whole-file hashes over (what was hashed is read back).
   */
  expect(digests: readonly FileDigest[]): void {
    const same =
      digests.length === this.#expected.length &&
      digests.every((d, i) => d.algorithm === this.#expected[i]?.algorithm && d.value === this.#expected[i]?.value);
    if (same) return;
    const algorithmsSame = digests.every((d, i) => d.algorithm === this.#expected[i]?.algorithm);
    this.#expected = digests;
    if (!algorithmsSame || digests.length !== this.#whole.length) this.#restartWhole();
  }

  /** Accept `chunk` as the bytes at `at` (called before they are handed to a write). */
  feed(at: number, chunk: Uint8Array): void {
    if (at === this.#hashed) this.#feedWhole(chunk);
    if (this.#pieces !== null) this.#feedPieces(at, chunk, this.#pieces);
  }

  /** Bytes from `from` (to `to`) will be written again: forget every hash that covered them. */
  forget(from: number, to = Number.POSITIVE_INFINITY): void {
    if (this.#hashed > from) this.#restartWhole();
    const len = this.#pieces?.length ?? 0;
    for (const [next, run] of this.#runs) {
      if (next > from && run.index * len < to) this.#runs.delete(next);
    }
    for (const i of this.#judged.keys()) {
      if ((i + 1) * len > from && i * len < to) this.#judged.delete(i);
    }
  }

  /**
   * The sink writing the file has new written bytes (or is new): bring the whole-file hashes up
   * to them in the background, one read-back at a time.
   */
  advance(source: HashSource): void {
    this.#source = source;
    if (this.#whole.length === 0) return;
    if (this.#catching !== null) {
      this.#again = true;
      return;
    }
    this.#catching = this.#catchUp()
      .catch(() => undefined) // `check` reads back whatever was not hashed, and fails there
      .finally(() => {
        this.#catching = null;
      });
  }

  /** The sink stops writing (its round ended): no more read-back through it. */
  detach(source: HashSource): void {
    if (this.#source === source) this.#source = null;
  }

  /**
   * Judge the file once every byte of it is durable: read back what no feed covered (the
   * whole-file tail past the hashed prefix, pieces not hashed whole), then compare.
   */
  async check(size: number): Promise<DigestReport> {
    while (this.#catching !== null) await this.#catching;
    this.#source = null;
    if (this.#hashed < size && this.#whole.length > 0) await this.#readInto(this.#hashed, size);
    const mismatched = this.#expected
      .filter((d, i) => this.#hashed !== size || this.#whole[i]?.copy().digest('hex') !== d.value)
      .map((d) => d.algorithm);
    const badPieces: number[] = [];
    const pieces = this.#pieces;
    if (pieces !== null) {
      for (let i = 0; i < pieces.hashes.length; i++) {
        if (!(await this.#pieceGood(i, size, pieces))) badPieces.push(i);
      }
    }
    return { mismatched, badPieces };
  }

  /** Close the read-back descriptor. */
  async close(): Promise<void> {
    while (this.#catching !== null) await this.#catching;
    const fh = this.#reader;
    this.#reader = null;
    await fh?.close();
  }

  #feedWhole(chunk: Uint8Array): void {
    for (const h of this.#whole) h.update(chunk);
    this.#hashed += chunk.byteLength;
  }

  #restartWhole(): void {
    this.#generation++;
    this.#whole = this.#expected.map((d) => createHash(NODE_ALGORITHM[d.algorithm]));
    this.#hashed = 0;
  }

  #feedPieces(at: number, chunk: Uint8Array, pieces: PieceDigests): void {
    const len = pieces.length;
    let off = 0;
    while (off < chunk.byteLength) {
      const pos = at + off;
      let run = this.#runs.get(pos);
      this.#runs.delete(pos);
      if (run === undefined) {
        const index = Math.floor(pos / len);
        this.#judged.delete(index);
        if (pos % len !== 0) {
          // Mid-piece with no hash of its start: this piece is read back in `check`.
          off += Math.min(chunk.byteLength - off, (index + 1) * len - pos);
          continue;
        }
        run = { index, end: (index + 1) * len, hash: createHash(NODE_ALGORITHM[pieces.algorithm]) };
      }
      const n = Math.min(chunk.byteLength - off, run.end - pos);
      run.hash.update(chunk.subarray(off, off + n));
      off += n;
      if (pos + n === run.end) this.#judged.set(run.index, run.hash.digest('hex') === pieces.hashes[run.index]);
      else this.#runs.set(pos + n, run);
    }
  }

  /** Piece `i` matched: hashed whole while written, ended by the file's end, or read back now. */
  async #pieceGood(i: number, size: number, pieces: PieceDigests): Promise<boolean> {
    const judged = this.#judged.get(i);
    if (judged !== undefined) return judged;
    const start = i * pieces.length;
    const end = Math.min(size, start + pieces.length);
    const run = this.#runs.get(end);
    if (run !== undefined && run.index === i && end === size) {
      this.#runs.delete(end);
      const good = run.hash.digest('hex') === pieces.hashes[i];
      this.#judged.set(i, good);
      return good;
    }
    if (start >= size) return false;
    const hash = createHash(NODE_ALGORITHM[pieces.algorithm]);
    for await (const chunk of this.#read(start, end)) hash.update(chunk);
    return hash.digest('hex') === pieces.hashes[i];
  }

  async #catchUp(): Promise<void> {
    do {
      this.#again = false;
      for (;;) {
        const at = this.#hashed;
        const where = this.#source?.locate(at) ?? null;
        if (where === null) break;
        if ('memory' in where) {
          for (const chunk of where.memory) this.#feedWhole(chunk);
          if (this.#hashed === at) break;
          continue;
        }
        if (where.disk <= at || !(await this.#readInto(at, where.disk))) break;
      }
    } while (this.#again);
  }

  /** Feed [from, to) from the temp file into the whole-file hashes; false when a forget intervened. */
  async #readInto(from: number, to: number): Promise<boolean> {
    const generation = this.#generation;
    let at = from;
    for await (const chunk of this.#read(from, to)) {
      if (generation !== this.#generation || this.#hashed !== at) return false;
      this.#feedWhole(chunk);
      at += chunk.byteLength;
    }
    return at === to;
  }

  /** The temp file's bytes [from, to) through a read-only descriptor checked to be the temp file. */
  async *#read(from: number, to: number): AsyncGenerator<Buffer> {
    const fh = await this.#open();
    let at = from;
    while (at < to) {
      const buf = Buffer.allocUnsafe(Math.min(READ_BYTES, to - at));
      const { bytesRead } = await fh.read(buf, 0, buf.byteLength, at);
      if (bytesRead === 0) return;
      this.readBack += bytesRead;
      at += bytesRead;
      yield buf.subarray(0, bytesRead);
    }
  }

  async #open(): Promise<FileHandle> {
    if (this.#reader !== null) return this.#reader;
    const fh = await open(this.#path, constants.O_RDONLY | constants.O_NOFOLLOW);
    const st = await fh.stat({ bigint: true });
    if (`${st.dev}:${st.ino}` !== this.#fileId) {
      await fh.close();
      throw new Error(`${this.#path} is not the temp file that was written`);
    }
    this.#reader = fh;
    return fh;
  }
}
