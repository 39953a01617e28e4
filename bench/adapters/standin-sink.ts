import type { FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';

/** Options of the stand-in's file writer. */
export interface SinkOptions {
  /** Size of each of the two coalescing buffers. */
  readonly bufferBytes: number;
  /** fdatasync and record the offset every this many bytes. */
  readonly checkpointBytes: number;
  /** Bytes per second; 0 = unthrottled. Acts before the write, so the socket is paused. */
  readonly maxBandwidth: number;
  /** Records a durable offset (after the data's fdatasync). */
  readonly record: (offset: number) => Promise<void>;
  /** Called once with the time the first body byte arrived. */
  readonly onFirstByte: () => void;
}

/**
 * A Writable that coalesces body chunks into 1 MiB batches written with one writev (no copy),
 * keeps one write in flight while the next batch fills, and checkpoints (fdatasync, then record) every `checkpointBytes`.
 * Stand-in for openbits' transfer engine, not the engine itself.
 */
export class BufferedFileSink extends Writable {
  private readonly handle: FileHandle;
  private readonly opts: SinkOptions;
  /** Chunks waiting for the next write (coalesced up to bufferBytes, written with one writev). */
  private chunks: Buffer[] = [];
  private fill = 0;
  private position: number;
  private lastCheckpoint: number;
  private pending: Promise<void> = Promise.resolve();
  private tokens: number;
  private lastRefill = performance.now();
  private sawFirstByte = false;

  constructor(handle: FileHandle, startOffset: number, opts: SinkOptions) {
    super({ highWaterMark: opts.bufferBytes });
    this.handle = handle;
    this.opts = opts;
    this.position = startOffset;
    this.lastCheckpoint = startOffset;
    this.tokens = this.burst();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (!this.sawFirstByte) {
      this.sawFirstByte = true;
      this.opts.onFirstByte();
    }
    this.accept(chunk).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.finish().then(() => callback(), callback);
  }

  private burst(): number {
    return Math.max(64 * 1024, this.opts.maxBandwidth / 10);
  }

  /** Token bucket: wait until the chunk is paid for (debt allowed, repaid by sleeping). */
  private async pace(bytes: number): Promise<void> {
    const rate = this.opts.maxBandwidth;
    if (rate <= 0) return;
    const now = performance.now();
    this.tokens = Math.min(this.burst(), this.tokens + ((now - this.lastRefill) / 1000) * rate);
    this.lastRefill = now;
    this.tokens -= bytes;
    if (this.tokens < 0) await new Promise((resolve) => setTimeout(resolve, (-this.tokens / rate) * 1000));
  }

  private async accept(chunk: Buffer): Promise<void> {
    await this.pace(chunk.length);
    this.chunks.push(chunk);
    this.fill += chunk.length;
    if (this.fill >= this.opts.bufferBytes) await this.flush();
  }

  /** Hand the collected chunks to one writev (after the previous one ended) and keep collecting. */
  private async flush(): Promise<void> {
    await this.pending;
    const chunks = this.chunks;
    const length = this.fill;
    const at = this.position;
    this.chunks = [];
    this.fill = 0;
    this.position += length;
    this.pending = this.writeAll(chunks, length, at).then(() => this.maybeCheckpoint(at + length, false));
  }

  private async writeAll(chunks: Buffer[], length: number, at: number): Promise<void> {
    let { bytesWritten } = await this.handle.writev(chunks, at);
    // A short writev is rare (signals, full disk): finish with plain writes.
    while (bytesWritten < length) {
      const rest = Buffer.concat(chunks).subarray(bytesWritten);
      bytesWritten += (await this.handle.write(rest, 0, rest.length, at + bytesWritten)).bytesWritten;
    }
  }

  private async maybeCheckpoint(end: number, force: boolean): Promise<void> {
    if (!force && end - this.lastCheckpoint < this.opts.checkpointBytes) return;
    await this.handle.datasync();
    await this.opts.record(end);
    this.lastCheckpoint = end;
  }

  private async finish(): Promise<void> {
    if (this.fill > 0) await this.flush();
    await this.pending;
    await this.maybeCheckpoint(this.position, true);
  }
}
