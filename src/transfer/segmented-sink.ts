import type { Clock, FileSegment } from '../core/index.ts';
import { transferBuffersUsed } from './buffer-reclaim.ts';
import type { DataFile } from './descriptor-file.ts';
import type { RateLimiter } from './download-request.ts';
import { classifyLocalError } from './failure-table.ts';
import type { HashSource, RunningDigests } from './running-digests.ts';
import { compactLayout, type LiveRange } from './segment-plan.ts';
import { TransferError } from './transfer-error.ts';
import { giveWriteBuffer, PART_WRITE_BUFFER_BYTES, takeWriteBuffer } from './write-buffers.ts';

/** Per-part write buffer (recycled): the parts' bytes are coalesced into writes of this size. */
const PART_BUFFER_BYTES = PART_WRITE_BUFFER_BYTES;

/** One segment while it downloads: [start, end) with `pos` accepted and `durable` fdatasync'ed. */
export class Part implements LiveRange {
  readonly start: number;
  end: number;
  pos: number;
  durable: number;
  /** Bytes from `start` whose positional writes completed (in order: one write chain per part). */
  written: number;
  /** A connection is filling this part. */
  busy = false;
  buf: Buffer | null = null;
  /**
   * The part's last written buffer, for its next fill. Kept by the part, not pooled, until the
   * sink is released: a socket may still be about to read into its tail (readTarget), so no
   * other part may fill it meanwhile.
   */
  spare: Buffer | null = null;
  filled = 0;
  tail: Promise<void> = Promise.resolve();

  constructor(s: FileSegment) {
    this.start = s.start;
    this.end = s.end;
    this.pos = s.done;
    this.durable = s.done;
    this.written = s.done;
  }

  get left(): number {
    return this.end - this.pos;
  }
}

/** Checkpoint spacing, throttle and reporting of a SegmentedSink. */
export interface SegmentedSinkOptions {
  readonly clock: Clock;
  readonly checkpointBytes: number;
  readonly checkpointMs: number;
  readonly limiter: RateLimiter | null;
  readonly signal: AbortSignal;
  /** After an fdatasync: every part's durable offset, their byte sum, and what the sync took. */
  readonly onCheckpoint: (layout: FileSegment[], bytes: number, syncMs: number) => void;
  /** Bytes accepted so far over every part (not durable), for progress events. */
  readonly onProgress: (bytes: number) => void;
  /** Digests computed while writing: fed every accepted chunk, told of every completed write. */
  readonly digests?: RunningDigests | null;
}

/**
 * The one temp file of a segmented download, written by several connections at once: each part
 * coalesces its bytes and writes them at its own offset (one write chain per part, so `written`
 * only grows contiguously); a checkpoint writes out every part, fdatasyncs once and only then
 * reports each part's offset, so the record never claims bytes no sync covered. Parts never
 * truncate the file (the bytes of other parts lie beyond): a failed write leaves `durable` where
 * the last sync put it, and a resume overwrites from there.
 */
export class SegmentedSink implements HashSource {
  readonly #fh: DataFile;
  readonly #opts: SegmentedSinkOptions;
  readonly parts: Part[];
  #error: unknown = null;
  #sinceCheckpoint = 0;
  #lastCheckpointMs: number;
  #checkpointing: Promise<void> | null = null;
  #released = false;

  constructor(fh: DataFile, layout: readonly FileSegment[], opts: SegmentedSinkOptions) {
    this.#fh = fh;
    this.#opts = opts;
    this.parts = layout.map((s) => new Part(s));
    this.#lastCheckpointMs = opts.clock.monotonicMs();
    // Bytes durable before this round (a resume, a repair) are hashed from the file.
    opts.digests?.advance(this);
  }

  /** Bytes accepted over every part. */
  get accepted(): number {
    let n = 0;
    for (const p of this.parts) n += p.pos - p.start;
    return n;
  }

  /** True once every part is accepted in full. */
  get complete(): boolean {
    return this.parts.every((p) => p.pos === p.end);
  }

