import type { DatabaseSync } from 'node:sqlite';
import {
  BitsError,
  DEFAULT_QUOTAS,
  type FileSegment,
  isBitsError,
  isFinalState,
  type Job,
  type JobFile,
  type JobMethod,
  type Quotas,
  type WebhookDelivery,
} from '../../core/index.ts';
import { patchFile, patchFiles, patchJob } from '../job-patch.ts';
import {
  checkJobQuota,
  checkpointJob,
  checkQuotas,
  checkTimers,
  checkWritten,
  jobNotFound,
  newFiles,
  newJob,
  transitionJob,
  withFiles,
  withoutUrlCredentials,
} from '../job-rules.ts';
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
} from '../job-store.ts';
import { fileParams, jobParams, rowToFile, rowToJob, rowToTimers } from './job-rows.ts';
import { QueueCache } from './queue-cache.ts';
import { QueueCounts } from './queue-counts.ts';
import { RecordCache } from './record-cache.ts';
import { prepareStatements, type Statements } from './statements.ts';
import type { WalSync } from './wal-sync.ts';
import { deliveryParams, type OutboxStatements, prepareOutboxStatements, rowToDelivery } from './webhook-rows.ts';

type Row = Record<string, unknown>;

/** What `PRAGMA synchronous` numbers mean. */
const SYNCHRONOUS_NAMES: readonly string[] = ['OFF', 'NORMAL', 'FULL', 'EXTRA'];

/** The pragmas that decide what survives a crash. */
export interface DurabilitySettings {
  readonly journalMode: string;
  readonly synchronous: string;
  readonly foreignKeys: boolean;
  readonly busyTimeoutMs: number;
}

/** SQLite primary result codes worth a specific BITS error. */
const SQLITE_CORRUPT = 11;
const SQLITE_FULL = 13;
const SQLITE_NOTADB = 26;

/** A driver error as a BitsError (the cause keeps SQLite's own text). */
export function sqliteError(err: unknown): BitsError {
  if (isBitsError(err)) return err;
  const code = ((err as { errcode?: number }).errcode ?? 0) & 0xff;
  const text = err instanceof Error ? err.message : String(err);
  if (code === SQLITE_CORRUPT || code === SQLITE_NOTADB) {
    return new BitsError('BG_E_DATABASE_CORRUPT', `the job database is corrupt: ${text}`, { cause: err });
  }
  if (code === SQLITE_FULL)
    return new BitsError('ERROR_DISK_FULL', `the job database is full: ${text}`, { cause: err });
  return new BitsError('E_FAIL', `job database error: ${text}`, { cause: err });
}

/**
 * The durable JobStore on node:sqlite. Every verb is one transaction: writes take the write lock
 * up front (BEGIN IMMEDIATE) so the read-check-write inside cannot race another connection.
 * Durability is a group commit: with a WalSync (what openSqliteJobStore sets up, with
 * synchronous=NORMAL) a COMMIT returns once its frames are in the WAL, and `durable()` resolves
 * after one fdatasync of the WAL on the thread pool has covered every commit so far. Without
 * one, the connection's own pragma decides (synchronous=FULL: each COMMIT fsyncs).
 * The rules applied to a record live in job-rules.ts/job-patch.ts, shared with MemoryJobStore.
 */
export class SqliteJobStore implements JobStore {
  readonly #db: DatabaseSync;
  readonly #sql: Statements;
  readonly #outbox: OutboxStatements;
  readonly #wal: WalSync | null;
  readonly #queue = new QueueCache();
  readonly #counts = new QueueCounts();
  readonly #records = new RecordCache();
  /** The record a write verb stored whole, as a read would return it (cached once committed). */
  #written: Job | null = null;
  #quotas: Quotas;
  /** No other connection writes the database (see SqliteJobStoreOptions.soleWriter). */
  readonly #soleWriter: boolean;

  /** Takes an open, migrated database (see openSqliteJobStore). */
  constructor(db: DatabaseSync, options: { quotas?: Quotas; walSync?: WalSync; soleWriter?: boolean } = {}) {
    this.#db = db;
    this.#wal = options.walSync ?? null;
    this.#soleWriter = options.soleWriter === true;
    this.#sql = prepareStatements(db);
    this.#outbox = prepareOutboxStatements(db);
    this.#quotas = checkQuotas(options.quotas ?? DEFAULT_QUOTAS);
    this.#moveUrlCredentials();
  }

