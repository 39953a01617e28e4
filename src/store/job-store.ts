import type {
  BitsErrorData,
  FileDigest,
  FileRange,
  FileSegment,
  Job,
  JobEvent,
  JobMethod,
  JobState,
  JobTimers,
  JobType,
  PieceDigests,
  Quotas,
  RemoteValidators,
  Webhook,
  WebhookDelivery,
} from '../core/index.ts';
import type { WebhookOutbox } from './webhook-outbox.ts';

/**
 * The job store: named domain verbs, each its own transaction — a verb commits everything it
 * writes (a state change and the scheduler timers it implies included) or nothing; callers never
 * open a transaction. A state change applies only if the job is still in the state the caller
 * saw (compare-and-set); otherwise the verb throws BitsError BG_E_INVALID_STATE naming both
 * states, and nothing changes. Values, method legality (bits-client.md §2.3) and quotas are
 * judged here, by the rules in job-rules.ts / job-patch.ts, inside the verb's transaction.
 *
 * All verbs are synchronous (node:sqlite is); `now` is the wall-clock time (epoch ms) recorded
 * as ModificationTime, passed in so the store never reads a clock. What a verb returns may be
 * acted on in-process at once; what is shown outside the process (events, a reply to a caller,
 * the notify command line) waits for `durable()`.
 */
export interface JobStore extends WebhookOutbox {
  /** CreateJob, with the job's first scheduler timers when given (one commit). */
  createJob(input: CreateJobInput): Job;
  /** Any job, final ones included; undefined if unknown. */
  getJob(id: string): Job | undefined;
  /** Jobs still in the queue (not ACKNOWLEDGED/CANCELLED), oldest first; `owner` filters. */
  listJobs(filter?: { owner?: string }): Job[];
  /** AddFileSet: all files or none (quotas, upload single-file rule, legality). */
  addFiles(id: string, files: readonly NewFile[], ctx: CallerContext): Job;
  /**
   * Apply one row of the transition table, if the job is still in `expected`, and save
   * `change.timers` (the scheduler's timers in the new state) in the same commit.
   */
  applyTransition(id: string, change: TransitionInput): Job;
  /** A property setter (SetDescription, SetPriority, …), legality-checked as `method`. */
  updateJob(id: string, method: JobMethod, patch: JobPatch, now: number): Job;
  /**
   * Per-file changes made by the transfer engine or Complete. Returns nothing: the engine writes
   * this per file, and reading the whole job back would cost O(files) per write.
   */
  updateFile(id: string, fileIndex: number, patch: FilePatch, now: number): void;
  /** Several files' changes in one commit, all or none (Complete records every published file). */
  updateFiles(id: string, changes: readonly FileChange[], now: number): void;
  /**
   * Record a durable offset: called only after the bytes were fdatasync'ed. A segmented download
   * gives its layout too (each part's durable offset; `bytesTransferred` is their sum).
   */
  saveCheckpoint(
    id: string,
    fileIndex: number,
    bytesTransferred: number,
    now: number,
    segments?: readonly FileSegment[],
  ): void;
  /**
   * Bytes written to a file's temp file past its durable offset, not synced, in the boot
   * `written.boot` (the kernel's boot id): after a kill -9 in the same boot the page cache still
   * holds them, so the next run may fdatasync and keep them instead of fetching them again
   * (docs/durability.md, "Written, not synced"). Committed without a sync of its own and never a
   * durable claim. Kept only past the file's durable offset and short of its known size, for a
   * file not transferred; otherwise, or with null, the file's record is removed. Any other write
   * of the file's record removes it too (a store may remove more). An unknown job or file is
   * ignored; a negative or fractional byte count or an empty boot id is E_INVALIDARG.
   */
  saveWritten(id: string, fileIndex: number, written: WrittenBytes | null): void;
  /** The written-not-synced records of a job's files, by file index. */
  getWritten(id: string): ReadonlyMap<number, WrittenBytes>;
  /** Scheduler timers that must survive a restart (opaque to the store). */
  saveTimers(id: string, timers: JobTimers): void;
  getTimers(id: string): JobTimers | undefined;
  /**
   * Protocol state of a job's transfer that must survive a restart (an upload session: id,
   * acknowledged offset, reply progress), as plain JSON data owned by the transfer engine.
   */
  saveTransferState(id: string, state: unknown): void;
  getTransferState(id: string): unknown;
  /** Remove final-state jobs older than `before` (housekeeping). Returns how many. */
  purgeFinal(before: number): number;
  setQuotas(quotas: Quotas): void;
  /**
   * Resolves once every write a verb has returned from so far is on disk (COMMIT and fsync);
   * rejects if the commit that covers one of them failed. Callers await it before they publish
   * an event, answer a caller or run the notify command line. Both stores commit (and, for
   * SQLite, fsync) inside each verb, so it resolves at once today; a store that shares one
   * COMMIT among the writes of a few milliseconds (group commit) resolves it after that COMMIT.
   * `background`: no caller is waiting on these writes (a run's pick); the store may wait a
   * moment for a caller's sync to cover them rather than start one of its own.
   */
  durable(options?: { readonly background?: boolean }): Promise<void>;
  close(): void;
}

