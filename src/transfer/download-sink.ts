import type { Clock } from '../core/index.ts';
import { transferBuffersUsed } from './buffer-reclaim.ts';
import type { DataFile } from './descriptor-file.ts';
import type { RateLimiter } from './download-request.ts';
import { classifyLocalError } from './failure-table.ts';
import type { HashSource, RunningDigests } from './running-digests.ts';
import { TransferError } from './transfer-error.ts';
import { giveWriteBuffer, takeWriteBuffer, writerDone, writerStarted } from './write-buffers.ts';

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
  /**
   * Every completed write below this offset (written, not synced), when it moved: forward as
   * writes complete, back after a rollback or reset (docs/durability.md, "Written, not synced").
   */
  readonly onWritten?: (bytes: number) => void;
  /** Digests computed while writing: fed every accepted chunk, told of every completed write. */
  readonly digests?: RunningDigests | null;
}

/**
 * Writes a temp file from a stream of chunks: copies them into recycled buffers
 * (write-buffers.ts) and writes each full one with one positional write, so a socket's chunk
 * dies as soon as it is read and the memory of a transfer is a few warm buffers — keeping the
 * chunks by reference until their write completed let them outlive a minor GC or two, and
 * eight concurrent transfers then held ~50 MiB more (dead buffers only a full GC frees) for a
 * memcpy saved. Keeps up to two writes in flight, and checkpoints — fdatasync THEN
 * onCheckpoint — every `checkpointBytes` or `checkpointMs`. A checkpoint that falls due
 * while bytes flow runs beside them: it covers the bytes handed to writes so far, waits for those
 * writes, fdatasyncs and only then reports that offset, while later chunks go on being written
 * (an fdatasync covers every write completed before it starts; later ones wait for the next).
 * Local failures become LOCAL_FILE TransferErrors after truncating back to the last good
 * checkpoint (an fdatasync error means the bytes since it are lost: fsyncgate,
 * reliability-security-performance.md §1.2).
 */
export class DownloadSink implements HashSource {
  readonly #fh: DataFile;
  readonly #opts: SinkOptions;
  /** The write buffer being filled (recycled, never garbage), and its byte count. */
  #fill: Buffer | null = null;
  /** This sink's written buffers, for its next fills (the shared pool gets them at release). */
  #spare: Buffer[] = [];
  #released = false;
  /**
   * The size of this sink's write buffers, chosen when it takes its first (write-buffers.ts:
   * smaller beside other transfers); 0 before. Counted as a writer from then until release().
   */
  #bufferBytes = 0;
  #filled = 0;
  /** Local offset of the first byte of #fill. */
  #bufferStart: number;
  /** Writes in flight and the offset each starts at. */
  #inFlight = new Map<Promise<void>, number>();
  /** A failed write or fdatasync (rolled back at the next call), or a hook's exception (rethrown). */
  #writeError: unknown = null;
  #hookError: unknown = null;
  #durable: number;
  /** The last offset onWritten reported. */
  #written: number;
  /** The offset the last checkpoint (done or running) covers, and when it started. */
  #checkpointed: number;
  #lastCheckpointMs: number;
  /** A checkpoint running beside the writes; never rejects (it records its failure). */
  #background: Promise<void> | null = null;
  /** Readers waiting for a write slot. */
  #slotWaiters: (() => void)[] = [];
  /** Stops the reader now when a checkpoint beside it fails (it may be waiting on a quiet socket). */
  #stopReader: ((err: unknown) => void) | null = null;

