import { type Clock, type FileSegment, type Job, type JobFile, MAX_MIRRORS } from '../core/index.ts';
import type { FilePatch } from '../store/job-store.ts';
import type { RateLimiter, TransferFailure, TransferOptions } from '../transfer/download-request.ts';
import { downloadFile, TransferError, unexpectedFailure } from '../transfer/index.ts';

/** How a run of a job ended, for the run owner to turn into a transition. */
export type RunOutcome =
  | { kind: 'done' }
  | { kind: 'aborted' }
  | { kind: 'failed'; failure: TransferFailure; fileIndex: number | null };

/**
 * What a runner reports while it moves a job's bytes. The run owner (job-runs.ts) is the only
 * code that writes a running job's record: runners never touch the store.
 */
export interface RunReports {
  /** An answer arrived: CONNECTING → TRANSFERRING (reported by every file; the first one counts). */
  connected(): void;
  /** Per-file facts to keep: size and validators, a redirected remote name, a restart at 0, done. */
  file(fileIndex: number, patch: FilePatch): void;
  /**
   * A durable offset: the bytes before it are fdatasync'ed (or acknowledged by the upload
   * server); `syncMs` is what the fdatasync took, when the bytes are local.
   */
  checkpoint(fileIndex: number, bytesTransferred: number, syncMs?: number, segments?: readonly FileSegment[]): void;
  /** A mirror (or the remote name) was taken out of this run of the file, and why. */
  sourceDropped(fileIndex: number, url: string, reason: string): void;
  /**
   * One file's live progress (not durable); `advanced` when bytes were added (NoProgressTimeout).
   * One file, not the job's list: a report costs the same in a job of 1,000 files (and crosses
   * a worker's channel as a few numbers).
   */
  progress(fileIndex: number, bytesTransferred: number, bytesTotal: number, advanced: boolean): void;
}

/** What a runner gets: the job as read once at the start of the run, and where to report. */
export interface RunContext {
  readonly job: Job;
  readonly options: TransferOptions;
  readonly clock: Clock;
  readonly signal: AbortSignal;
  readonly limiter: RateLimiter | null;
  readonly report: RunReports;
}

/**
 * How a transfer that threw ended: stopped on purpose (aborted), a classified transfer failure, or
 * anything else as the failure table's fatal E_FAIL, so the job stops instead of retrying a bug.
 */
export function runFailure(err: unknown, signal: AbortSignal, fileIndex: number): RunOutcome {
  if (signal.aborted) return { kind: 'aborted' };
  if (err instanceof TransferError) return { kind: 'failed', failure: err.failure, fileIndex };
  return { kind: 'failed', fileIndex, failure: unexpectedFailure(err) };
}

type Failed = Extract<RunOutcome, { kind: 'failed' }>;

/** Finished files whose last fdatasync may run at once while the next files download. */
const MAX_PENDING_SYNCS = 16;

/**
 * The last fdatasync of each finished file, off the download path: the next file's request
 * starts while the kernel writes the previous ones out (their syncs overlap on the thread pool
 * and in the file system's journal). A file is reported transferred only after its own sync —
 * the checkpoint rule holds — and after the file before it (syncs finish in any order, but files
 * become transferred, and FileTransferred goes out, in the order they were added, as in BITS);
 * the job's run ends only once every sync has settled.
 */
class PendingSyncs {
  readonly #running = new Set<Promise<void>>();
  /** The previous file's outcome (reported or failed); never rejects. */
  #previous: Promise<void> = Promise.resolve();
  readonly #signal: AbortSignal;
  /** The failed sync of the lowest file index. */
  #failure: Failed | null = null;

  constructor(signal: AbortSignal) {
    this.#signal = signal;
  }

  get failed(): boolean {
    return this.#failure !== null;
  }

