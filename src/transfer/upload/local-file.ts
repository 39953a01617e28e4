import { constants, type FileHandle, open } from 'node:fs/promises';
import type { RateLimiter } from '../download-request.ts';
import { classifyLocalError, transferError } from '../failure-table.ts';
import { TransferError } from '../transfer-error.ts';
import { ChunkPool } from './chunk-pool.ts';
import type { PacketBody } from './packet-exchange.ts';
import type { LocalFileSnapshot } from './upload-request.ts';

/**
 * The local file of an upload. BITS trusts size and timestamp only: if either changed since the
 * upload first started, the job fails with BG_E_LOCAL_FILE_CHANGED in context LOCAL_FILE — an
 * error, not a restart (bits-upload-protocol.md §9.3 step 6, bits-client.md §3.1).
 */

/**
 * Bytes read from the file per chunk of a fragment: big positional reads (one thread-pool hop per 4
 * MiB: client + bitsd CPU per 128 MiB upload 290-320 → 180-210 ms against 1 MiB), smaller under a
 * rate limiter so its tokens are taken in even steps.
 */
const CHUNK_BYTES = 4 * 1024 * 1024;
const LIMITED_CHUNK_BYTES = 256 * 1024;
/** Idle read buffers kept: one being sent, one read ahead, one spare. */
const POOLED_CHUNKS = 3;

export class LocalUploadFile {
  readonly #handle: FileHandle;
  readonly #path: string;
  readonly snapshot: LocalFileSnapshot;
  /** Read buffers, given back by the socket's write callbacks (one pool per chunk size in use). */
  #pool: ChunkPool | null = null;

  private constructor(handle: FileHandle, path: string, snapshot: LocalFileSnapshot) {
    this.#handle = handle;
    this.#path = path;
    this.snapshot = snapshot;
  }

  /** Open the file; with `expected` (a resumed upload) fail if it changed since then. */
  static async open(path: string, expected: LocalFileSnapshot | null): Promise<LocalUploadFile> {
    let handle: FileHandle;
    try {
      // O_NONBLOCK: a FIFO planted at the name fails instead of blocking the open.
      handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        throw transferError('upload:missing', `${path} does not exist`, { cause: err });
      }
      throw new TransferError(classifyLocalError(err), { cause: err });
    }
    try {
      const st = await handle.stat();
      if (!st.isFile()) throw transferError('upload:not-a-file', `${path} is not a regular file`);
      const file = new LocalUploadFile(handle, path, expected ?? { size: st.size, mtimeMs: st.mtimeMs });
      await file.checkUnchanged();
      return file;
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  get size(): number {
    return this.snapshot.size;
  }

  /** Fail with BG_E_LOCAL_FILE_CHANGED when size or mtime differ from the snapshot. */
  async checkUnchanged(): Promise<void> {
    let size: number;
    let mtimeMs: number;
    try {
      ({ size, mtimeMs } = await this.#handle.stat());
    } catch (err) {
      throw new TransferError(classifyLocalError(err), { cause: err });
    }
    if (size !== this.snapshot.size || mtimeMs !== this.snapshot.mtimeMs) {
      throw changed(this.#path, `size ${this.snapshot.size} → ${size}, mtime ${this.snapshot.mtimeMs} → ${mtimeMs}`);
    }
  }

  /**
   * The body of the fragment [start, start+length): read chunk by chunk through the limiter. The
   * next chunk is read while the caller sends this one, so the socket never waits for the disk.
   */
  fragment(start: number, length: number, limiter: RateLimiter | null, signal: AbortSignal): PacketBody {
    const handle = this.#handle;
    const path = this.#path;
    const chunkBytes = limiter === null ? CHUNK_BYTES : LIMITED_CHUNK_BYTES;
    if (this.#pool?.chunkBytes !== chunkBytes) this.#pool = new ChunkPool(chunkBytes, POOLED_CHUNKS);
    const pool = this.#pool;
    const end = start + length;
    const read = async (pos: number): Promise<Buffer> => {
      const want = Math.min(chunkBytes, end - pos);
      if (limiter !== null) await limiter.take(want, signal);
      const buf = pool.take(want);
      let n: number;
      try {
        ({ bytesRead: n } = await handle.read(buf, 0, want, pos));
      } catch (err) {
        throw new TransferError(classifyLocalError(err), { cause: err });
      }
      if (n < want) throw changed(path, `it ended at byte ${pos + n} while reading`);
      return buf;
    };
    // A read ahead may fail while the caller still waits for the socket: mark it handled (the
    // await below still throws) so it never counts as an unhandled rejection.
    const readAt = (pos: number): Promise<Buffer> => {
      const p = read(pos);
      p.catch(() => undefined);
      return p;
    };
    return {
      length,
      done: (chunk) => pool.give(chunk),
      async *chunks() {
        let pos = start;
        let pending = pos < end ? readAt(pos) : null;
        // Abandoned mid-fragment (a failed send), the read ahead settles unseen; FileHandle.close
        // waits for it.
        while (pending !== null) {
          const buf = await pending;
          pos += buf.length;
          pending = pos < end ? readAt(pos) : null;
          yield buf;
        }
      },
    };
  }

  async close(): Promise<void> {
    await this.#handle.close();
  }
}

function changed(path: string, detail: string): TransferError {
  return transferError('upload:changed', `the local file ${path} changed after the upload started (${detail})`);
}
