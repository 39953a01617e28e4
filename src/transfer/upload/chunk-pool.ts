/**
 * Read buffers of one size, reused once the socket is done with them. A fresh multi-MiB buffer per
 * read costs an allocation, a page fault per 4 KiB as the read fills it and garbage for the
 * collector; the upload engine reads the file at most two chunks ahead of the socket, so a few
 * buffers go round instead (bitsd's CPU per uploaded MiB, measured, below).
 */
export class ChunkPool {
  readonly #bytes: number;
  readonly #max: number;
  readonly #free: ArrayBuffer[] = [];

  /** Buffers of `bytes`, at most `max` kept idle. */
  constructor(bytes: number, max: number) {
    this.#bytes = bytes;
    this.#max = max;
  }

  get chunkBytes(): number {
    return this.#bytes;
  }

  /** A buffer of `length` ≤ chunkBytes bytes, reused when one was given back. */
  take(length: number): Buffer {
    const ab = this.#free.pop() ?? new ArrayBuffer(this.#bytes);
    return Buffer.from(ab, 0, length);
  }

  /**
   * Give back a buffer from `take` that nothing reads any more (the socket's write callback ran).
   * Anything else is ignored, so a caller can give back every chunk it wrote.
   */
  give(buf: Buffer): void {
    const ab = buf.buffer;
    if (!(ab instanceof ArrayBuffer) || ab.byteLength !== this.#bytes || buf.byteOffset !== 0) return;
    if (this.#free.length < this.#max && !this.#free.includes(ab)) this.#free.push(ab);
  }
}
