/**
 * Bytes gathered before one positional write: 256 KiB, so that a sink's four (one filling, up to
 * three being written) make 1 MiB and eight concurrent jobs 8 MiB (bitsd's RSS must stay under
 * 150 MiB; with 1 MiB buffers S9 measured 153–158 MiB, with 256 KiB 139–140); larger writes
 * saved no CPU measurable here (S2 CPU/GiB).
 */
export const WRITE_BUFFER_BYTES = 256 * 1024;
/**
 * Free buffers kept between transfers: enough for eight concurrent sinks. Buffers freed to
 * malloc do not go back to the system either (glibc keeps such blocks in its heap once it
 * has seen them freed), so recycling them up to this bound costs no RSS that a burst of jobs
 * did not already take, and the next burst allocates nothing; past it they are freed at once.
 */
const KEEP_FREE = 32;

const free: Buffer[] = [];

/**
 * A write buffer, recycled: the sinks copy socket chunks into these so that each chunk
 * dies right after it is read, while the buffers — a few per transfer, the same memory over and
 * over, warm in cache and never garbage — carry the bytes to the file.
 */
export function takeWriteBuffer(): Buffer {
  return free.pop() ?? Buffer.allocUnsafeSlow(WRITE_BUFFER_BYTES);
}

/**
 * A finished transfer's buffer (no write in flight on it) goes back for the next one, or, past
 * the few kept, its memory is given back now: detaching its ArrayBuffer (transfer to length 0)
 * frees the backing store at once, where dropping the reference would leave 1 MiB per buffer to
 * a full GC — with two kept, eight concurrent jobs left ~30 MiB of dead buffers in bitsd's RSS
 * until V8 next ran one. The caller must not touch `buf` afterwards (it is empty).
 */
export function giveWriteBuffer(buf: Buffer): void {
  if (free.length < KEEP_FREE) free.push(buf);
  else (buf.buffer as ArrayBuffer).transfer(0);
}

/** Free buffers kept for the next transfers (tests). */
export function pooledWriteBuffers(): number {
  return free.length;
}
