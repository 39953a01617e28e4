/**
 * Writing a fragment body to the session's data file without stalling the socket: received
 * chunks are gathered (not copied) into `writev` batches, one batch is written while the next is
 * gathered, and every `SYNC_AHEAD_BYTES` written a background `fdatasync` starts the disk's
 * writeback early. The caller's promise is unchanged: the bytes are durable when this resolves,
 * because the last step is an `fdatasync` that begins after every write has completed — the
 * early syncs only shorten it.
 */
import type { FileHandle } from 'node:fs/promises';
import type { BodyReader } from './http/socket-input.ts';

/** Bytes gathered per `writev` (4 MiB: a quarter of the syscalls and promise hops of 1 MiB, measured). */
const BATCH_BYTES = 4 * 1024 * 1024;
/** Chunks per batch at most (a trickling sender's tiny chunks stay well under IOV_MAX). */
const BATCH_CHUNKS = 256;
/** Written bytes after which a background `fdatasync` starts (one at a time). */
const SYNC_AHEAD_BYTES = 4 * 1024 * 1024;

/** Write `body` at `offset` (its first `skip` bytes dropped) and fdatasync; rejects on any failure. */
export async function writeBodyDurably(fh: FileHandle, offset: number, skip: number, body: BodyReader): Promise<void> {
  let left = skip;
  let position = offset;
  let batch: Buffer[] = [];
  let batchBytes = 0;
  let writing: Promise<void> = Promise.resolve();
  let syncing: Promise<void> | null = null;
  /**
   * A background sync's failure, kept: Linux reports a writeback error once per open file, so the
   * final `fdatasync` on this handle would then succeed and the fragment be acknowledged.
   */
  let syncError: unknown;
  let unsynced = 0;
  const throwSyncError = (): void => {
    if (syncError !== undefined) throw syncError;
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
          syncError ??= err;
        })
        .finally(() => {
          syncing = null;
        });
    }
  };
  const flush = async (): Promise<void> => {
    throwSyncError();
    if (batchBytes === 0) return;
    const buffers = batch;
    const bytes = batchBytes;
    const at = position;
    position += bytes;
    batch = [];
    batchBytes = 0;
    // One batch on the disk at a time; the next one gathers meanwhile.
    await writing;
    writing = writeBatch(buffers, at, bytes);
    writing.catch(() => undefined);
  };

  try {
    for (let chunk = await body.read(); chunk !== null; chunk = await body.read()) {
      if (left >= chunk.length) {
        left -= chunk.length;
        continue;
      }
      const data = left > 0 ? chunk.subarray(left) : chunk;
      left = 0;
      batch.push(data);
      batchBytes += data.length;
      if (batchBytes >= BATCH_BYTES || batch.length >= BATCH_CHUNKS) await flush();
    }
    await flush();
    await writing;
    if (syncing !== null) await syncing;
    throwSyncError();
    await fh.datasync();
  } finally {
    // Never leave a write or sync running on a handle the caller is about to close.
    await writing.catch(() => undefined);
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
