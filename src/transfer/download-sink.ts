import type { FileHandle } from 'node:fs/promises';
import type { Clock } from '../core/index.ts';
import type { RateLimiter } from './download-request.ts';
import { classifyLocalError } from './failure-table.ts';
import { TransferError } from './transfer-error.ts';

/** Size of the buffers chunks are coalesced into before a write. */
export const WRITE_BUFFER_BYTES = 1024 * 1024;
/** Positional writes allowed in flight at once. */
const MAX_IN_FLIGHT = 2;

/** Checkpoint spacing, throttle and reporting of a DownloadSink. */
export interface SinkOptions {
  readonly clock: Clock;
  readonly checkpointBytes: number;
  readonly checkpointMs: number;
  readonly limiter: RateLimiter | null;
  readonly signal: AbortSignal;
  /** `syncMs`: how long writing out and fdatasync took (metrics). */
  readonly onCheckpoint: (bytes: number, syncMs: number) => void;
  readonly onProgress: (bytes: number) => void;
}

/**
 * Writes a temp file from a stream of chunks: coalesces them into 1 MiB buffers, keeps up to two
 * positional writes in flight, and checkpoints — fdatasync THEN onCheckpoint — every
 * `checkpointBytes` or `checkpointMs`. Local failures become LOCAL_FILE TransferErrors after
 * truncating back to the last good checkpoint (an fdatasync error means the bytes since it are
 * lost: fsyncgate, reliability-security-performance.md §1.2).
 */
/**
 * 1 MiB write buffers are reused across transfers: a job of many small files would otherwise
 * allocate (and the GC reclaim) a fresh megabyte per file. A few are kept; the rest are dropped.
 */
const FREE_BUFFERS: Buffer[] = [];
const MAX_FREE_BUFFERS = 8;
const takeBuffer = (): Buffer => FREE_BUFFERS.pop() ?? Buffer.allocUnsafe(WRITE_BUFFER_BYTES);
/** A released sink's buffer. */
const NO_BUFFER = Buffer.alloc(0);

export class DownloadSink {
  readonly #fh: FileHandle;
  readonly #opts: SinkOptions;
  #buffer: Buffer;
  #filled = 0;
  /** Local offset of the first byte of #buffer. */
  #bufferStart: number;
  #inFlight = new Set<Promise<void>>();
  #spare: Buffer[] = [];
  #writeError: unknown = null;
  #durable: number;
  #lastCheckpointMs: number;

  constructor(fh: FileHandle, offset: number, opts: SinkOptions) {
    this.#fh = fh;
    this.#opts = opts;
    this.#buffer = takeBuffer();
    this.#bufferStart = offset;
    this.#durable = offset;
    this.#lastCheckpointMs = opts.clock.monotonicMs();
  }

  /** Bytes accepted (in memory or on disk). */
  get position(): number {
    return this.#bufferStart + this.#filled;
  }

  /** Bytes known durable (last checkpoint). */
  get durable(): number {
    return this.#durable;
  }