  /** Split `part` at `at` (≥ its pos): the back half becomes a new idle part, returned. */
  split(part: Part, at: number): Part {
    if (at < part.pos || at >= part.end) throw new RangeError(`cannot split [${part.pos}, ${part.end}) at ${at}`);
    const back = new Part({ start: at, end: part.end, done: at });
    part.end = at;
    this.parts.splice(this.parts.indexOf(part) + 1, 0, back);
    return back;
  }

  /**
   * Accept `chunk` as the next bytes of `part` (the caller cuts it to the part's end): waits for
   * the rate limiter, for the part's previous write when its buffer is full, and for a due checkpoint.
   */
  async write(part: Part, chunk: Uint8Array): Promise<void> {
    const wait = this.accept(part, chunk);
    if (wait !== null) await wait;
  }

  /**
   * `write` without a promise when none is needed: null when the next chunk may follow at once,
   * else what to wait for first (the rate limiter, the part's write when its buffer filled, a
   * due checkpoint). A connection so pauses its socket only when it must.
   */
  accept(part: Part, chunk: Uint8Array): Promise<void> | null {
    if (chunk.byteLength > part.left) throw new RangeError(`${chunk.byteLength} bytes past the end of the part`);
    const limiter = this.#opts.limiter;
    const grant = limiter === null ? null : limiter.take(chunk.byteLength, this.#opts.signal);
    if (grant === null) return this.#take(part, chunk);
    return grant.then(() => this.#take(part, chunk) ?? undefined);
  }

  /**
   * The free tail of `part`'s buffer (up to the part's end), for a reader that reads into memory
   * it is given (plain-http.ts): a chunk then accepted that starts there is not copied. None
   * under a rate limiter (the bytes would wait in a buffer a checkpoint may hand on).
   */
  readTarget(part: Part): Buffer | null {
    if (this.#opts.limiter !== null || this.#error !== null || part.left === 0) return null;
    part.buf ??= this.#newBuffer(part);
    return part.buf.subarray(part.filled, Math.min(PART_BUFFER_BYTES, part.filled + part.left));
  }

  #newBuffer(part: Part): Buffer {
    const spare = part.spare;
    part.spare = null;
    return spare ?? takeWriteBuffer(PART_BUFFER_BYTES);
  }

  #take(part: Part, chunk: Uint8Array): Promise<void> | null {
    if (this.#error !== null) throw this.#error;
    let wait: Promise<void> | null = null;
    let from = 0;
    const buf = part.buf;
    if (buf !== null && chunk.buffer === buf.buffer && chunk.byteOffset === buf.byteOffset + part.filled) {
      // Read straight into the buffer's free tail (readTarget): nothing to copy.
      this.#opts.digests?.feed(part.pos, chunk);
      part.filled += chunk.byteLength;
      part.pos += chunk.byteLength;
      from = chunk.byteLength;
      if (part.filled === PART_BUFFER_BYTES) wait = this.#flush(part);
    }
    while (from < chunk.byteLength) {
      part.buf ??= this.#newBuffer(part);
      const n = Math.min(chunk.byteLength - from, PART_BUFFER_BYTES - part.filled);
      const bytes = chunk.subarray(from, from + n);
      // Fed as the bytes become the part's, so a read-back never misses them.
      this.#opts.digests?.feed(part.pos, bytes);
      part.buf.set(bytes, part.filled);
      part.filled += n;
      part.pos += n;
      from += n;
      if (part.filled === PART_BUFFER_BYTES) wait = this.#flush(part);
    }
    if (chunk.buffer !== buf?.buffer) transferBuffersUsed(chunk.byteLength);
    this.#sinceCheckpoint += chunk.byteLength;
    const due =
      this.#sinceCheckpoint >= this.#opts.checkpointBytes ||
      this.#opts.clock.monotonicMs() - this.#lastCheckpointMs >= this.#opts.checkpointMs;
    if (due && this.#checkpointing === null) {
      const checkpoint = this.checkpoint();
      wait = wait === null ? checkpoint : Promise.all([wait, checkpoint]).then(() => undefined);
    }
    return wait;
  }

  /**
   * Write out every part's buffer, fdatasync, then report every part's durable offset. One
   * checkpoint at a time: a caller during another waits for it and then runs its own.
   */
  async checkpoint(): Promise<void> {
    while (this.#checkpointing !== null) await this.#checkpointing.catch(() => undefined);
    const run = this.#checkpoint();
    this.#checkpointing = run;
    try {
      await run;
    } finally {
      this.#checkpointing = null;
    }
  }

  async #checkpoint(): Promise<void> {
    const started = this.#opts.clock.monotonicMs();
    this.#sinceCheckpoint = 0;
    try {
      await Promise.all(this.parts.map((p) => (p.filled > 0 ? this.#flush(p) : p.tail)));
      if (this.#error !== null) throw this.#error;
      // What the fdatasync covers: every write that completed before it starts.
      const covered = this.parts.map((p) => p.written);
      await this.#fh.datasync();
      this.parts.forEach((p, i) => {
        p.durable = Math.max(p.durable, Math.min(covered[i] ?? p.durable, p.end));
      });
    } catch (err) {
      throw this.#localError(err);
    }
    this.#lastCheckpointMs = this.#opts.clock.monotonicMs();
    const layout = this.layout();
    let bytes = 0;
    for (const s of layout) bytes += s.done - s.start;
    this.#opts.onCheckpoint(layout, bytes, this.#lastCheckpointMs - started);
  }

  /** The durable layout (adjacent finished parts merged). */
  layout(): FileSegment[] {
    return compactLayout(this.parts.map((p) => ({ start: p.start, end: p.end, done: Math.min(p.durable, p.end) })));
  }

  /** Wait until no positional write is in flight. */
  async settle(): Promise<void> {
    await Promise.all(this.parts.map((p) => p.tail));
  }

  /** Where the bytes at `at` are (RunningDigests reads back what is written, takes what is buffered). */
  locate(at: number): { disk: number } | { memory: Uint8Array[] } | null {
    const p = this.parts.find((q) => q.start <= at && at < q.end);
    if (p === undefined) return null;
    if (at < p.written) return { disk: Math.min(p.written, p.end) };
    if (p.buf !== null && p.filled > 0 && at === p.written && at === p.pos - p.filled) {
      return { memory: [p.buf.subarray(0, p.filled)] };
    }
    return null;
  }

  /** Drop the buffers (after the last checkpoint, or when the download stops). */
  release(): void {
    this.#opts.digests?.detach(this);
    this.#released = true;
    for (const p of this.parts) {
      if (p.buf !== null) giveWriteBuffer(p.buf);
      if (p.spare !== null) giveWriteBuffer(p.spare);
      p.buf = null;
      p.spare = null;
      p.filled = 0;
    }
  }

  /** Queue the part's buffered bytes as one positional write on its chain; resolves when written. */
  #flush(part: Part): Promise<void> {
    const buf = part.buf;
    const len = part.filled;
    if (buf === null || len === 0) return part.tail;
    const at = part.pos - len;
    part.buf = null;
    part.filled = 0;
    part.tail = part.tail.then(async () => {
      try {
        if (this.#error !== null) return;
        let done = 0;
        while (done < len) {
          const { bytesWritten } = await this.#fh.write(buf, done, len - done, at + done);
          done += bytesWritten;
        }
        part.written = at + len;
      } catch (err) {
        this.#error ??= new TransferError(classifyLocalError(err), { cause: err });
        return;
      } finally {
        // The newest written buffer stays with the part (see Part.spare); an older one is pooled.
        if (this.#released) giveWriteBuffer(buf);
        else {
          if (part.spare !== null) giveWriteBuffer(part.spare);
          part.spare = buf;
        }
      }
      this.#opts.digests?.advance(this);
      try {
        this.#opts.onProgress(this.accepted);
      } catch {
        // In-memory progress only; the next checkpoint reports again (and may throw then).
      }
    });
    return part.tail;
  }

  #localError(err: unknown): TransferError {
    if (err instanceof TransferError) return err;
    const local = new TransferError(classifyLocalError(err), { cause: err });
    this.#error ??= local;
    return local;
  }
}
