import type { Duplex } from 'node:stream';
import { releaseChunk, retainChunk, type SlabReader } from './receive-slabs.ts';
import { findHeadEnd, type HeadLimits } from './request-head.ts';

/**
 * Bytes read from a socket, held until the connection loop asks for them. The socket is paused
 * while more than `highWater` bytes wait, so a fast sender is pushed back by TCP instead of
 * filling memory (RSS stays flat whatever the upload size). With a `SlabReader` (an adopted
 * socket, receive-slabs.ts) chunks may be views of shared slabs: whoever takes a body chunk
 * releases it (`releaseChunk`) once nothing reads it.
 */
export class SocketInput {
  readonly #socket: Duplex;
  readonly #highWater: number;
  #chunks: Buffer[] = [];
  #length = 0;
  #ended = false;
  #wake: (() => void) | undefined;
  #onActivity: () => void;
  /** Body bytes announced (`expectBody`) and not yet received. */
  #expected = 0;
  readonly #slabs: SlabReader | undefined;

  constructor(socket: Duplex, highWater: number, onActivity: () => void, slabs?: SlabReader) {
    this.#socket = socket;
    this.#highWater = highWater;
    this.#onActivity = onActivity;
    this.#slabs = slabs;
    if (slabs === undefined) socket.on('data', this.#onData);
    else slabs.attach({ expecting: () => this.#expected, receive: this.#receive });
    socket.on('end', this.#onEnd);
    socket.on('close', this.#onEnd);
  }

  /** A body of `length` bytes follows what was read so far (large ones are read into slabs). */
  expectBody(length: number): void {
    this.#expected = Math.max(0, length - this.#length);
  }

  /** Bytes currently buffered. */
  get length(): number {
    return this.#length;
  }

  readonly #onData = (chunk: Buffer): void => {
    if (!this.#receive(chunk)) this.#socket.pause();
  };

  /** Queue a chunk; false when the socket should stop reading for now. */
  readonly #receive = (chunk: Buffer): boolean => {
    this.#chunks.push(chunk);
    this.#length += chunk.length;
    this.#expected = Math.max(0, this.#expected - chunk.length);
    this.#onActivity();
    this.#notify();
    return this.#length < this.#highWater;
  };

  readonly #onEnd = (): void => {
    this.#ended = true;
    this.#notify();
  };

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** Wait until bytes are buffered; false if the peer ended first. */
  async waitData(): Promise<boolean> {
    while (this.#length === 0) {
      if (this.#ended) return false;
      this.#socket.resume();
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
    return true;
  }

  /** Remove up to `max` bytes from the front, never more than one received chunk. */
  takeChunk(max: number): Buffer {
    const first = this.#chunks[0];
    if (first === undefined || max <= 0) return Buffer.alloc(0);
    let out: Buffer;
    if (first.length <= max) {
      this.#chunks.shift();
      out = first;
    } else {
      out = first.subarray(0, max);
      this.#chunks[0] = first.subarray(max);
      // Two views of one slab now, released one by one.
      retainChunk(first);
    }
    this.#length -= out.length;
    if (this.#length < this.#highWater) this.#socket.resume();
    return out;
  }

  /**
   * Read one request head. Returns undefined on a clean end between requests; throws HeadError
   * when the limits are exceeded, and Error when the peer ends in the middle of a head.
   */
  async readHead(limits: HeadLimits, onFirstByte: () => void): Promise<Buffer | undefined> {
    let started = false;
    for (;;) {
      if (this.#length > 0) {
        if (!started) {
          started = true;
          onFirstByte();
        }
        const buf = this.#coalesce();
        const end = findHeadEnd(buf, limits);
        if (end !== -1) return this.#takeExact(end);
        // The whole head must fit in the limit, so stop pausing for it.
        this.#socket.resume();
      }
      const more = await this.#waitMore();
      if (!more) {
        if (this.#length === 0) return undefined;
        throw new Error('connection ended inside a request head');
      }
    }
  }

  /** Everything still buffered, removed (for a hand-off of the connection): never a slab view. */
  drain(): Buffer {
    const all = this.#coalesce();
    this.#chunks = [];
    this.#length = 0;
    if (this.#slabs === undefined) return all;
    const copy = Buffer.from(all);
    releaseChunk(all);
    return copy;
  }

  /** Stop listening to the socket (before a hand-off). */
  detach(): void {
    if (this.#slabs !== undefined) this.#slabs.attach({ expecting: () => 0, receive: () => true });
    this.#socket.off('data', this.#onData);
    this.#socket.off('end', this.#onEnd);
    this.#socket.off('close', this.#onEnd);
  }

  async #waitMore(): Promise<boolean> {
    if (this.#ended) return false;
    const before = this.#length;
    this.#socket.resume();
    while (this.#length === before && !this.#ended) {
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
    return this.#length > before;
  }

  #coalesce(): Buffer {
    if (this.#chunks.length === 1) return this.#chunks[0] as Buffer;
    const all = Buffer.concat(this.#chunks, this.#length);
    for (const chunk of this.#chunks) releaseChunk(chunk);
    this.#chunks = this.#length > 0 ? [all] : [];
    return all;
  }

  #takeExact(n: number): Buffer {
    const all = this.#coalesce();
    const out = Buffer.from(all.subarray(0, n));
    const rest = all.subarray(n);
    this.#chunks = rest.length > 0 ? [rest] : [];
    this.#length = rest.length;
    if (rest.length === 0) releaseChunk(all);
    return out;
  }
}

/** The peer went away in the middle of a request: nothing to answer, nothing to report. */
export class ConnectionClosedError extends Error {
  constructor() {
    super('connection closed in the middle of a request body');
    this.name = 'ConnectionClosedError';
  }
}

/** A request body of known length, read chunk by chunk from the connection's input. */
export class BodyReader {
  readonly #input: SocketInput;
  #remaining: number;
  #beforeFirstRead: (() => void) | undefined;

  /** `beforeFirstRead` runs once when the body is first wanted (to send `100 Continue`). */
  constructor(input: SocketInput, length: number, beforeFirstRead?: () => void) {
    this.#input = input;
    this.#remaining = length;
    this.#beforeFirstRead = beforeFirstRead;
    input.expectBody(length);
  }

  /** True while a client that sent `Expect: 100-continue` has not been asked for the body. */
  get awaitingContinue(): boolean {
    return this.#beforeFirstRead !== undefined && this.#remaining > 0;
  }

  /** Bytes of the body not yet read. */
  get remaining(): number {
    return this.#remaining;
  }

  /**
   * The next chunk, or null at the end of the body. Throws if the peer closes mid-body. Pass each
   * chunk to `releaseChunk` once nothing reads it (it may be a view of a shared slab).
   */
  async read(): Promise<Buffer | null> {
    if (this.#remaining === 0) return null;
    const first = this.#beforeFirstRead;
    this.#beforeFirstRead = undefined;
    first?.();
    if (!(await this.#input.waitData())) throw new ConnectionClosedError();
    const chunk = this.#input.takeChunk(this.#remaining);
    this.#remaining -= chunk.length;
    return chunk;
  }

  /** Read and drop the rest of the body. */
  async discard(): Promise<void> {
    // Dropped on purpose: keeps the connection usable after an early answer.
    for (let chunk = await this.read(); chunk !== null; chunk = await this.read()) releaseChunk(chunk);
  }
}