  /** Accept a chunk: waits for the rate limiter, for a write slot, and for a due checkpoint. */
  async write(chunk: Uint8Array): Promise<void> {
    if (this.#opts.limiter !== null) await this.#opts.limiter.take(chunk.byteLength, this.#opts.signal);
    let from = 0;
    try {
      while (from < chunk.byteLength) {
        const n = Math.min(chunk.byteLength - from, WRITE_BUFFER_BYTES - this.#filled);
        this.#buffer.set(chunk.subarray(from, from + n), this.#filled);
        this.#filled += n;
        from += n;
        if (this.#filled === WRITE_BUFFER_BYTES) await this.#flushBuffer();
      }
    } catch (err) {
      throw await this.#rollback(err);
    }
    const due =
      this.position - this.#durable >= this.#opts.checkpointBytes ||
      this.#opts.clock.monotonicMs() - this.#lastCheckpointMs >= this.#opts.checkpointMs;
    if (due && this.position > this.#durable) await this.checkpoint();
  }

  /**
   * Write out what is buffered and wait for every write, without fdatasync, and give the write
   * buffers back: what is left is the last checkpoint (a bare fdatasync), which may come later.
   */
  async writeOut(): Promise<void> {
    try {
      if (this.#filled > 0) await this.#flushBuffer();
      await this.#drain();
    } catch (err) {
      throw await this.#rollback(err);
    }
    this.release();
  }

  /** Write out what is buffered, wait for every write, fdatasync, then report the offset. */
  async checkpoint(): Promise<void> {
    const started = this.#opts.clock.monotonicMs();
    try {
      if (this.#filled > 0) await this.#flushBuffer();
      await this.#drain();
      await this.#fh.datasync();
    } catch (err) {
      throw await this.#rollback(err);
    }
    this.#durable = this.position;
    this.#lastCheckpointMs = this.#opts.clock.monotonicMs();
    this.#opts.onCheckpoint(this.#durable, this.#lastCheckpointMs - started);
    this.#opts.onProgress(this.#durable);
  }

  /** Hand the write buffers back for the next transfer (only when no write still uses them). */
  release(): void {
    if (this.#inFlight.size > 0) return;
    for (const buf of [this.#buffer, ...this.#spare.splice(0)]) {
      if (buf !== NO_BUFFER && FREE_BUFFERS.length < MAX_FREE_BUFFERS) FREE_BUFFERS.push(buf);
    }
    // Given away: the sink takes no more bytes (a last checkpoint still may run).
    this.#buffer = NO_BUFFER;
    this.#filled = 0;
  }

  /** Drop everything and start over at `offset` (0 for a restart): truncates the file. */
  async reset(offset: number): Promise<void> {
    await this.#drainQuietly();
    this.#filled = 0;
    this.#writeError = null;
    try {
      await this.#fh.truncate(offset);
    } catch (err) {
      throw new TransferError(classifyLocalError(err), { cause: err });
    }
    this.#bufferStart = offset;
    this.#durable = offset;
    this.#lastCheckpointMs = this.#opts.clock.monotonicMs();
  }

  async #flushBuffer(): Promise<void> {
    if (this.#writeError !== null) throw this.#writeError;
    while (this.#inFlight.size >= MAX_IN_FLIGHT) await Promise.race(this.#inFlight);
    if (this.#writeError !== null) throw this.#writeError;
    const buf = this.#buffer;
    const len = this.#filled;
    const at = this.#bufferStart;
    this.#buffer = this.#spare.pop() ?? takeBuffer();
    this.#bufferStart += len;
    this.#filled = 0;
    const p = this.#writeAll(buf, len, at).then(
      () => {
        this.#spare.push(buf);
        this.#inFlight.delete(p);
        try {
          this.#opts.onProgress(at + len);
        } catch {
          // In-memory progress only; the next checkpoint reports again (and may throw then).
        }
      },
      (err: unknown) => {
        this.#writeError ??= err;
        this.#inFlight.delete(p);
      },
    );
    this.#inFlight.add(p);
  }

  async #writeAll(buf: Buffer, len: number, at: number): Promise<void> {
    let done = 0;
    while (done < len) {
      const { bytesWritten } = await this.#fh.write(buf, done, len - done, at + done);
      done += bytesWritten;
    }
  }

  async #drain(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.race(this.#inFlight);
    if (this.#writeError !== null) throw this.#writeError;
  }

  async #drainQuietly(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.race(this.#inFlight);
  }

  /** After a failed write or fdatasync: truncate to the last good checkpoint, classify. */
  async #rollback(err: unknown): Promise<TransferError> {
    await this.#drainQuietly();
    this.#filled = 0;
    this.#bufferStart = this.#durable;
    this.#writeError = null;
    try {
      await this.#fh.truncate(this.#durable);
    } catch {
      // The record still says #durable; the next start truncates past it anyway.
    }
    this.#opts.onProgress(this.#durable);
    return new TransferError(classifyLocalError(err), { cause: err });
  }
}