  /** Records an earlier version wrote with userinfo in a URL get it moved, once, at open. */
  #moveUrlCredentials(): void {
    const rows = this.#db.prepare(`SELECT DISTINCT job_id FROM files WHERE remote_name LIKE '%@%'`).all() as Row[];
    if (rows.length === 0) return;
    this.#write(() => {
      for (const row of rows) {
        const job = this.#mustLoad(row.job_id as string);
        const next = withoutUrlCredentials(job);
        if (next === job) continue;
        for (const file of next.files) this.#sql.updateFile.run(fileParams(job.id, file), job.id, file.index);
        this.#saveJob(next, job);
      }
    });
  }

  createJob(input: CreateJobInput): Job {
    const job = newJob(input);
    const timers = input.timers === undefined ? undefined : checkTimers(input.timers);
    const created = this.#write(() => {
      if (this.#sql.selectJob.get(job.id) !== undefined) {
        throw new BitsError('E_INVALIDARG', `job ${job.id} already exists`);
      }
      const counts = this.#counts.get(this.#sql.dataVersion.get()?.data_version, job.owner, {
        all: () => (this.#sql.countQueue.get() as Row).n as number,
        owner: (owner) => (this.#sql.countOwnerQueue.get(owner) as Row).n as number,
      });
      checkJobQuota(counts, this.#quotas, input);
      const params = jobParams(job);
      this.#sql.insertJob.run(params);
      if (timers !== undefined) this.#saveTimers(job.id, timers);
      this.#written = rowToJob(params, []);
      return job;
    }, job.id);
    this.#counts.added(job.owner);
    return created;
  }

  /**
   * A queued job this connection read or wrote last comes from the record cache: no transaction,
   * no rows parsed, only PRAGMA data_version asked (a read transaction of its own, with its locks
   * on the -shm file) — or not even that when this is the only writer. Such a record is frozen
   * (nothing can change what the cache holds through it).
   */
  getJob(id: string): Job | undefined {
    if (!this.#db.isOpen) throw new BitsError('E_FAIL', 'the job store is closed');
    const cached = this.#soleWriter ? this.#records.peek(id) : this.#cached(id);
    if (cached !== undefined) return cached;
    const job = this.#read(() => this.#load(id));
    if (job !== undefined) this.#records.put(job);
    return job;
  }

  /** The queue in order, from the queue cache: only jobs written since the last list are read. */
  listJobs(filter: { owner?: string } = {}): Job[] {
    return this.#read(() => {
      const version = this.#sql.dataVersion.get()?.data_version;
      const jobs = this.#queue.list(
        version,
        () => this.#loadQueue(),
        (id) => this.#records.get(version, id) ?? this.#load(id),
      );
      const { owner } = filter;
      return owner === undefined ? jobs : jobs.filter((j) => j.owner === owner);
    });
  }

  #loadQueue(): Job[] {
    const rows = this.#sql.selectQueue.all() as Row[];
    const files = new Map<string, JobFile[]>();
    for (const row of this.#sql.selectQueueFiles.all() as Row[]) {
      const list = files.get(row.job_id as string);
      if (list === undefined) files.set(row.job_id as string, [rowToFile(row)]);
      else list.push(rowToFile(row));
    }
    return rows.map((row) => rowToJob(row, files.get(row.id as string) ?? []));
  }

  addFiles(id: string, files: readonly NewFile[], ctx: CallerContext): Job {
    return this.#write(() => {
      const job = this.#mustLoad(id);
      const added = newFiles(job, files, ctx, this.#quotas);
      const next = withFiles(job, added, ctx.now);
      const stored = [...job.files];
      for (const file of added.files) {
        const params = fileParams(id, file);
        this.#sql.insertFile.run(params);
        stored.push(rowToFile(params));
      }
      this.#written = this.#saveJob(next, job, stored);
      return next;
    }, id);
  }

  applyTransition(id: string, change: TransitionInput): Job {
    const timers = change.timers === undefined ? undefined : checkTimers(change.timers);
    let left = false;
    const next = this.#write(() => {
      const job = this.#mustLoad(id);
      const next = transitionJob(job, change, this.#transferStateFor(job));
      left = isFinalState(next.state) && !isFinalState(job.state);
      this.#written = this.#saveJob(next, job, job.files);
      if (timers !== undefined) this.#saveTimers(id, timers);
      // The deliveries this change fires: in this commit, so they exist exactly when it does.
      for (const d of change.webhooks?.(next) ?? []) this.#outbox.insert.run(deliveryParams(d));
      return next;
    }, id);
    // Counted once committed (a failed COMMIT throws above and leaves the counts as they were).
    if (left) this.#counts.left(next.owner);
    return next;
  }

  dueWebhooks(nowMs: number, limit: number, skip: ReadonlySet<string>): WebhookDelivery[] {
    return this.#read(() =>
      (this.#outbox.due.all(nowMs, limit + skip.size) as Row[])
        .map(rowToDelivery)
        .filter((d) => !skip.has(d.id))
        .slice(0, limit),
    );
  }

  nextWebhookAttempt(skip: ReadonlySet<string>): number | undefined {
    return this.#read(() => {
      const rows = this.#outbox.next.all(skip.size + 1) as Row[];
      const row = rows.find((r) => !skip.has(r.id as string));
      return row === undefined ? undefined : (row.next_attempt_at as number);
    });
  }

  webhookDelivered(id: string): void {
    this.#write(() => this.#outbox.remove.run(id), null);
  }

  webhookFailed(id: string, attempts: number, nextAttemptAt: number, lastError: string): void {
    this.#write(() => this.#outbox.failed.run(attempts, nextAttemptAt, lastError, id), null);
  }

  webhookAbandoned(id: string): void {
    this.#write(() => this.#outbox.remove.run(id), null);
  }

  updateJob(id: string, method: JobMethod, patch: JobPatch, now: number): Job {
    return this.#write(() => {
      const job = this.#mustLoad(id);
      const next = patchJob(job, method, patch, now, this.#transferStateFor(job));
      if (next.owner !== job.owner || isFinalState(next.state)) this.#counts.clear();
      this.#written = this.#saveJob(next, job, job.files);
      return next;
    }, id);
  }

  updateFile(id: string, fileIndex: number, patch: FilePatch, now: number): void {
    this.#write(() => {
      const job = this.#mustLoadWithFile(id, fileIndex);
      const next = patchFile(job, fileIndex, patch, now);
      this.#sql.updateFile.run(fileParams(id, next.files[fileIndex] as JobFile), id, fileIndex);
      // A remote name's userinfo moved into the job's credentials: the job row changes too.
      if (next.credentials !== job.credentials) this.#saveJob(next, job);
      else this.#sql.touchJob.run(now, id);
    }, id);
  }

  /**
   * A run's rounds (a few files each) come here. With the job's record cached, the change is
   * computed on it and the record put back (as a read would return it): no row is read, and the
   * next round finds it again. Without one, only the job row and the changed files are read.
   */
  updateFiles(id: string, changes: readonly FileChange[], now: number): void {
    this.#write(() => {
      const cached = this.#cached(id);
      const before =
        cached ??
        this.#mustLoadWithFiles(
          id,
          changes.map((c) => c.index),
        );
      const job = patchFiles(before, changes, now);
      // patchFiles made the list afresh: it becomes the record's, with each change as stored.
      const stored = cached === undefined ? undefined : (job.files as JobFile[]);
      for (const c of changes) {
        const params = fileParams(id, job.files[c.index] as JobFile);
        this.#sql.updateFile.run(params, id, c.index);
        if (stored !== undefined) stored[c.index] = rowToFile(params);
      }
      if (job.credentials !== before.credentials) this.#written = this.#saveJob(job, before, stored);
      else {
        this.#sql.touchJob.run(now, id);
        if (stored !== undefined) this.#written = rowToJob(jobParams(job), stored);
      }
    }, id);
  }

  saveCheckpoint(
    id: string,
    fileIndex: number,
    bytesTransferred: number,
    now: number,
    segments?: readonly FileSegment[],
  ): void {
    this.#write(() => {
      const job = this.#mustLoadWithFile(id, fileIndex);
      const next = checkpointJob(job, fileIndex, bytesTransferred, now, segments);
      if (segments === undefined) this.#sql.updateCheckpoint.run(bytesTransferred, id, fileIndex);
      else {
        const layout = JSON.stringify(next.files[fileIndex]?.segments ?? null);
        this.#sql.updateSegments.run(bytesTransferred, layout, id, fileIndex);
      }
      this.#sql.touchJob.run(now, id);
    }, id);
  }

  saveWritten(id: string, fileIndex: number, written: WrittenBytes | null): void {
    const record = written === null ? null : checkWritten(written);
    // No job or record cache to touch: the record is not part of a job's (null below).
    this.#write(() => {
      const kept =
        record !== null &&
        Number(
          this.#sql.setWritten.run({ job_id: id, idx: fileIndex, bytes: record.bytes, boot: record.boot }).changes,
        ) > 0;
      if (!kept) this.#sql.clearWritten.run(id, fileIndex);
    }, null);
  }

  getWritten(id: string): ReadonlyMap<number, WrittenBytes> {
    return this.#read(() => {
      const out = new Map<number, WrittenBytes>();
      for (const row of this.#sql.selectWritten.all(id) as Row[]) {
        out.set(row.idx as number, { bytes: row.bytes as number, boot: row.boot as string });
      }
      return out;
    });
  }

  saveTimers(id: string, timers: JobTimers): void {
    const t = checkTimers(timers);
    this.#write(() => {
      if (this.#sql.selectJob.get(id) === undefined) throw jobNotFound(id);
      this.#saveTimers(id, t);
    }, id);
  }

  getTimers(id: string): JobTimers | undefined {
    return this.#read(() => {
      const row = this.#sql.selectTimers.get(id) as Row | undefined;
      return row === undefined ? undefined : rowToTimers(row);
    });
  }

  saveTransferState(id: string, state: unknown): void {
    const text = JSON.stringify(state);
    this.#write(() => {
      if (this.#sql.selectJob.get(id) === undefined) throw jobNotFound(id);
      this.#sql.upsertTransferState.run(id, text);
    }, id);
  }

  getTransferState(id: string): unknown {
    return this.#read(() => this.#loadTransferState(id));
  }

  /**
   * Deletes only finished jobs, which no cache holds (the queue and record caches keep queued
   * jobs, the counts count them): the caches stay. Dropping them made the first list after each
   * hourly purge read and parse the whole queue again (0.4 s for 10,000 jobs).
   */
  purgeFinal(before: number): number {
    return this.#write(() => Number(this.#sql.purgeFinal.run(before).changes), null);
  }

  setQuotas(quotas: Quotas): void {
    this.#quotas = checkQuotas(quotas);
  }

  /**
   * Once the WAL sync covering every commit so far has finished (group commit); at once when
   * each COMMIT synced itself (no WalSync).
   */
  durable(options?: { readonly background?: boolean }): Promise<void> {
    if (!this.#db.isOpen) return Promise.reject(new BitsError('E_FAIL', 'the job store is closed'));
    return this.#wal === null ? Promise.resolve() : this.#wal.durable(options);
  }

  /** Bytes of the WAL the last group-commit sync covered (the power-loss test truncates to it). */
  get walSyncedBytes(): number | undefined {
    return this.#wal?.syncedBytes;
  }

  /** The connection's durability pragmas, as SQLite reports them (for diagnostics and tests). */
  durabilitySettings(): DurabilitySettings {
    const get = (pragma: string): unknown => Object.values(this.#db.prepare(`PRAGMA ${pragma}`).get() ?? {})[0];
    return {
      journalMode: String(get('journal_mode')),
      synchronous: SYNCHRONOUS_NAMES[Number(get('synchronous'))] ?? 'UNKNOWN',
      foreignKeys: get('foreign_keys') === 1,
      busyTimeoutMs: Number(get('busy_timeout')),
    };
  }

  /** Syncs what the group commit has not yet, then closes. */
  close(): void {
    if (!this.#db.isOpen) return;
    try {
      this.#wal?.close();
    } finally {
      this.#db.close();
    }
  }

  /** The cached record of `id` while no other connection has committed. */
  #cached(id: string): Job | undefined {
    return this.#records.get(this.#sql.dataVersion.get()?.data_version, id);
  }

  /** Inside a transaction: the job's rows, read and parsed. */
  #load(id: string): Job | undefined {
    const row = this.#sql.selectJob.get(id) as Row | undefined;
    if (row === undefined) return undefined;
    return rowToJob(row, (this.#sql.selectFiles.all(id) as Row[]).map(rowToFile));
  }

  #loadTransferState(id: string): unknown {
    const row = this.#sql.selectTransferState.get(id) as Row | undefined;
    return row === undefined ? undefined : JSON.parse(row.state as string);
  }

  /** What the legality rules need of the transfer state: only an upload-reply's says anything. */
  #transferStateFor(job: Job): unknown {
    return job.type === 'UPLOAD_REPLY' ? this.#loadTransferState(job.id) : undefined;
  }

  #saveTimers(id: string, t: JobTimers): void {
    this.#sql.upsertTimers.run(id, t.activeMs, t.noProgressMs, t.retryRemainingMs, t.inactiveMs);
  }

  #mustLoad(id: string): Job {
    const job = this.#cached(id) ?? this.#load(id);
    if (job === undefined) throw jobNotFound(id);
    return job;
  }

  /**
   * The job row with only file `index` read (a sparse `files` array): enough to check a per-file
   * change, without parsing every file row of a 1,000-file job on each engine write.
   */
  #mustLoadWithFile(id: string, index: number): Job {
    return this.#mustLoadWithFiles(id, [index]);
  }

  /** #mustLoadWithFile for several files (an updateFiles call reads only the files it changes). */
  #mustLoadWithFiles(id: string, indexes: readonly number[]): Job {
    const row = this.#sql.selectJob.get(id) as Row | undefined;
    if (row === undefined) throw jobNotFound(id);
    const files: JobFile[] = [];
    for (const index of indexes) {
      if (!Number.isInteger(index) || files[index] !== undefined) continue;
      const fileRow = this.#sql.selectFile.get(id, index) as Row | undefined;
      if (fileRow !== undefined) files[index] = rowToFile(fileRow);
    }
    return { ...rowToJob(row, []), files };
  }

  /**
   * Write the job row, only if it is still in the state the change was computed from (`before`'s).
   * A change that keeps the state and the owner writes every column but those (and the id) in
   * place: no index entry moves, so the commit carries the table's page and no index page.
   * Returns the record as a read would now return it, given the job's stored `files`.
   */
  #saveJob(job: Job, before: Job, files?: readonly JobFile[]): Job | null {
    const expected = before.state;
    const params = jobParams(job);
    const inPlace = job.state === expected && job.owner === before.owner;
    const statement = inPlace ? this.#sql.updateJobInPlace : this.#sql.updateJobIfState;
    const { changes } = statement.run(params, job.id, expected);
    if (Number(changes) !== 1) {
      throw new BitsError('BG_E_INVALID_STATE', `job ${job.id} left state ${expected} during the update`);
    }
    return files === undefined ? null : rowToJob(params, files);
  }

  /**
   * A write verb. `jobId`: the one job whose record it may change (the queue cache reads it
   * again); `null`: rows no cache holds (the outbox, the purge of finished jobs); without one,
   * the caches read everything again.
   */
  #write<T>(fn: () => T, jobId?: string | null): T {
    this.#written = null;
    let committed = false;
    try {
      const result = this.#transaction(this.#sql.begin, fn);
      committed = true;
      this.#wal?.noteCommit();
      return result;
    } finally {
      const written = this.#written as Job | null; // set by `fn`
      this.#written = null;
      if (jobId === undefined) {
        this.#queue.clear();
        this.#counts.clear();
        this.#records.clear();
      } else if (jobId !== null) {
        // Only a committed record stored whole is kept; anything else is read again. One that
        // left the queue (Cancel, Complete) needs no read to find that out.
        if (committed && written?.id === jobId) {
          this.#records.put(written);
          if (isFinalState(written.state)) this.#queue.left(jobId);
          else this.#queue.forget(jobId);
        } else {
          this.#records.forget(jobId);
          this.#queue.forget(jobId);
        }
      }
    }
  }

  /** Reads run in a deferred transaction so a job and its files come from one snapshot. */
  #read<T>(fn: () => T): T {
    return this.#transaction(this.#sql.beginRead, fn);
  }

  /**
   * THE place the store opens a transaction: one per verb, committed before the verb returns
   * (durable once `durable()` resolves), rolled back whole when any part of it — COMMIT
   * included — fails.
   */
  #transaction<T>(begin: Statements['begin'], fn: () => T): T {
    if (!this.#db.isOpen) throw new BitsError('E_FAIL', 'the job store is closed');
    // Verbs never call verbs: a transaction open here would make this one part of another.
    if (this.#db.isTransaction) throw new BitsError('E_FAIL', 'a job store verb ran inside another one');
    try {
      begin.run();
    } catch (err) {
      throw sqliteError(err);
    }
    try {
      const result = fn();
      this.#sql.commit.run();
      return result;
    } catch (err) {
      if (this.#db.isTransaction) this.#sql.rollback.run();
      throw sqliteError(err);
    }
  }
}
