/** Bytes gathered before one positional write. */
export const WRITE_BUFFER_BYTES = 1024 * 1024;
/** Free buffers kept for reuse: eight concurrent transfers use up to four each (a dropped one would be garbage that only a full GC frees). */
const KEEP_FREE = 32;

const free: Buffer[] = [];

/**
 * A 1 MiB write buffer, recycled: the sinks copy socket chunks into these so that each chunk
 * dies right after it is read, while the buffers — a few per transfer, the same memory over and
 * over, warm in cache and never garbage — carry the bytes to the file.
 */
export function takeWriteBuffer(): Buffer {
  return free.pop() ?? Buffer.allocUnsafeSlow(WRITE_BUFFER_BYTES);
}

/** A buffer whose write completed (or was dropped) goes back for reuse. */
export function giveWriteBuffer(buf: Buffer): void {
  if (free.length < KEEP_FREE) free.push(buf);
}
