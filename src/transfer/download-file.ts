import type { DataFile } from './descriptor-file.ts';
import { verifyDigests } from './digest-repair.ts';
import type { DownloadFileRequest, DownloadHooks } from './download-request.ts';
import { DownloadSink } from './download-sink.ts';
import { DownloadState } from './download-state.ts';
import { classifyLocalError, classifyNetworkError } from './failure-table.ts';
import { fileUrlDownload } from './file-url-download.ts';
import { httpDownload } from './http-download.ts';
import { checkRemoteRequest } from './request-checks.ts';
import { RunningDigests } from './running-digests.ts';
import { segmentedDownload, segmentsWanted } from './segmented-download.ts';
import {
  createTempFile,
  derivedTempName,
  isTempNameFor,
  type OpenTempFile,
  reopenTempFile,
  TempFileReplaced,
} from './temp-file.ts';
import { abortError, TransferError } from './transfer-error.ts';

/**
 * Give a finished temp file the mode Complete publishes it with, and the server's Last-Modified as
 * its atime and mtime (as Complete sets them); returns that mode, or null when the file stays as
 * it is — a mode that lets anyone but the owner write (a 0664 or 0666 temp file could be changed
 * or hard-linked by others before Complete), one that does not let the owner write (a 0444 temp
 * file left by a kill -9 before its sync could not be reopened to fill again), or a file system
 * that refuses (vfat, some FUSE or CIFS mounts: Complete sets what it can). Best effort:
 * Complete's full path does it otherwise.
 */
async function makeReady(file: DataFile, mode: number, lastModified: string | null): Promise<number | null> {
  if ((mode & 0o022) !== 0 || (mode & 0o200) === 0) return null;
  try {
    const mtime = lastModified === null ? Number.NaN : Date.parse(lastModified);
    if (!Number.isNaN(mtime)) await file.utimes(new Date(mtime), new Date(mtime));
    await file.chmod(mode);
    return mode;
  } catch {
    return null;
  }
}

/**
 * Move the bytes of one download file into its temp file. Resolves when every byte is in the
 * temp file and fdatasync'ed (the last onCheckpoint reported bytesTotal) — or, with
 * `req.finalSync`, once every byte is written and that last sync was handed over. Rejects with a
 * TransferError (`.failure`: transient or fatal, BITS error and context) — the bytes received
 * are checkpointed first — or, when `req.signal` aborts, with a DOMException named AbortError
 * after a last checkpoint. An exception thrown by a hook stops the transfer and is rethrown as is.
 */
export async function downloadFile(request: DownloadFileRequest): Promise<void> {
  if (request.signal.aborted) throw abortError(request.signal);
  const req: DownloadFileRequest = { ...request, hooks: guardHooks(request.hooks) };
  const url = checkRequest(req);
  const temp = await openTemp(req);
  // Set when the last fdatasync (and the handle's close) was handed to req.finalSync.
  let handedOff = false;
  try {
    const fresh = temp.restartReason !== null;
    // A segmented layout is resumed part by part (bytes past each part's offset are overwritten).
    const layout = fresh ? null : (req.segments ?? null);
    const kept = fresh || layout !== null ? null : await keepWritten(req, temp.file);
    const offset = kept?.bytes ?? (fresh ? 0 : Math.min(req.bytesTransferred, temp.file.size));
    let st: DownloadState | null = null;
    const digests = new RunningDigests(temp.file, req.digests ?? [], req.pieces ?? null);
    const sink = new DownloadSink(temp.file.handle, offset, {
      clock: req.clock,
      checkpointBytes: req.options.checkpointBytes,
      checkpointMs: req.options.checkpointMs,
      limiter: req.limiter,
      signal: req.signal,
      onCheckpoint: (n, syncMs) => {
        if (st?.segmented !== true) req.hooks.onCheckpoint(n, syncMs);
      },
      onProgress: (n) => {
        if (st?.segmented !== true) req.hooks.onProgress(n);
      },
      onWritten: (n) => {
        if (st?.segmented !== true) req.hooks.onWritten?.(n);
      },
      digests,
    });
    // Bytes past the recorded offset were never confirmed: drop them.
    if (layout === null && temp.file.size !== offset) await sink.reset(offset);
    st = new DownloadState(
      req,
      sink,
      url,
      temp.file,
      fresh && req.ranges === null ? -1 : req.bytesTotal,
      fresh ? null : req.validators,
      digests,
      temp.derived,
    );
    try {
      st.publishMetadata();
      // Kept bytes are synced now: recorded before the first new byte is written.
      if (kept !== null) req.hooks.onCheckpoint(kept.bytes, kept.syncMs);
      if (temp.restartReason !== null && req.bytesTransferred > 0) {
        req.hooks.onRestart(temp.restartReason);
        req.hooks.onProgress(0);
      }
      const state = st;
      const fetchFile = async (resume: typeof layout): Promise<void> => {
        if (url.protocol === 'file:') await fileUrlDownload(state);
        else if (
          !segmentsWanted(req, url) ||
          (await segmentedDownload(state, temp.file.handle, resume)) === 'fallback'
        ) {
          await httpDownload(state);
        }
      };
      await fetchFile(layout);
      req.onBodyRead?.();
      // With finalSync a plain file's last fdatasync runs in the background; a segmented file or
      // one with digests — the caller's or a server's — is synced here (its parts and pieces are
      // judged on durable bytes: nothing counts as verified before its sync).
      if (req.finalSync === undefined || state.segmented || digests.active) await sink.checkpoint();
      else await sink.writeOut();
      await verifyDigests(st, temp.file.handle, async () => {
        await fetchFile(null);
        await sink.checkpoint();
      });
    } catch (err) {
      throw await settleFailure(req, sink, err);
    } finally {
      sink.release();
      await digests.close();
    }
    if (req.finalSync !== undefined) {
      handedOff = true;
      const publishMode = req.publishMode;
      const lastModified = st?.validators?.lastModified ?? null;
      await req.finalSync(async () => {
        try {
          // Every byte is written: the mode and time Complete would set, then one fsync for all.
          const ready = publishMode === undefined ? null : await makeReady(temp.file.handle, publishMode, lastModified);
          try {
            await sink.checkpoint(ready !== null);
          } catch (err) {
            // Its bytes go back to the last checkpoint and will be written again: 0600 while it fills.
            if (ready !== null) await temp.file.handle.chmod(0o600).catch(() => undefined);
            throw err;
          }
          return ready;
        } catch (err) {
          throw err instanceof HookFailure ? err.cause : err;
        } finally {
          await temp.file.handle.close();
        }
      });
    }
  } finally {
    if (!handedOff) await temp.file.handle.close();
  }
}

