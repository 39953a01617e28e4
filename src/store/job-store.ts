import type {
  BitsErrorData,
  FileRange,
  Job,
  JobEvent,
  JobMethod,
  JobState,
  JobTimers,
  JobType,
  Quotas,
  RemoteValidators,
} from '../core/index.ts';

/**
 * The job store: named domain verbs, each one transaction. A state change applies only if the
 * job is still in the state the caller saw (compare-and-set); otherwise the verb throws
 * BitsError BG_E_INVALID_STATE naming both states, and nothing changes. Every verb that
 * takes a `method` checks the method-legality table inside the same transaction.
 *
 * All verbs are synchronous (node:sqlite is); `now` is the wall-clock time (epoch ms) recorded
 * as ModificationTime, passed in so the store never reads a clock.
 */
export interface JobStore {
  createJob(input: CreateJobInput): Job;
  /** Any job, final ones included; undefined if unknown. */
  getJob(id: string): Job | undefined;
  /** Jobs still in the queue (not ACKNOWLEDGED/CANCELLED), oldest first; `owner` filters. */
  listJobs(filter?: { owner?: string }): Job[];
  /** AddFileSet: all files or none (quotas, upload single-file rule, legality). */
  addFiles(id: string, files: readonly NewFile[], ctx: CallerContext): Job;
  /** Apply one row of the transition table, if the job is still in `expected`. */
  applyTransition(id: string, change: TransitionInput): Job;
  /** A property setter (SetDescription, SetPriority, …), legality-checked as `method`. */
  updateJob(id: string, method: JobMethod, patch: JobPatch, now: number): Job;
  /**
   * Per-file changes made by the transfer engine or Complete. Returns nothing: the engine writes
   * this per file, and reading the whole job back would cost O(files) per write.
   */
  updateFile(id: string, fileIndex: number, patch: FilePatch, now: number): void;
  /** Record a durable offset: called only after the bytes were fdatasync'ed. */
  saveCheckpoint(id: string, fileIndex: number, bytesTransferred: number, now: number): void;
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
   * Run `fn` (synchronous) so that every write it makes lands in one atomic commit: a state
   * change and the timers it implies cost one fsync, not two. Writes inside that fail roll back
   * alone (savepoints), as they would on their own.
   */
  transaction<T>(fn: () => T): T;
  close(): void;
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
}

export interface NewFile {
  readonly remoteName: string;
  readonly localName: string;
  readonly ranges?: readonly FileRange[] | null;
}

export interface TransitionInput {
  readonly expected: JobState;
  readonly event: JobEvent;
  /** Required when the row sets the error. */
  readonly error?: (BitsErrorData & { readonly fileIndex: number | null }) | null;
  readonly now: number;
}

/** Settable job properties. */
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
    | 'notifyCmdLine'
    | 'proxy'
    | 'securityFlags'
    | 'customHeaders'
    | 'customHeadersWriteOnly'
    | 'credentials'
    | 'dynamicContent'
    | 'highPerformance'
    | 'maxDownloadSize'
    | 'maxBandwidth'
    | 'fileMode'
    | 'replyFileName'
    | 'owner'
  >
>;

export type FilePatch = Partial<{
  remoteName: string;
  bytesTotal: number;
  bytesTransferred: number;
  transferred: boolean;
  completed: boolean;
  temporaryName: string | null;
  temporaryFileId: string | null;
  validators: RemoteValidators | null;
}>;

/** Scheduler timers the store keeps (defined in core so the scheduler needs no store import). */
export type { JobTimers } from '../core/index.ts';