  constructor(fh: DataFile, offset: number, opts: SinkOptions) {
    this.#fh = fh;
    this.#opts = opts;
    this.#bufferStart = offset;
    this.#durable = offset;
    this.#written = offset;
    this.#checkpointed = offset;
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

  /** Accept a chunk: waits for the rate limiter, for a write slot (back-pressure). */
  async write(chunk: Uint8Array): Promise<void> {
    const wait = this.accept(chunk);
    if (wait !== null) await wait;
  }

  /**
   * Take `chunk` now, synchronously: null when the next may follow at once, else a promise to
   * wait for before the next (the rate limiter's grant, or a free write slot: the reader's
   * socket stays paused meanwhile, so a transfer holds at most four write buffers). Starts a
   * checkpoint when one is due, without waiting for it. Throws a hook's exception, and rejects
   * with a LOCAL_FILE TransferError after a failed write or fdatasync.
   */
  accept(chunk: Uint8Array): Promise<void> | null {
    if (this.#hookError !== null) {
      const err = this.#hookError;
      this.#hookError = null;
      throw err;
    }
    if (this.#writeError !== null) return this.#failed();
    const limiter = this.#opts.limiter;
    const n = chunk.byteLength;
    if (n > 0) this.#opts.digests?.feed(this.position, chunk);
    // Copied into a recycled write buffer: the socket's chunk dies at once (young, freed by the
    // next minor GC) instead of living until its write completes.
    const fill = this.#fill;
    if (fill !== null && chunk.buffer === fill.buffer && chunk.byteOffset === fill.byteOffset + this.#filled) {
      // Read straight into the buffer's free tail (readTarget): nothing to copy.
      this.#filled += n;
      if (this.#filled === this.#bufferBytes) this.#flushBuffer();
    } else {
      for (let from = 0; from < n; ) {
        this.#fill ??= this.#newFill();
        const k = Math.min(n - from, this.#bufferBytes - this.#filled);
        this.#fill.set(k === n ? chunk : chunk.subarray(from, from + k), this.#filled);
        this.#filled += k;
        from += k;
        if (this.#filled === this.#bufferBytes) this.#flushBuffer();
      }
      // A socket's own chunk, dead now: reclaimed by a minor GC now and then (none is needed
      // when the socket reads into the write buffer: no memory is allocated per read then).
      transferBuffersUsed(n);
    }
    // Back-pressure: past two writes in flight the socket waits for one to complete.
    let wait = this.#inFlight.size > MAX_IN_FLIGHT ? this.#whenSlot() : null;
    if (this.#checkpointDue()) {
      // One sync at a time, and at most one interval past it: a next checkpoint due while one
      // runs pauses the socket until that one ends (and the next has started).
      if (this.#background === null) this.#checkpointBeside();
      else wait = wait === null ? this.#background : Promise.all([wait, this.#background]).then(() => undefined);
    }
    const grant = limiter === null ? null : limiter.take(chunk.byteLength, this.#opts.signal);
    if (grant === null) return wait;
    return wait === null ? grant : Promise.all([grant, wait]).then(() => undefined);
  }

  /**
   * The free tail of the write buffer being filled, for a reader that can read into memory it is
   * given (plain-http.ts): a chunk then passed to `accept` that starts exactly there is taken
   * without a copy. Valid until the next call of any other method.
   */
  readTarget(): Buffer | null {
    if (this.#hookError !== null || this.#writeError !== null) return null;
    this.#fill ??= this.#newFill();
    return this.#fill.subarray(this.#filled);
  }

  #newFill(): Buffer {
    if (this.#bufferBytes === 0) this.#bufferBytes = writerStarted();
    return this.#spare.pop() ?? takeWriteBuffer(this.#bufferBytes);
  }

  /**
   * While `stop` is watching, a checkpoint that fails beside the writes calls it at once (the
   * reader may be waiting for bytes that never come); otherwise the next call reports it.
   */
  watch(stop: (err: unknown) => void): () => void {
    this.#stopReader = stop;
    return () => {
      if (this.#stopReader === stop) this.#stopReader = null;
    };
  }

  /**
   * Write out what is pending and wait for every write, without fdatasync: what is left is the
   * last checkpoint (a bare fdatasync), which may come later.
   */
  async writeOut(): Promise<void> {
    await this.#settleBackground();
    try {
      if (this.#writeError !== null) throw this.#writeError;
      if (this.#filled > 0) await this.#flushWhenFree();
      await this.#drain();
    } catch (err) {
      throw await this.#rollback(err);
    }
  }

  /**
   * Write out what is pending, wait for every write, fdatasync, then report the offset.
   * `withMetadata`: fsync instead, which also covers a mode or time just given to the file.
   */
  async checkpoint(withMetadata = false): Promise<void> {
    await this.#settleBackground();
    const started = this.#opts.clock.monotonicMs();
    try {
      if (this.#writeError !== null) throw this.#writeError;
      if (this.#filled > 0) await this.#flushWhenFree();
      await this.#drain();
      if (withMetadata) await this.#fh.sync();
      else await this.#fh.datasync();
    } catch (err) {
      throw await this.#rollback(err);
    }
    this.#durable = this.position;
    this.#checkpointed = this.#durable;
    this.#lastCheckpointMs = this.#opts.clock.monotonicMs();
    this.#opts.onCheckpoint(this.#durable, this.#lastCheckpointMs - started);
    this.#opts.onProgress(this.#durable);
  }

  /** Where the bytes at `at` are (RunningDigests reads back what is written, takes what is buffered). */
  locate(at: number): { disk: number } | { memory: Uint8Array[] } | null {
    let written = this.#bufferStart;
    for (const start of this.#inFlight.values()) written = Math.min(written, start);
    if (at < written) return { disk: written };
    if (at === this.#bufferStart && this.#fill !== null && this.#filled > 0) {
      return { memory: [this.#fill.subarray(0, this.#filled)] };
    }
    return null;
  }

  /** Drop the chunks not written (the transfer is over; nothing more is accepted). */
  release(): void {
    this.#dropPending();
    if (!this.#released && this.#bufferBytes !== 0) writerDone();
    this.#released = true;
    for (const buf of this.#spare) giveWriteBuffer(buf);
    this.#spare = [];
  }

  /** A buffer no longer in use: kept for this sink's next fill, or pooled once it is released. */
  #reuse(buf: Buffer): void {
    if (this.#released) giveWriteBuffer(buf);
    else this.#spare.push(buf);
  }

  /** Forget the chunks not handed to a write. */
  #dropPending(): void {
    if (this.#fill !== null) this.#reuse(this.#fill);
    this.#fill = null;
    this.#filled = 0;
  }

  /** Drop everything and start over at `offset` (0 for a restart): truncates the file. */
  async reset(offset: number): Promise<void> {
    await this.#settleBackgroundQuietly();
    await this.#drainQuietly();
    this.#dropPending();
    this.#writeError = null;
    this.#opts.digests?.forget(offset);
    try {
      await this.#fh.truncate(offset);
    } catch (err) {
      throw new TransferError(classifyLocalError(err), { cause: err });
    }
    this.#bufferStart = offset;
    this.#durable = offset;
    this.#checkpointed = offset;
    this.#lastCheckpointMs = this.#opts.clock.monotonicMs();
    this.#reportWritten(offset);
  }

  #checkpointDue(): boolean {
    if (this.position <= this.#checkpointed) return false;
    return (
      this.position - this.#checkpointed >= this.#opts.checkpointBytes ||
      this.#opts.clock.monotonicMs() - this.#lastCheckpointMs >= this.#opts.checkpointMs
    );
  }

  /**
   * A checkpoint beside the flowing bytes: it covers what was handed to writes (the pending
   * buffer too, when a write slot is free), waits for exactly those writes, fdatasyncs, then
   * reports. Its failure is recorded for the next call: a local one rolls back, a hook's is rethrown.
   */
  #checkpointBeside(): void {
    const started = this.#opts.clock.monotonicMs();
    // Claimed now, so no second one starts; the offset it covers is known once the buffer is out.
    this.#checkpointed = this.position;
    this.#lastCheckpointMs = started;
    this.#background = (async () => {
      let covers: number;
      try {
        while (this.#filled > 0 && this.#inFlight.size >= MAX_IN_FLIGHT) await Promise.race(this.#inFlight.keys());
        if (this.#writeError !== null) throw this.#writeError;
        if (this.#filled > 0) this.#flushBuffer();
        covers = this.#bufferStart;
        this.#checkpointed = Math.max(this.#checkpointed, covers);
        // Exactly the writes below `covers`; later ones belong to the next checkpoint.
        await Promise.all(this.#inFlight.keys());
        if (this.#writeError !== null) throw this.#writeError;
        await this.#fh.datasync();
      } catch (err) {
        this.#writeError ??= err;
        // As a LOCAL_FILE failure: the reader's error is the transfer's, and a raw ENOSPC there
        // was taken for a network error (transient, retried for ever) when the next accept had
        // already rolled back, leaving nothing for settleFailure's checkpoint to report.
        this.#stopReader?.(new TransferError(classifyLocalError(err), { cause: err }));
        return;
      }
      // A rollback or reset meanwhile moved the file back: this sync proves nothing past it.
      if (this.#writeError !== null || covers > this.#bufferStart || covers <= this.#durable) return;
      this.#durable = covers;
      try {
        this.#opts.onCheckpoint(covers, this.#opts.clock.monotonicMs() - started);
      } catch (err) {
        if (this.#stopReader === null) this.#hookError ??= err;
        else this.#stopReader(err);
      }
    })().finally(() => {
      this.#background = null;
      // Bytes that came in while this one ran may be due already (the socket may go quiet now).
      if (this.#writeError === null && this.#hookError === null && this.#checkpointDue()) this.#checkpointBeside();
    });
  }

  /** Wait for a checkpoint running beside the writes; rethrow a hook's exception it met. */
  async #settleBackground(): Promise<void> {
    await this.#settleBackgroundQuietly();
    if (this.#hookError !== null) {
      const err = this.#hookError;
      this.#hookError = null;
      throw err;
    }
  }

  async #settleBackgroundQuietly(): Promise<void> {
    while (this.#background !== null) await this.#background;
  }

  /** Resolves once no more than two writes are in flight (or one failed). */
  #whenSlot(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#slotWaiters.push(resolve);
    }).then(() => {
      if (this.#writeError !== null) return this.#failed();
      return this.#inFlight.size > MAX_IN_FLIGHT ? this.#whenSlot() : undefined;
    });
  }

  /** Flush the buffer once a write slot is free. */
  async #flushWhenFree(): Promise<void> {
    while (this.#inFlight.size >= MAX_IN_FLIGHT) await Promise.race(this.#inFlight.keys());
    if (this.#writeError !== null) throw this.#writeError;
    this.#flushBuffer();
  }

  /** Hand the filled buffer to one positional write; it goes back to the pool once written. */
  #flushBuffer(): void {
    const buf = this.#fill;
    const len = this.#filled;
    const at = this.#bufferStart;
    if (buf === null || len === 0) return;
    this.#fill = null;
    this.#bufferStart += len;
    this.#filled = 0;
    const p = this.#writeAll(buf, len, at).then(
      () => {
        this.#inFlight.delete(p);
        this.#reuse(buf);
        this.#opts.digests?.advance(this);
        try {
          this.#opts.onProgress(at + len);
          // Every write below the lowest one still in flight is complete (two may be out).
          let below = this.#bufferStart;
          for (const start of this.#inFlight.values()) below = Math.min(below, start);
          if (this.#writeError === null && below > this.#written) this.#reportWritten(below);
        } catch {
          // In-memory progress only; the next checkpoint reports again (and may throw then).
        }
        this.#wakeReader();
      },
      (err: unknown) => {
        this.#writeError ??= err;
        this.#inFlight.delete(p);
        this.#reuse(buf);
        this.#wakeReader();
      },
    );
    this.#inFlight.set(p, at);
  }

  #reportWritten(bytes: number): void {
    if (bytes === this.#written) return;
    this.#written = bytes;
    this.#opts.onWritten?.(bytes);
  }

  #wakeReader(): void {
    this.#slotWaiters.shift()?.();
  }

  /** One positional write of `buf[0, len)` at `at`; a short write goes on with what is left. */
  async #writeAll(buf: Buffer, len: number, at: number): Promise<void> {
    for (let done = 0; done < len; ) {
      const { bytesWritten } = await this.#fh.write(buf, done, len - done, at + done);
      done += bytesWritten;
    }
  }

  async #drain(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.race(this.#inFlight.keys());
    if (this.#writeError !== null) throw this.#writeError;
  }

  async #drainQuietly(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.race(this.#inFlight.keys());
  }

  /** A write or fdatasync failed earlier: roll back and reject. */
  async #failed(): Promise<never> {
    throw await this.#rollback(this.#writeError);
  }

  /** After a failed write or fdatasync: truncate to the last good checkpoint, classify. */
  async #rollback(err: unknown): Promise<TransferError> {
    await this.#settleBackgroundQuietly();
    await this.#drainQuietly();
    this.#dropPending();
    this.#bufferStart = this.#durable;
    this.#checkpointed = this.#durable;
    this.#writeError = null;
    this.#opts.digests?.forget(this.#durable);
    try {
      await this.#fh.truncate(this.#durable);
    } catch {
      // The record still says #durable; the next start truncates past it anyway.
    }
    this.#opts.onProgress(this.#durable);
    this.#reportWritten(this.#durable);
    return new TransferError(classifyLocalError(err), { cause: err });
  }
}
