/**
 * Writing a fragment body to the session's data file without stalling the socket: received
 * chunks are queued (not copied) and written with `writev`, one write at a time in file order;
 * while one is on the disk the socket keeps being read into the queue, and the next write takes
 * everything queued by then (at least `BATCH_BYTES` unless the body has ended). Reading waits for
 * the disk only when `MAX_UNWRITTEN_BYTES` are queued or being written. Every `SYNC_AHEAD_BYTES` written a background
 * `fdatasync` starts the disk's writeback early. The caller's promise is unchanged: the bytes are
 * durable when this resolves, because the last step is an `fdatasync` that begins after every
 * write has completed — the early syncs only shorten it.
 */
import type { FileHandle } from 'node:fs/promises';
import { releaseChunk } from './http/receive-slabs.ts';
import type { BodyReader } from './http/socket-input.ts';

/** Queued bytes that start a write when none is running (fewer, larger syscalls). */
const BATCH_BYTES = 4 * 1024 * 1024;
/**
 * Queued chunks that start a write too, and the most one `writev` takes: a trickling sender's
 * tiny chunks are written in hundreds, not held by the million (and stay under IOV_MAX, 1024).
 */
const BATCH_CHUNKS = 256;
/**
 * Bytes read but not yet written (queued plus the running write, which holds up to
 * `BATCH_CHUNKS` chunks) at which reading waits for the disk: what one upload may hold.
 */
const MAX_UNWRITTEN_BYTES = 16 * 1024 * 1024;
/** Queued chunks at which reading waits for the disk. */
const MAX_QUEUED_CHUNKS = 4 * BATCH_CHUNKS;
/** Written bytes after which a background `fdatasync` starts (one at a time). */
const SYNC_AHEAD_BYTES = 4 * 1024 * 1024;

/** Write `body` at `offset` (its first `skip` bytes dropped) and fdatasync; rejects on any failure. */
export async function writeBodyDurably(fh: FileHandle, offset: number, skip: number, body: BodyReader): Promise<void> {
  let left = skip;
  let position = offset;
  let queue: Buffer[] = [];
  let queued = 0;
  /** Bytes of the running write (still held in memory until it completes). */
  let inFlight = 0;
  let writing: Promise<void> | null = null;
  let syncing: Promise<void> | null = null;
  /**
   * The first failure of a background write or sync, kept: Linux reports a writeback error once
   * per open file, so the final `fdatasync` on this handle would then succeed and the fragment be
   * acknowledged.
   */
  let failure: { error: unknown } | undefined;
  let unsynced = 0;
  const throwFailure = (): void => {
    if (failure !== undefined) throw failure.error;
  };

  const writeBatch = async (buffers: Buffer[], at: number, bytes: number): Promise<void> => {
    let done = 0;
    while (done < bytes) {
      // A short writev (rare: a signal, a nearly full disk) resumes where it stopped.
      const rest = done === 0 ? buffers : remainder(buffers, done);
      const { bytesWritten } = await fh.writev(rest, at + done);
      if (bytesWritten === 0) throw new Error('writev wrote nothing');
      done += bytesWritten;
    }
    unsynced += bytes;
    if (syncing === null && unsynced >= SYNC_AHEAD_BYTES) {
      unsynced = 0;
      syncing = fh
        .datasync()
        .catch((err: unknown) => {
          failure ??= { error: err };
        })
        .finally(() => {
          syncing = null;
        });
    }
  };
  let ended = false;
  /** Start a write of what is queued unless one is running (or, before the end, too little is queued). */
  const pump = (): void => {
    if (writing !== null || failure !== undefined || queued === 0) return;
    if (!ended && queued < BATCH_BYTES && queue.length < BATCH_CHUNKS) return;
    const buffers = queue.length > BATCH_CHUNKS ? queue.slice(0, BATCH_CHUNKS) : queue;
    queue = queue.length > BATCH_CHUNKS ? queue.slice(BATCH_CHUNKS) : [];
    let bytes = 0;
    for (const b of buffers) bytes += b.length;
    queued -= bytes;
    inFlight = bytes;
    const at = position;
    position += bytes;
    writing = writeBatch(buffers, at, bytes)
      .catch((err: unknown) => {
        failure ??= { error: err };
      })
      .finally(() => {
        // The write is over: its chunks' receive slabs may be read into again.
        for (const b of buffers) releaseChunk(b);
        writing = null;
        inFlight = 0;
        pump();
      });
  };
  /** Wait until nothing is being written (after `pump` ran out of work). */
  const idle = async (): Promise<void> => {
    while (writing !== null) await writing;
  };

  try {
    for (let chunk = await body.read(); chunk !== null; chunk = await body.read()) {
      if (failure !== undefined) releaseChunk(chunk);
      throwFailure();
      if (left >= chunk.length) {
        left -= chunk.length;
        releaseChunk(chunk);
        continue;
      }
      const data = left > 0 ? chunk.subarray(left) : chunk;
      left = 0;
      queue.push(data);
      queued += data.length;
      pump();
      while ((queued + inFlight >= MAX_UNWRITTEN_BYTES || queue.length >= MAX_QUEUED_CHUNKS) && writing !== null) {
        await writing;
      }
    }
    ended = true;
    pump();
    // Each write pumps the next as it finishes; wait for the queue to empty.
    while (writing !== null) await idle();
    if (syncing !== null) await syncing;
    throwFailure();
    await fh.datasync();
  } finally {
    // Never leave a write or sync running on a handle the caller is about to close (after a
    // failure the queue is dropped: those bytes will not be acknowledged).
    for (const b of queue) releaseChunk(b);
    queue = [];
    queued = 0;
    await idle();
    if (syncing !== null) await syncing;
  }
}

/** `buffers` without their first `skip` bytes. */
function remainder(buffers: readonly Buffer[], skip: number): Buffer[] {
  const out: Buffer[] = [];
  let left = skip;
  for (const b of buffers) {
    if (left >= b.length) {
      left -= b.length;
      continue;
    }
    out.push(left > 0 ? b.subarray(left) : b);
    left = 0;
  }
  return out;
}
