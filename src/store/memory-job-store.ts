import {
  BitsError,
  DEFAULT_QUOTAS,
  type FileSegment,
  isFinalState,
  type Job,
  type JobMethod,
  type Quotas,
  type WebhookDelivery,
} from '../core/index.ts';
import { patchFile, patchFiles, patchJob } from './job-patch.ts';
import {
  checkJobQuota,
  checkpointJob,
  checkQuotas,
  checkTimers,
  jobNotFound,
  newFiles,
  newJob,
  transitionJob,
  withFiles,
  writtenRecord,
} from './job-rules.ts';
import type {
  CallerContext,
  CreateJobInput,
  FileChange,
  FilePatch,
  JobPatch,
  JobStore,
  JobTimers,
  NewFile,
  TransitionInput,
  WrittenBytes,
} from './job-store.ts';
import { MemoryWebhookOutbox } from './webhook-outbox.ts';

/** Options of the in-memory store. */
export interface MemoryJobStoreOptions {
  readonly quotas?: Quotas;
}

/**
 * A JobStore that lives in memory and dies with the process: for tests and for embedding
 * without persistence. It applies the same rules (job-rules.ts) as the SQLite store and passes
 * the same contract suite. Records are copied in and out, so callers never share state with it.
 */
export class MemoryJobStore implements JobStore {
  #jobs = new Map<string, Job>();
  #timers = new Map<string, JobTimers>();
  #transferState = new Map<string, string>();
  /** saveWritten's records by job and file index; any write of the job clears its own. */
  #written = new Map<string, Map<number, WrittenBytes>>();
  readonly #outbox = new MemoryWebhookOutbox();
  #quotas: Quotas;
  #open = true;

  constructor(options: MemoryJobStoreOptions = {}) {
    this.#quotas = checkQuotas(options.quotas ?? DEFAULT_QUOTAS);
  }