  /** Start `sync` then `done` for file `fileIndex`; waits while too many are running. */
  async add(fileIndex: number, sync: () => Promise<void>, done: () => void): Promise<void> {
    while (this.#running.size >= MAX_PENDING_SYNCS) await Promise.race(this.#running);
    const before = this.#previous;
    const p: Promise<void> = sync()
      .then(async () => {
        await before;
        done();
      })
      .catch((err: unknown) => {
        const outcome = runFailure(err, this.#signal, fileIndex);
        if (outcome.kind !== 'failed') return;
        if (this.#failure === null || fileIndex < (this.#failure.fileIndex ?? fileIndex)) this.#failure = outcome;
      })
      .finally(() => this.#running.delete(p));
    this.#running.add(p);
    this.#previous = p;
  }

  /** Waits for every sync; the first failed file's outcome, if any. */
  async settle(): Promise<Failed | null> {
    while (this.#running.size > 0) await Promise.all(this.#running);
    return this.#failure;
  }
}

/**
 * Run a download job's files one after another in the order added (bits-client.md §3.3 rule 4):
 * an error on one file stops the later ones. Every durable fact the engine reports goes to
 * `ctx.report` as it arrives; the run owner applies the resulting transition.
 */
export async function runDownloadJob(ctx: RunContext): Promise<RunOutcome> {
  // Live progress is kept in memory: the hot path never reads the store.
  const live = [...ctx.job.files];
  const syncs = new PendingSyncs(ctx.signal);
  let outcome: RunOutcome = { kind: 'done' };
  for (const file of ctx.job.files) {
    if (file.transferred) continue;
    if (ctx.signal.aborted) outcome = { kind: 'aborted' };
    if (ctx.signal.aborted || syncs.failed) break;
    outcome = await runFile(file, ctx, live, syncs);
    if (outcome.kind !== 'done') break;
  }
  const failedSync = await syncs.settle();
  if (outcome.kind === 'aborted' || failedSync === null) return outcome;
  // Files fail in order: an earlier file's failed sync is the job's error.
  if (outcome.kind === 'failed' && (outcome.fileIndex ?? 0) < (failedSync.fileIndex ?? 0)) return outcome;
  return failedSync;
}

async function runFile(file: JobFile, ctx: RunContext, live: JobFile[], syncs: PendingSyncs): Promise<RunOutcome> {
  const { report } = ctx;
  const update = (patch: Partial<JobFile>): void => {
    live[file.index] = { ...(live[file.index] ?? file), ...patch };
  };
  const progress = (bytes: number): void => {
    const before = live[file.index] ?? file;
    update({ bytesTransferred: bytes });
    report.progress(file.index, bytes, before.bytesTotal, bytes > before.bytesTransferred);
  };
  /** After the file's last fdatasync: transferred (its last checkpoint folded in). */
  const finish = (): void => {
    const done = live[file.index] ?? file;
    const total = done.bytesTotal >= 0 ? done.bytesTotal : done.bytesTransferred;
    update({ bytesTransferred: total, bytesTotal: total, transferred: true });
    // A finished file keeps no layout: every byte is durable.
    const layout = file.segments === null && !segmentedRun ? {} : { segments: null };
    report.file(file.index, { bytesTransferred: total, bytesTotal: total, transferred: true, ...layout });
  };
  let lastCheckpoint: number | null = null;
  let segmentedRun = false;
  try {
    await downloadFile({
      jobId: ctx.job.id,
      fileIndex: file.index,
      remoteName: file.remoteName,
      localName: file.localName,
      ranges: file.ranges,
      bytesTransferred: file.bytesTransferred,
      bytesTotal: file.bytesTotal,
      validators: file.validators,
      temporaryName: file.temporaryName,
      temporaryFileId: file.temporaryFileId,
      segments: file.segments,
      mirrors: file.mirrors,
      digests: file.digests,
      pieces: file.pieces,
      options: ctx.options,
      signal: ctx.signal,
      clock: ctx.clock,
      limiter: ctx.limiter,
      finalSync: (sync) => syncs.add(file.index, sync, finish),
      hooks: {
        onConnected: () => report.connected(),
        onMetadata: (meta) => {
          report.file(file.index, {
            bytesTotal: meta.bytesTotal,
            validators: meta.validators,
            temporaryName: meta.temporaryName,
            temporaryFileId: meta.temporaryFileId,
          });
          update({ bytesTotal: meta.bytesTotal, temporaryName: meta.temporaryName });
        },
        onRemoteNameChanged: (url) => report.file(file.index, { remoteName: url }),
        onRestart: () => {
          report.file(file.index, { bytesTransferred: 0, segments: null });
          progress(0);
        },
        onCheckpoint: (bytes, syncMs) => {
          const total = (live[file.index] ?? file).bytesTotal;
          // A file's last checkpoint is folded into its TRANSFERRED write (finish): one
          // SQLite commit less per file, which is most of a small file's cost.
          if (total >= 0 && bytes === total) {
            lastCheckpoint = bytes;
            return;
          }
          report.checkpoint(file.index, bytes, syncMs);
        },
        onSourceDropped: (url, reason) => report.sourceDropped(file.index, url, reason),
        // Mirrors the server announced join the file's own: /info shows them, the next run uses them.
        onMirrorsOffered: (urls) => {
          const mirrors = [...(live[file.index] ?? file).mirrors, ...urls].slice(0, MAX_MIRRORS);
          update({ mirrors });
          report.file(file.index, { mirrors });
        },
        onSegments: (segments, bytes, syncMs) => {
          segmentedRun = true;
          report.checkpoint(file.index, bytes, syncMs, segments);
        },
        onProgress: progress,
      },
    });
  } catch (err) {
    if (lastCheckpoint !== null) reportQuietly(report, file.index, lastCheckpoint);
    return runFailure(err, ctx.signal, file.index);
  }
  return { kind: 'done' };
}

/** Record a deferred checkpoint after a failure; a job that was cancelled meanwhile refuses it. */
function reportQuietly(report: RunReports, fileIndex: number, bytes: number): void {
  try {
    report.checkpoint(fileIndex, bytes);
  } catch {
    // Only rework is lost: the restart fetches again from the previous checkpoint.
  }
}
