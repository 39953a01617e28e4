import { type Clock, type FileSegment, isBitsError, type Job, type JobFile, type JobProgress } from '../core/index.ts';
import type { Scheduler } from '../scheduler/scheduler.ts';
import type { FileChange, FilePatch, JobStore } from '../store/job-store.ts';
import type { ReplyProgress, UploadSessionState } from '../transfer/upload/index.ts';
import type { EventHub } from './event-hub.ts';
import type { JobTransitions } from './job-transitions.ts';
import { LiveFiles } from './live-files.ts';
import type { StepTimer } from './metrics/service-metrics.ts';
import type { UploadReports } from './upload-runner.ts';

/** What a run writes through and tells. */
export interface JobRunParts {
  readonly store: JobStore;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly transitions: JobTransitions;
  readonly hub: EventHub;
  /** Checkpoint latency for the metrics, when bitsd keeps them. */
  readonly observe?: StepTimer | undefined;
  /** This boot's id (boot-id.ts), or null: written-not-synced records are then not kept. */
  readonly bootId?: string | null;
}

/**
 * One run of one job, from CONNECTING to the end of its transfer: the only writer of the job's
 * record while the bytes move. The runners report to it (never to the store); it writes what
 * must survive a crash, keeps the live byte counts, and tracks the job's state itself, so the run
 * reads the job once (when it is picked) and decides its last transition from what it knows.
 */
export class JobRun implements UploadReports {
  readonly #p: JobRunParts;
  #job: Job;
  /** Live counts of the run's files, kept from the reports; shown once progress was reported. */
  readonly #live: LiveFiles;
  #progressed = false;
  #connected = false;
  #connecting: Promise<void> = Promise.resolve();

  constructor(picked: Job, parts: JobRunParts) {
    this.#job = picked;
    this.#p = parts;
    this.#live = new LiveFiles(picked.files);
  }

  /** The job as the run last changed it. */
  get job(): Job {
    return this.#job;
  }

  /** Live byte counts (the store holds the last durable checkpoint); undefined before any progress. */
  get live(): readonly JobFile[] | undefined {
    return this.#progressed ? this.#live.files : undefined;
  }

  /** The job once every transition the run started has settled. */
  async settled(): Promise<Job> {
    await this.#connecting;
    return this.#job;
  }

  connected(): void {
    // Every file's first answer reports it; only the first one moves the job.
    if (this.#connected) return;
    this.#connected = true;
    if (this.#job.state !== 'CONNECTING') return;
    this.#connecting = this.#p.transitions.step(this.#job, 'connected').then(
      (job) => {
        this.#job = job;
      },
      (err: unknown) => {
        // Stopped meanwhile (another call moved the job): the stopper decides what comes next.
        if (!isBitsError(err) || err.name !== 'BG_E_INVALID_STATE') throw err;
      },
    );
  }

  file(fileIndex: number, patch: FilePatch): void {
    const { store, clock } = this.#p;
    store.updateFile(this.#job.id, fileIndex, patch, clock.wallMs());
    this.#applied([{ index: fileIndex, patch }]);
  }

  files(changes: readonly FileChange[]): void {
    const { store, clock } = this.#p;
    if (changes.length === 0) return;
    store.updateFiles(this.#job.id, changes, clock.wallMs());
    this.#applied(changes);
  }

  /** Written changes into the live counts; FileTransferred once the commit is durable. */
  #applied(changes: readonly FileChange[]): void {
    const transferred: number[] = [];
    for (const { index, patch } of changes) {
      this.#live.set(index, patch);
      if (patch.transferred === true) transferred.push(index);
    }
    if (transferred.length === 0) return;
    const { store, hub } = this.#p;
    const jobId = this.#job.id;
    void store.durable().then(
      () => {
        for (const fileIndex of transferred) hub.emit({ type: 'file:transferred', jobId, fileIndex });
      },
      () => undefined,
    );
  }

  checkpoint(fileIndex: number, bytesTransferred: number, syncMs?: number, segments?: readonly FileSegment[]): void {
    const { store, clock, observe } = this.#p;
    const started = observe === undefined ? 0 : clock.monotonicMs();
    store.saveCheckpoint(this.#job.id, fileIndex, bytesTransferred, clock.wallMs(), segments);
    // The data file's fdatasync (timed by the sink) plus the offset's commit.
    if (observe !== undefined) observe('checkpoint', ((syncMs ?? 0) + clock.monotonicMs() - started) / 1000);
  }

  written(fileIndex: number, bytes: number): void {
    const boot = this.#p.bootId;
    if (boot !== null && boot !== undefined) this.#p.store.saveWritten(this.#job.id, fileIndex, bytes, boot);
  }

  /** This run's files' bytes written past their checkpoints by an earlier run of this boot. */
  writtenBefore(): ReadonlyMap<number, number> {
    const boot = this.#p.bootId;
    const out = new Map<number, number>();
    if (boot === null || boot === undefined) return out;
    for (const [index, w] of this.#p.store.getWritten(this.#job.id)) if (w.boot === boot) out.set(index, w.bytes);
    return out;
  }

  sourceDropped(fileIndex: number, url: string, reason: string): void {
    this.#p.hub.emit({ type: 'file:source-dropped', jobId: this.#job.id, fileIndex, url, reason });
  }

  progress(fileIndex: number, bytesTransferred: number, bytesTotal: number, advanced: boolean): void {
    if (advanced) this.#p.scheduler.progress(this.#job.id);
    this.#live.set(fileIndex, { bytesTransferred, bytesTotal });
    this.#progressed = true;
    this.#p.hub.progress(this.#job.id, this.#totals);
  }

  /** The job's totals now, for the hub to take when it sends progress (≤ 10/s). */
  readonly #totals = (): JobProgress => this.#live.progress;

  session(state: UploadSessionState): void {
    this.#p.store.saveTransferState(this.#job.id, state);
  }

  replyProgress(_progress: ReplyProgress): void {
    this.#p.scheduler.progress(this.#job.id);
    this.#p.hub.emit({ type: 'job:modified', jobId: this.#job.id });
  }
}
