import { type Clock, type FileSegment, type Job, type JobFile, MAX_MIRRORS } from '../core/index.ts';
import type { FileChange, FilePatch } from '../store/job-store.ts';
import type { RateLimiter, TransferFailure, TransferOptions } from '../transfer/download-request.ts';
import { followSignal } from '../transfer/follow-signal.ts';
import { downloadFile, publishedMode, TransferError, unexpectedFailure } from '../transfer/index.ts';
import { FileSyncRounds } from './file-sync-rounds.ts';

/** The least spacing of written-not-synced records (a quarter of the checkpoint interval above it). */
const WRITTEN_STEP_MIN = 1024 * 1024;

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
  /** Several files' facts in one record (a round of finished files, in order). */
  files(changes: readonly FileChange[]): void;
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
  /**
   * Bytes written past the file's checkpoint, not synced (docs/durability.md, "Written, not
   * synced"), or null to remove the file's record (a rollback or restart moved back). Optional: a worker's run does not report it
   * (its reports cross a channel, and a clearing one must land before the next byte is written).
   */
  written?(fileIndex: number, bytes: number | null): void;
}

/** What a runner gets: the job as read once at the start of the run, and where to report. */
export interface RunContext {
  readonly job: Job;
  readonly options: TransferOptions;
  readonly clock: Clock;
  readonly signal: AbortSignal;
  readonly limiter: RateLimiter | null;
  readonly report: RunReports;
  /**
   * Written-not-synced records of earlier runs, by file index: the bytes when made in this boot
   * (to keep), null when not (to clear before the file's first write).
   */
  readonly written?: ReadonlyMap<number, number | null>;
  /** The mode Complete publishes the job's files with (set by runDownloadJob, once per run). */
  readonly publishMode?: number;
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

/**
 * Run a download job's files one after another in the order added (bits-client.md §3.3 rule 4):
 * an error on one file stops the later ones. Every durable fact the engine reports goes to
 * `ctx.report` as it arrives; the run owner applies the resulting transition.
 */
export async function runDownloadJob(given: RunContext): Promise<RunOutcome> {
  // Read once (the umask comes from /proc), not for each of 1,000 small files.
  const ctx: RunContext = { ...given, publishMode: publishedMode(given.job.fileMode) };
  // Live progress is kept in memory: the hot path never reads the store.
  const live = [...ctx.job.files];
  // The failed last sync (or record) of the lowest file index: files fail in order.
  let failedSync: Failed | null = null;
  const syncs = new FileSyncRounds(
    ctx.clock,
    (changes) => ctx.report.files(changes),
    (fileIndex, err) => {
      const failed = runFailure(err, ctx.signal, fileIndex);
      if (failed.kind !== 'failed') return;
      if (failedSync === null || fileIndex < (failedSync.fileIndex ?? fileIndex)) failedSync = failed;
    },
  );
  let outcome: RunOutcome = { kind: 'done' };
  // The file whose body is being read, or whose write and sync are being handed over.
  let previous: FileRun | null = null;
  for (const file of ctx.job.files) {
    if (file.transferred) continue;
    // The next request goes out once the previous body is read (its write, sync hand-over and
    // close overlap the server's answer); at most two files run, and records stay in order.
    if (previous !== null) await previous.bodyRead;
    if (ctx.signal.aborted) outcome = { kind: 'aborted' };
    if (ctx.signal.aborted || failedSync !== null || previous?.failed === true) break;
    const current = startFile(file, ctx, live, syncs, previous);
    if (previous !== null) {
      outcome = await previous.done;
      if (outcome.kind !== 'done') {
        // Files fail in order: the later file stops, and whatever it reports is moot.
        current.stop.abort();
        await current.done;
        previous = null;
        break;
      }
    }
    previous = current;
  }
  if (previous !== null) {
    // A stop noticed between files stands unless the file before it failed.
    const last = await previous.done;
    if (outcome.kind === 'done' || last.kind === 'failed') outcome = last;
  }
  await syncs.settle();
  const failed = failedSync as Failed | null;
  if (outcome.kind === 'aborted' || failed === null) return outcome;
  // Files fail in order: an earlier file's failure is the job's error.
  if (outcome.kind === 'failed' && (outcome.fileIndex ?? 0) < (failed.fileIndex ?? 0)) return outcome;
  return failed;
}

type Failed = Extract<RunOutcome, { kind: 'failed' }>;

/** A file being run beside the next one's start. */
interface FileRun {
  /** Resolves when the body was read (or the file ended first). */
  readonly bodyRead: Promise<void>;
  readonly done: Promise<RunOutcome>;
  /** Stops this file (its predecessor failed). */
  readonly stop: AbortController;
  /** Set once `done` resolved with anything but 'done'. */
  failed: boolean;
}

/**
 * Start one file. Its last sync is handed to the rounds only after `previous` ended well, so
 * files are recorded in order; after a failed predecessor it is synced (its bytes are kept for
 * a retry) but never recorded transferred.
 */
function startFile(
  file: JobFile,
  ctx: RunContext,
  live: JobFile[],
  syncs: FileSyncRounds,
  previous: FileRun | null,
): FileRun {
  const stop = new AbortController();
  const body = Promise.withResolvers<void>();
  // `stop` follows the run's signal through one listener, removed when the file ends.
  const unfollow = previous === null ? null : followSignal(ctx.signal, stop);
  const signal = previous === null ? ctx.signal : stop.signal;
  const handOver = async (sync: () => Promise<void>, queue: () => Promise<void>): Promise<void> => {
    const before = previous === null ? null : await previous.done;
    if (before === null || before.kind === 'done') return await queue();
    await sync();
    throw new DOMException('an earlier file failed', 'AbortError');
  };
  const run: FileRun = {
    bodyRead: body.promise,
    stop,
    failed: false,
    done: runFile(file, { ...ctx, signal }, live, syncs, body.resolve, handOver).then((outcome) => {
      unfollow?.();
      body.resolve();
      run.failed = outcome.kind !== 'done';
      return outcome;
    }),
  };
  return run;
}

async function runFile(
  file: JobFile,
  ctx: RunContext,
  live: JobFile[],
  syncs: FileSyncRounds,
  onBodyRead: () => void,
  handOver: (sync: () => Promise<void>, queue: () => Promise<void>) => Promise<void>,
): Promise<RunOutcome> {
  const { report } = ctx;
  const update = (patch: Partial<JobFile>): void => {
    live[file.index] = { ...(live[file.index] ?? file), ...patch };
  };
  const progress = (bytes: number): void => {
    const before = live[file.index] ?? file;
    update({ bytesTransferred: bytes });
    report.progress(file.index, bytes, before.bytesTotal, bytes > before.bytesTransferred);
  };
  /**
   * Facts of a temp file at its derived name (size, validators, the name), kept for the file's
   * next record instead of a commit of their own: nothing needs them before a record claims
   * bytes in that file, and a later run or Cancel finds an unrecorded one by its name.
   */
  let deferred: FilePatch | null = null;
  const record = (patch: FilePatch): void => {
    const facts = deferred;
    deferred = null;
    report.file(file.index, facts === null ? patch : { ...facts, ...patch });
  };
  /** After the file's last fdatasync: transferred (its last checkpoint and facts folded in). */
  const finish = (): FileChange => {
    const done = live[file.index] ?? file;
    const total = done.bytesTotal >= 0 ? done.bytesTotal : done.bytesTransferred;
    update({ bytesTransferred: total, bytesTotal: total, transferred: true });
    // A finished file keeps no layout: every byte is durable.
    const layout = file.segments === null && !segmentedRun ? {} : { segments: null };
    const facts = deferred ?? {};
    deferred = null;
    const patch = { ...facts, bytesTransferred: total, bytesTotal: total, transferred: true, ...layout };
    return { index: file.index, patch };
  };
  let lastCheckpoint: number | null = null;
  let segmentedRun = false;
  /**
   * Written-not-synced records (docs/durability.md): one per `writtenStep` of new bytes, so a
   * kill -9 in this boot re-fetches a few MiB instead of up to a checkpoint interval. None while
   * the temp file is not named in a record yet (its facts are deferred), none for small files.
   */
  const writtenStep = Math.max(WRITTEN_STEP_MIN, ctx.options.checkpointBytes / 4);
  let writtenMark = file.bytesTransferred;
  /** How far the writes have completed, as the sink last said. */
  let writtenUpTo = file.bytesTransferred;
  const noteWritten = (bytes: number): void => {
    writtenUpTo = bytes;
    if (ctx.report.written === undefined || deferred !== null) return;
    if (bytes < writtenMark) {
      // Moved back (a rollback, a restart): the record must go before the next write, or the run
      // stops (the hook's exception) — a stale one would vouch for bytes written again.
      writtenMark = bytes;
      ctx.report.written(file.index, null);
      return;
    }
    const total = (live[file.index] ?? file).bytesTotal;
    // Never the whole file: a run that keeps every byte sends no request, and a server's digest
    // comes only with an answer.
    if (bytes - writtenMark < writtenStep || (total >= 0 && bytes >= total)) return;
    writtenMark = bytes;
    quietly(() => ctx.report.written?.(file.index, bytes));
  };
  const earlier = ctx.written?.get(file.index);
  try {
    // Cleared before a byte is written: if it is not kept, the bytes past the checkpoint are
    // written again, and a kill -9 then must not find a record that vouches for them. A failed
    // clear fails the file.
    if (earlier !== undefined) ctx.report.written?.(file.index, null);
  } catch (err) {
    return runFailure(err, ctx.signal, file.index);
  }
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
      bytesWritten: earlier ?? undefined,
      mirrors: file.mirrors,
      digests: file.digests,
      pieces: file.pieces,
      options: ctx.options,
      signal: ctx.signal,
      clock: ctx.clock,
      limiter: ctx.limiter,
      finalSync: (sync) => handOver(sync, () => syncs.add(file.index, sync, finish)),
      ...(ctx.publishMode === undefined ? {} : { publishMode: ctx.publishMode }),
      onBodyRead,
      hooks: {
        onConnected: () => {
          report.connected();
        },
        onMetadata: (meta) => {
          const facts = {
            bytesTotal: meta.bytesTotal,
            validators: meta.validators,
            temporaryName: meta.temporaryName,
            temporaryFileId: meta.temporaryFileId,
          };
          update({ bytesTotal: meta.bytesTotal, temporaryName: meta.temporaryName });
          // The next progress report carries the new size to the live counts.
          if (meta.derivedName) deferred = { ...deferred, ...facts };
          else record(facts);
        },
        onRemoteNameChanged: (url) => record({ remoteName: url }),
        onRestart: () => {
          // A full-size checkpoint held back for the TRANSFERRED record is void once the file restarts.
          lastCheckpoint = null;
          writtenMark = 0;
          record({ bytesTransferred: 0, segments: null });
          progress(0);
        },
        onCheckpoint: (bytes, syncMs) => {
          // The record written below clears the store's written-not-synced one.
          writtenMark = bytes;
          const total = (live[file.index] ?? file).bytesTotal;
          // A file's last checkpoint is folded into its TRANSFERRED write (finish): one
          // SQLite commit less per file, which is most of a small file's cost.
          if (total >= 0 && bytes === total) {
            lastCheckpoint = bytes;
            return;
          }
          if (deferred !== null) record({ bytesTransferred: bytes });
          else report.checkpoint(file.index, bytes, syncMs);
          // That record removed the written one, which is often ahead of it (the writes go on
          // during the sync, and the reader may now wait for the next one): put it back.
          if (writtenUpTo > bytes) noteWritten(writtenUpTo);
        },
        onSourceDropped: (url, reason) => report.sourceDropped(file.index, url, reason),
        // Mirrors the server announced join the file's own: /info shows them, the next run uses them.
        onMirrorsOffered: (urls) => {
          const mirrors = [...(live[file.index] ?? file).mirrors, ...urls].slice(0, MAX_MIRRORS);
          update({ mirrors });
          record({ mirrors });
        },
        onSegments: (segments, bytes, syncMs) => {
          segmentedRun = true;
          if (deferred !== null) record({});
          report.checkpoint(file.index, bytes, syncMs, segments);
        },
        onProgress: progress,
        onWritten: noteWritten,
      },
    });
  } catch (err) {
    quietly(() => {
      // The facts too, so a retry resumes in this temp file and Cancel finds it by its record.
      if (deferred !== null) record(lastCheckpoint === null ? {} : { bytesTransferred: lastCheckpoint });
      else if (lastCheckpoint !== null) report.checkpoint(file.index, lastCheckpoint);
    });
    return runFailure(err, ctx.signal, file.index);
  }
  return { kind: 'done' };
}

/** Record what was deferred after a failure; a job that was cancelled meanwhile refuses it. */
function quietly(write: () => void): void {
  try {
    write();
  } catch {
    // Only rework is lost: the restart fetches again from the previous checkpoint.
  }
}
