/** Bytes gathered before one positional write. */
export const WRITE_BUFFER_BYTES = 1024 * 1024;
/**
 * Free buffers kept between transfers (each sink reuses its own while it runs, up to four): more
 * would stay resident for good after a burst of concurrent jobs (bitsd's RSS must stay under
 * 150 MiB); the rest become garbage once.
 */
const KEEP_FREE = 2;

const free: Buffer[] = [];

/**
 * A 1 MiB write buffer, recycled: the sinks copy socket chunks into these so that each chunk
 * dies right after it is read, while the buffers — a few per transfer, the same memory over and
 * over, warm in cache and never garbage — carry the bytes to the file.
 */
export function takeWriteBuffer(): Buffer {
  return free.pop() ?? Buffer.allocUnsafeSlow(WRITE_BUFFER_BYTES);
}

/** A finished transfer's buffer goes back for the next one. */
export function giveWriteBuffer(buf: Buffer): void {
  if (free.length < KEEP_FREE) free.push(buf);
}