/**
 * The bytes an earlier run of this boot wrote past the durable offset, kept when the temp file
 * still holds them and one fdatasync makes them durable; null to resume from the checkpoint.
 */
async function keepWritten(
  req: DownloadFileRequest,
  file: OpenTempFile,
): Promise<{ bytes: number; syncMs: number } | null> {
  const bytes = req.bytesWritten;
  if (bytes === undefined || bytes <= req.bytesTransferred || bytes > file.size) return null;
  // Short of a known size: keeping every byte would send no request, and a server's digest
  // (Repr-Digest) is learnt only from an answer.
  if (req.bytesTotal >= 0 && bytes >= req.bytesTotal) return null;
  const started = req.clock.monotonicMs();
  try {
    await file.handle.datasync();
  } catch {
    // fsyncgate: whatever was not on the disk may be gone; the checkpoint is all we trust.
    return null;
  }
  return { bytes, syncMs: req.clock.monotonicMs() - started };
}

function checkRequest(req: DownloadFileRequest): URL {
  return checkRemoteRequest(req.remoteName, req.options.customHeaders, ['http:', 'https:', 'file:']);
}

async function openTemp(
  req: DownloadFileRequest,
): Promise<{ file: OpenTempFile; restartReason: string | null; derived: boolean }> {
  const owner = { jobId: req.jobId, fileIndex: req.fileIndex };
  try {
    if (req.temporaryName !== null && isTempNameFor(req.temporaryName, req.localName)) {
      try {
        const file = await reopenTempFile(req.temporaryName, req.temporaryFileId ?? null);
        return { file, restartReason: null, derived: req.temporaryName === derivedTempName(req.localName, owner) };
      } catch (err) {
        if (!(err instanceof TempFileReplaced)) throw err;
        const file = await createTempFile(req.localName, owner);
        return { file, restartReason: err.message, derived: file.derived };
      }
    }
    const reason = req.temporaryName === null ? 'no temporary file yet' : 'temporary file is not where it belongs';
    const file = await createTempFile(req.localName, owner);
    return { file, restartReason: reason, derived: file.derived };
  } catch (err) {
    throw new TransferError(classifyLocalError(err), { cause: err });
  }
}

/** An exception thrown by one of the caller's hooks: the transfer stops and rethrows it as is. */
class HookFailure extends Error {
  override readonly name = 'HookFailure';
}

function guardHooks(hooks: DownloadHooks): DownloadHooks {
  const guard =
    <A extends unknown[]>(fn: (...args: A) => void) =>
    (...args: A): void => {
      try {
        fn.apply(hooks, args);
      } catch (err) {
        throw new HookFailure('a download hook threw', { cause: err });
      }
    };
  return {
    onConnected: guard(hooks.onConnected),
    onMetadata: guard(hooks.onMetadata),
    onRemoteNameChanged: guard(hooks.onRemoteNameChanged),
    onRestart: guard(hooks.onRestart),
    onCheckpoint: guard(hooks.onCheckpoint),
    onProgress: guard(hooks.onProgress),
    onSourceDropped: guard((url, reason) => hooks.onSourceDropped?.(url, reason)),
    onDigestsVerified: guard((check) => hooks.onDigestsVerified?.(check)),
    onMirrorsOffered: guard((urls) => hooks.onMirrorsOffered?.(urls)),
    onSegments: guard((segments, bytes, syncMs) => hooks.onSegments?.(segments, bytes, syncMs)),
    onWritten: guard((bytes) => hooks.onWritten?.(bytes)),
  };
}

/** Checkpoint what arrived, then the error to reject with (a local failure wins). */
async function settleFailure(req: DownloadFileRequest, sink: DownloadSink, err: unknown): Promise<unknown> {
  if (err instanceof HookFailure) {
    await sink.checkpoint().catch(() => undefined);
    return err.cause;
  }
  let failure: Error = req.signal.aborted
    ? abortError(req.signal)
    : err instanceof TransferError
      ? err
      : new TransferError(classifyNetworkError(err), { cause: err });
  try {
    await sink.checkpoint();
  } catch (local) {
    if (local instanceof HookFailure) return local.cause;
    if (!req.signal.aborted) failure = local instanceof Error ? local : failure;
  }
  return failure;
}
