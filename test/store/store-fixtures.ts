import type { Job, JobType, Quotas } from '../../src/core/index.ts';
import type { CallerContext, JobStore, NewFile } from '../../src/store/index.ts';

/** What a contract test gets from an implementation's factory. */
export interface StoreHandle {
  readonly store: JobStore;
  /** Close the store and remove whatever it left on disk. */
  cleanup(): void;
}

export type StoreFactory = (options: { quotas?: Quotas }) => StoreHandle;

/** A deterministic job id (a lower-case GUID) for test number `n`. */
export function jobId(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

export const T0 = 1_700_000_000_000;

export function caller(owner = 'alice', now = T0, isAdmin = false): CallerContext {
  return { owner, isAdmin, now };
}

export function file(n: number, extra: Partial<NewFile> = {}): NewFile {
  return { remoteName: `https://example.org/f${n}.bin`, localName: `/srv/data/f${n}.bin`, ...extra };
}

/** Create job `n` for `owner` at T0 + n. */
export function createJob(store: JobStore, n: number, owner = 'alice', type: JobType = 'DOWNLOAD', admin = false): Job {
  return store.createJob({ ...caller(owner, T0 + n, admin), id: jobId(n), type, displayName: `job ${n}` });
}

/** A snapshot of everything the store holds about these ids (to prove nothing changed). */
export function snapshot(store: JobStore, ids: readonly string[]): unknown {
  return {
    jobs: ids.map((id) => store.getJob(id) ?? null),
    timers: ids.map((id) => store.getTimers(id) ?? null),
    list: store.listJobs(),
  };
}