  createJob(input: CreateJobInput): Job {
    const job = newJob(input);
    const timers = input.timers === undefined ? undefined : checkTimers(input.timers);
    const jobs = this.#live();
    if (jobs.has(job.id)) throw new BitsError('E_INVALIDARG', `job ${job.id} already exists`);
    let machine = 0;
    let owner = 0;
    for (const j of jobs.values()) {
      if (isFinalState(j.state)) continue;
      machine++;
      if (j.owner === job.owner) owner++;
    }
    checkJobQuota({ machine, owner }, this.#quotas, input);
    if (timers !== undefined) this.#timers.set(job.id, timers);
    return this.#put(job);
  }

  getJob(id: string): Job | undefined {
    const job = this.#live().get(id);
    return job === undefined ? undefined : structuredClone(job);
  }

  listJobs(filter: { owner?: string } = {}): Job[] {
    const out: Job[] = [];
    for (const job of this.#live().values()) {
      if (isFinalState(job.state)) continue;
      if (filter.owner !== undefined && job.owner !== filter.owner) continue;
      out.push(structuredClone(job));
    }
    return out;
  }

  addFiles(id: string, files: readonly NewFile[], ctx: CallerContext): Job {
    const job = this.#get(id);
    return this.#put(withFiles(job, newFiles(job, files, ctx, this.#quotas), ctx.now));
  }

  applyTransition(id: string, change: TransitionInput): Job {
    const next = transitionJob(this.#get(id), change, this.getTransferState(id));
    const timers = change.timers === undefined ? undefined : checkTimers(change.timers);
    // Everything that can throw before anything is written: all of the change, or none of it.
    const deliveries = change.webhooks?.(structuredClone(next)) ?? [];
    if (timers !== undefined) this.#timers.set(id, timers);
    for (const d of deliveries) this.#outbox.add(structuredClone(d));
    return this.#put(next);
  }

  dueWebhooks(nowMs: number, limit: number, skip: ReadonlySet<string>): WebhookDelivery[] {
    this.#live();
    return this.#outbox.dueWebhooks(nowMs, limit, skip);
  }

  nextWebhookAttempt(skip: ReadonlySet<string>): number | undefined {
    this.#live();
    return this.#outbox.nextWebhookAttempt(skip);
  }

  webhookDelivered(id: string): void {
    this.#live();
    this.#outbox.webhookDelivered(id);
  }

  webhookFailed(id: string, attempts: number, nextAttemptAt: number, lastError: string): void {
    this.#live();
    this.#outbox.webhookFailed(id, attempts, nextAttemptAt, lastError);
  }

  webhookAbandoned(id: string): void {
    this.#live();
    this.#outbox.webhookAbandoned(id);
  }

  updateJob(id: string, method: JobMethod, patch: JobPatch, now: number): Job {
    return this.#put(patchJob(this.#get(id), method, patch, now, this.getTransferState(id)));
  }

  updateFile(id: string, fileIndex: number, patch: FilePatch, now: number): void {
    this.#put(patchFile(this.#get(id), fileIndex, patch, now));
  }

  updateFiles(id: string, changes: readonly FileChange[], now: number): void {
    this.#put(patchFiles(this.#get(id), changes, now));
  }

  saveCheckpoint(
    id: string,
    fileIndex: number,
    bytesTransferred: number,
    now: number,
    segments?: readonly FileSegment[],
  ): void {
    this.#put(checkpointJob(this.#get(id), fileIndex, bytesTransferred, now, segments));
  }

  saveWritten(id: string, fileIndex: number, bytes: number, boot: string): void {
    const file = this.#live().get(id)?.files[fileIndex];
    if (file === undefined) return;
    const record = writtenRecord(file, bytes, boot);
    const files = this.#written.get(id) ?? new Map<number, WrittenBytes>();
    if (record === null) files.delete(fileIndex);
    else files.set(fileIndex, record);
    this.#written.set(id, files);
  }

  getWritten(id: string): ReadonlyMap<number, WrittenBytes> {
    if (!this.#live().has(id)) return new Map();
    return new Map(this.#written.get(id));
  }

  saveTimers(id: string, timers: JobTimers): void {
    this.#get(id);
    this.#timers.set(id, checkTimers(timers));
  }

  getTimers(id: string): JobTimers | undefined {
    this.#live();
    const timers = this.#timers.get(id);
    return timers === undefined ? undefined : { ...timers };
  }

  saveTransferState(id: string, state: unknown): void {
    this.#get(id);
    this.#transferState.set(id, JSON.stringify(state));
  }

  getTransferState(id: string): unknown {
    this.#live();
    const text = this.#transferState.get(id);
    return text === undefined ? undefined : JSON.parse(text);
  }

  purgeFinal(before: number): number {
    let removed = 0;
    for (const [id, job] of this.#live()) {
      if (isFinalState(job.state) && job.times.modificationTime < before) {
        this.#jobs.delete(id);
        this.#timers.delete(id);
        this.#transferState.delete(id);
        this.#written.delete(id);
        removed++;
      }
    }
    return removed;
  }

  setQuotas(quotas: Quotas): void {
    this.#live();
    this.#quotas = checkQuotas(quotas);
  }

  /** Nothing to sync: a write is as durable as it gets when its verb returns. */
  durable(): Promise<void> {
    return this.#open ? Promise.resolve() : Promise.reject(new BitsError('E_FAIL', 'the job store is closed'));
  }

  close(): void {
    this.#open = false;
  }

  #live(): Map<string, Job> {
    if (!this.#open) throw new BitsError('E_FAIL', 'the job store is closed');
    return this.#jobs;
  }

  #get(id: string): Job {
    const job = this.#live().get(id);
    if (job === undefined) throw jobNotFound(id);
    return job;
  }

  #put(job: Job): Job {
    this.#written.delete(job.id);
    const stored = structuredClone(job);
    this.#jobs.set(job.id, stored);
    return structuredClone(stored);
  }
}
