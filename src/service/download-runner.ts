import type { Clock, Job, JobFile } from '../core/index.ts';
import { BitsError, parseCustomHeaders } from '../core/index.ts';
import type { JobStore } from '../store/job-store.ts';
import type { RateLimiter, TransferFailure, TransferOptions } from '../transfer/contract.ts';
import { downloadFile, TransferError } from '../transfer/index.ts';

/** How a run of a job ended, for the manager to turn into a transition. */
export type RunOutcome =
  | { kind: 'done' }
  | { kind: 'aborted' }
  | { kind: 'failed'; failure: TransferFailure; fileIndex: number | null };

export interface RunContext {
  readonly store: JobStore;
  readonly clock: Clock;
  readonly signal: AbortSignal;
  readonly limiter: RateLimiter | null;
  readonly checkpointBytes: number;
  readonly checkpointMs: number;
  /** CONNECTING → TRANSFERRING, once per run. */
  onConnected(): void;
  /** Live (not yet durable) progress of every file; `advanced` when bytes were added (resets NoProgressTimeout). */
  onProgress(files: readonly JobFile[], advanced: boolean): void;
  onFileTransferred(fileIndex: number): void;
}

function transferOptions(job: Job, ctx: RunContext): TransferOptions {
  return {
    customHeaders: parseCustomHeaders(job.customHeaders),
    credentials: job.credentials,
    proxy: job.proxy,
    securityFlags: job.securityFlags,
    dynamicContent: job.dynamicContent,
    maxDownloadSize: job.maxDownloadSize,
    checkpointBytes: ctx.checkpointBytes,
    checkpointMs: ctx.checkpointMs,
  };
}

/**
 * How a transfer that threw ended: stopped on purpose (aborted), a classified transfer failure, or
 * anything else as a fatal E_FAIL so the job stops instead of retrying a bug forever.
 */
export function runFailure(err: unknown, signal: AbortSignal, fileIndex: number): RunOutcome {
  if (signal.aborted) return { kind: 'aborted' };
  if (err instanceof TransferError) return { kind: 'failed', failure: err.failure, fileIndex };
  const message = err instanceof Error ? err.message : String(err);
  const error = new BitsError('E_FAIL', message, { context: 'GENERAL_QUEUE_MANAGER' }).toJSON();
  return { kind: 'failed', fileIndex, failure: { kind: 'fatal', retryAfterMs: null, error } };
}

/**
 * Run a download job's files one after another in the order added (bits-client.md §3.3 rule 4):
 * an error on one file stops the later ones. Every durable fact the engine reports is written
 * to the store as it arrives; the caller applies the resulting transition.
 */
export async function runDownloadJob(jobId: string, ctx: RunContext): Promise<RunOutcome> {
  const initial = ctx.store.getJob(jobId);
  if (initial === undefined) return { kind: 'aborted' };
  const options = transferOptions(initial, ctx);
  // Live progress is kept in memory: the hot path never reads the store.
  const live = [...initial.files];
  for (const file of initial.files) {
    if (file.transferred) continue;
    if (ctx.signal.aborted) return { kind: 'aborted' };
    const outcome = await runFile(jobId, file, options, ctx, live);
    if (outcome.kind !== 'done') return outcome;
  }
  return { kind: 'done' };
}

async function runFile(
  jobId: string,
  file: JobFile,
  options: TransferOptions,
  ctx: RunContext,
  live: JobFile[],
): Promise<RunOutcome> {
  const { store, clock } = ctx;
  const update = (patch: Partial<JobFile>): void => {
    live[file.index] = { ...(live[file.index] ?? file), ...patch };
  };
  const progress = (bytes: number): void => {
    const before = (live[file.index] ?? file).bytesTransferred;
    update({ bytesTransferred: bytes });
    ctx.onProgress(live, bytes > before);
  };
  let lastCheckpoint: number | null = null;
  try {
    await downloadFile({
      jobId,
      fileIndex: file.index,
      remoteName: file.remoteName,
      localName: file.localName,
      ranges: file.ranges,
      bytesTransferred: file.bytesTransferred,
      bytesTotal: file.bytesTotal,
      validators: file.validators,
      temporaryName: file.temporaryName,
      temporaryFileId: file.temporaryFileId,
      options,
      signal: ctx.signal,
      clock,
      limiter: ctx.limiter,
      hooks: {
        onConnected: () => ctx.onConnected(),
        onMetadata: (meta) => {
          store.updateFile(
            jobId,
            file.index,
            {
              bytesTotal: meta.bytesTotal,
              validators: meta.validators,
              temporaryName: meta.temporaryName,
              temporaryFileId: meta.temporaryFileId,
            },
            clock.wallMs(),
          );
          update({ bytesTotal: meta.bytesTotal, temporaryName: meta.temporaryName });
        },
        onRemoteNameChanged: (url) => {
          store.updateFile(jobId, file.index, { remoteName: url }, clock.wallMs());
        },
        onRestart: () => {
          store.updateFile(jobId, file.index, { bytesTransferred: 0 }, clock.wallMs());
          progress(0);
        },
        onCheckpoint: (bytes) => {
          const total = (live[file.index] ?? file).bytesTotal;
          // A file's last checkpoint is folded into the TRANSFERRED write just below: one
          // SQLite commit (an fsync) less per file, which is most of a small file's cost.
          if (total >= 0 && bytes === total) {
            lastCheckpoint = bytes;
            return;
          }
          store.saveCheckpoint(jobId, file.index, bytes, clock.wallMs());
        },
        onProgress: progress,
      },
    });
  } catch (err) {
    if (lastCheckpoint !== null) saveQuietly(store, jobId, file.index, lastCheckpoint, clock.wallMs());
    return runFailure(err, ctx.signal, file.index);
  }
  const done = live[file.index] ?? file;
  const total = done.bytesTotal >= 0 ? done.bytesTotal : done.bytesTransferred;
  update({ bytesTransferred: total, bytesTotal: total, transferred: true });
  store.updateFile(
    jobId,
    file.index,
    { bytesTransferred: total, bytesTotal: total, transferred: true },
    clock.wallMs(),
  );
  ctx.onFileTransferred(file.index);
  return { kind: 'done' };
}

/** Record a deferred checkpoint after a failure; a job that was cancelled meanwhile refuses it. */
function saveQuietly(store: JobStore, jobId: string, fileIndex: number, bytes: number, now: number): void {
  try {
    store.saveCheckpoint(jobId, fileIndex, bytes, now);
  } catch {
    // Only rework is lost: the restart fetches again from the previous checkpoint.
  }
}
