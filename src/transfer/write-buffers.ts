/**
 * Bytes gathered before one positional write: 1 MiB (smaller writes cost ~12 % more CPU per GiB
 * on ext4, S2, and with reads as large as the buffer, turn-share.ts, eight concurrent jobs took
 * 19 % less time than with 256 KiB buffers read 64 KiB at a time, S4). A sink holds up to four
 * buffers (one filling, up to three being written), so the size shrinks with the number of
 * transfers writing at once to keep them all within WRITE_BUFFER_BUDGET: 1 MiB for up to eight
 * (S9's eight jobs: 112–115 MiB of bitsd RSS, target < 150), 512 KiB for up to sixteen, 256 KiB
 * past that.
 */
export const WRITE_BUFFER_BYTES = 1024 * 1024;
/** The smallest buffer: a transfer's when more than sixteen write at once. */
export const SHARED_WRITE_BUFFER_BYTES = 256 * 1024;
/** What the write buffers of all concurrent transfers may hold at most (four per transfer). */
export const WRITE_BUFFER_BUDGET = 32 * WRITE_BUFFER_BYTES;
const BUFFERS_PER_SINK = 4;
/**
 * The parts of a segmented file (segmented-sink.ts) each fill one of these. Recycled like the
 * others: a new 512 KiB Buffer per write (4 parts, 2,048 per GiB) kept V8 collecting old space
 * for external memory (~100 mark-compacts per GiB through undici, bitsd's later 'ours -x4' runs).
 */
export const PART_WRITE_BUFFER_BYTES = 512 * 1024;
/**
 * Free buffers kept per size between transfers: one sink's worth of the large, eight sinks' of
 * the small. Buffers freed to malloc do not go back to the system either (glibc keeps such blocks
 * in its heap once it has seen them freed), so recycling them up to this bound costs no RSS that
 * a burst of jobs did not already take, and the next burst allocates nothing; past it they are
 * freed at once.
 */
const KEEP_FREE = new Map<number, number>([
  [WRITE_BUFFER_BYTES, 4],
  [SHARED_WRITE_BUFFER_BYTES, 32],
  [PART_WRITE_BUFFER_BYTES, 16],
]);

const free = new Map<number, Buffer[]>([
  [WRITE_BUFFER_BYTES, []],
  [SHARED_WRITE_BUFFER_BYTES, []],
  [PART_WRITE_BUFFER_BYTES, []],
]);
let sinks = 0;

/** A transfer starts writing: the size of its buffers (it keeps it to the end). Pair with writerDone(). */
export function writerStarted(): number {
  sinks++;
  let size = WRITE_BUFFER_BYTES;
  while (size > SHARED_WRITE_BUFFER_BYTES && size * BUFFERS_PER_SINK * sinks > WRITE_BUFFER_BUDGET) size /= 2;
  return size;
}

/** A transfer is done writing (its buffers were given back). */
export function writerDone(): void {
  sinks--;
}

/**
 * A write buffer of `size` bytes, recycled: the sinks copy socket chunks into these so that each
 * chunk dies right after it is read, while the buffers — a few per transfer, the same memory
 * over and over, warm in cache and never garbage — carry the bytes to the file.
 */
export function takeWriteBuffer(size: number = WRITE_BUFFER_BYTES): Buffer {
  return free.get(size)?.pop() ?? Buffer.allocUnsafeSlow(size);
}

/**
 * A finished transfer's buffer (no write in flight on it) goes back for the next one, or, past
 * the bytes kept, its memory is given back now: detaching its ArrayBuffer (transfer to length 0)
 * frees the backing store at once, where dropping the reference would leave it to a full GC —
 * with two kept, eight concurrent jobs left ~30 MiB of dead buffers in bitsd's RSS until V8 next
 * ran one. The caller must not touch `buf` afterwards (it is empty).
 */
export function giveWriteBuffer(buf: Buffer): void {
  const kept = free.get(buf.byteLength);
  if (kept !== undefined && kept.length < (KEEP_FREE.get(buf.byteLength) ?? 0)) kept.push(buf);
  else (buf.buffer as ArrayBuffer).transfer(0);
}

/** Free buffers kept for the next transfers, of one size (tests). */
export function pooledWriteBuffers(size: number = WRITE_BUFFER_BYTES): number {
  return free.get(size)?.length ?? 0;
}
