import type { FileHandle } from 'node:fs/promises';
import type { Clock } from '../core/index.ts';
import type { RateLimiter } from './download-request.ts';
import { classifyLocalError } from './failure-table.ts';
import type { HashSource, RunningDigests } from './running-digests.ts';
import { TransferError } from './transfer-error.ts';

/** Bytes of chunks gathered before one positional writev. */
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
  /** Digests computed while writing: fed every accepted chunk, told of every completed write. */
  readonly digests?: RunningDigests | null;
}

/**
 * Writes a temp file from a stream of chunks: gathers them (by reference, never copied) until
 * 1 MiB is pending and writes them with one positional `writev` — the kernel copies each byte
 * once, as curl's `write` does — keeps up to two writes in flight, and checkpoints — fdatasync
 * THEN onCheckpoint — every `checkpointBytes` or `checkpointMs`. Local failures become
 * LOCAL_FILE TransferErrors after truncating back to the last good checkpoint (an fdatasync
 * error means the bytes since it are lost: fsyncgate, reliability-security-performance.md §1.2).
 * A chunk handed to `write` must not be changed afterwards (network chunks never are).
 */
export class DownloadSink implements HashSource {
  readonly #fh: FileHandle;
  readonly #opts: SinkOptions;
  /** Chunks accepted and not yet handed to a write, and their byte count. */
  #chunks: Uint8Array[] = [];
  #filled = 0;
  /** Local offset of the first byte of #chunks. */
  #bufferStart: number;
  /** Writes in flight and the offset each starts at. */
  #inFlight = new Map<Promise<void>, number>();
  #writeError: unknown = null;
  #durable: number;
  #lastCheckpointMs: number;

  constructor(fh: FileHandle, offset: number, opts: SinkOptions) {
    this.#fh = fh;
    this.#opts = opts;
    this.#bufferStart = offset;
    this.#durable = offset;
    this.#lastCheckpointMs = opts.clock.monotonicMs();
    // A resumed file's durable prefix is hashed from the file (the hash state did not survive).
    if (offset > 0) opts.digests?.advance(this);
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
    if (chunk.byteLength === 0) return;
    this.#opts.digests?.feed(this.position, chunk);
    this.#chunks.push(chunk);
    this.#filled += chunk.byteLength;
    if (this.#filled >= WRITE_BUFFER_BYTES) {
      try {
        await this.#flushBuffer();
      } catch (err) {
        throw await this.#rollback(err);
      }
    }
    const due =
      this.position - this.#durable >= this.#opts.checkpointBytes ||
      this.#opts.clock.monotonicMs() - this.#lastCheckpointMs >= this.#opts.checkpointMs;
    if (due && this.position > this.#durable) await this.checkpoint();
  }

  /**
   * Write out what is pending and wait for every write, without fdatasync: what is left is the
   * last checkpoint (a bare fdatasync), which may come later.
   */
  async writeOut(): Promise<void> {
    try {
      if (this.#filled > 0) await this.#flushBuffer();
      await this.#drain();
    } catch (err) {
      throw await this.#rollback(err);
    }
  }

  /** Write out what is pending, wait for every write, fdatasync, then report the offset. */
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

  /** Where the bytes at `at` are (RunningDigests reads back what is written, takes what is buffered). */
  locate(at: number): { disk: number } | { memory: Uint8Array[] } | null {
    let written = this.#bufferStart;
    for (const start of this.#inFlight.values()) written = Math.min(written, start);
    if (at < written) return { disk: written };
    if (at === this.#bufferStart && this.#filled > 0) return { memory: this.#chunks };
    return null;
  }

  /** Drop the chunks not written (the transfer is over; nothing more is accepted). */
  release(): void {
    this.#chunks = [];
    this.#filled = 0;
  }

  /** Drop everything and start over at `offset` (0 for a restart): truncates the file. */
  async reset(offset: number): Promise<void> {
    await this.#drainQuietly();
    this.#chunks = [];
    this.#filled = 0;
    this.#writeError = null;
    this.#opts.digests?.forget(offset);
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
    while (this.#inFlight.size >= MAX_IN_FLIGHT) await Promise.race(this.#inFlight.keys());
    if (this.#writeError !== null) throw this.#writeError;
    const chunks = this.#chunks;
    const len = this.#filled;
    const at = this.#bufferStart;
    this.#chunks = [];
    this.#bufferStart += len;
    this.#filled = 0;
    const p = this.#writeAll(chunks, at).then(
      () => {
        this.#inFlight.delete(p);
        this.#opts.digests?.advance(this);
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
    this.#inFlight.set(p, at);
  }

  /** One writev of every chunk at `at`; a short write goes on with what is left. */
  async #writeAll(chunks: Uint8Array[], at: number): Promise<void> {
    let rest = chunks;
    let position = at;
    while (rest.length > 0) {
      const { bytesWritten } = await this.#fh.writev(rest, position);
      position += bytesWritten;
      rest = skipBytes(rest, bytesWritten);
    }
  }

  async #drain(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.race(this.#inFlight.keys());
    if (this.#writeError !== null) throw this.#writeError;
  }

  async #drainQuietly(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.race(this.#inFlight.keys());
  }

  /** After a failed write or fdatasync: truncate to the last good checkpoint, classify. */
  async #rollback(err: unknown): Promise<TransferError> {
    await this.#drainQuietly();
    this.#chunks = [];
    this.#filled = 0;
    this.#bufferStart = this.#durable;
    this.#writeError = null;
    this.#opts.digests?.forget(this.#durable);
    try {
      await this.#fh.truncate(this.#durable);
    } catch {
      // The record still says #durable; the next start truncates past it anyway.
    }
    this.#opts.onProgress(this.#durable);
    return new TransferError(classifyLocalError(err), { cause: err });
  }
}

/** `chunks` without their first `n` bytes. */
function skipBytes(chunks: Uint8Array[], n: number): Uint8Array[] {
  let i = 0;
  let left = n;
  while (i < chunks.length && left >= (chunks[i] as Uint8Array).byteLength)
    left -= (chunks[i++] as Uint8Array).byteLength;
  const rest = chunks.slice(i);
  if (left > 0 && rest.length > 0) rest[0] = (rest[0] as Uint8Array).subarray(left);
  return rest;
}