/** A file's bytes written past its durable offset, and the boot they were written in. */
export interface WrittenBytes {
  readonly bytes: number;
  readonly boot: string;
}

export interface CallerContext {
  readonly owner: string;
  /** Admins (root or a configured group) are exempt from quotas. */
  readonly isAdmin: boolean;
  readonly now: number;
}

export interface CreateJobInput extends CallerContext {
  readonly id: string;
  readonly type: JobType;
  readonly displayName: string;
  /** The scheduler's timers for the new job, saved in the same commit. */
  readonly timers?: JobTimers;
}

export interface NewFile {
  readonly remoteName: string;
  readonly localName: string;
  readonly ranges?: readonly FileRange[] | null;
  /** Beyond BITS: other URLs of the same file (download jobs). */
  readonly mirrors?: readonly string[];
  /** Beyond BITS: whole-file digests and piece digests (download jobs). */
  readonly digests?: readonly FileDigest[];
  readonly pieces?: PieceDigests | null;
}

export interface TransitionInput {
  readonly expected: JobState;
  readonly event: JobEvent;
  /** Required when the row sets the error. */
  readonly error?: (BitsErrorData & { readonly fileIndex: number | null }) | null;
  readonly now: number;
  /** The scheduler's timers in the new state, saved in the same commit (omitted: unchanged). */
  readonly timers?: JobTimers;
  /**
   * The webhook deliveries the change fires (docs/webhooks.md), given the job as it is after the
   * change: added to the outbox in the same commit, so they exist exactly when the change does.
   */
  readonly webhooks?: (next: Job) => readonly WebhookDelivery[];
}

/**
 * Settable job properties, as callers hand them in: the store's rules (job-patch.ts) judge each
 * value and store it normalised, so a caller passes what it was given without checking it first.
 */
export type JobPatch = Partial<
  Pick<
    Job,
    | 'displayName'
    | 'description'
    | 'priority'
    | 'minimumRetryDelay'
    | 'noProgressTimeout'
    | 'maximumDownloadTime'
    | 'notifyFlags'
    | 'proxy'
    | 'securityFlags'
    | 'customHeadersWriteOnly'
    | 'credentials'
    | 'dynamicContent'
    | 'highPerformance'
    | 'maxDownloadSize'
    | 'maxBandwidth'
    | 'fileMode'
    | 'maxConnections'
    | 'costFlags'
    | 'replyFileName'
    | 'owner'
  > & {
    /** SetWebhooks: the job's hooks (each `{ url, secret }`); null removes them. */
    webhooks: readonly Webhook[] | null;
    /** `Name: value` lines, or their CRLF-joined text; null removes them. */
    customHeaders: string | readonly string[] | null;
    /** SetNotifyCmdLine's two arguments; both null (or null) removes the command line. */
    notifyCmdLine: { program: string | null; parameters: string | null } | null;
  }
>;

export type FilePatch = Partial<{
  remoteName: string;
  bytesTotal: number;
  bytesTransferred: number;
  transferred: boolean;
  completed: boolean;
  temporaryName: string | null;
  temporaryFileId: string | null;
  readyMode: number | null;
  validators: RemoteValidators | null;
  segments: readonly FileSegment[] | null;
  mirrors: readonly string[];
  digests: readonly FileDigest[];
  pieces: PieceDigests | null;
}>;

/** One file's change in an updateFiles call. */
export interface FileChange {
  readonly index: number;
  readonly patch: FilePatch;
}

/** Scheduler timers the store keeps (defined in core so the scheduler needs no store import). */
export type { JobTimers } from '../core/index.ts';
