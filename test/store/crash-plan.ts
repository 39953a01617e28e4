import { BitsError, type JobEvent, type JobState } from '../../src/core/index.ts';
import type { JobStore } from '../../src/store/index.ts';
import { caller, file, jobId, T0 } from './store-fixtures.ts';

/**
 * The deterministic work of the crash test: step n of an endless sequence of job lives
 * (create, add a file, size it, resume, connect, checkpoints, a transient failure and retry,
 * more checkpoints, transferred, complete). The child process runs it against SQLite; the
 * parent replays it on a MemoryJobStore to know what must be on disk after n steps.
 */
type Step =
  | { kind: 'create' }
  | { kind: 'addFile' }
  | { kind: 'size' }
  | { kind: 'event'; event: JobEvent; from: JobState }
  | { kind: 'checkpoint'; bytes: number }
  | { kind: 'timers' };

const KiB = 1024;
const LIFE: readonly Step[] = [
  { kind: 'create' },
  { kind: 'addFile' },
  { kind: 'size' },
  { kind: 'event', event: 'resume', from: 'SUSPENDED' },
  { kind: 'event', event: 'pick', from: 'QUEUED' },
  { kind: 'event', event: 'connected', from: 'CONNECTING' },
  ...[1, 2, 3, 4, 5, 6].map((i): Step => ({ kind: 'checkpoint', bytes: i * 64 * KiB })),
  { kind: 'event', event: 'transient_failure', from: 'TRANSFERRING' },
  { kind: 'timers' },
  { kind: 'event', event: 'retry_timer', from: 'TRANSIENT_ERROR' },
  { kind: 'event', event: 'pick', from: 'QUEUED' },
  { kind: 'event', event: 'connected', from: 'CONNECTING' },
  ...[7, 8, 9, 10].map((i): Step => ({ kind: 'checkpoint', bytes: i * 64 * KiB })),
  { kind: 'event', event: 'all_files_done', from: 'TRANSFERRING' },
  { kind: 'event', event: 'complete', from: 'TRANSFERRED' },
];

/** The job that step n touches. */
export function jobOfStep(step: number): string {
  return jobId(Math.floor(step / LIFE.length) + 1);
}

/** Every job id that steps 0 … n-1 can have created. */
export function jobsUpTo(steps: number): string[] {
  const count = Math.ceil(steps / LIFE.length);
  return Array.from({ length: count }, (_, i) => jobId(i + 1));
}

/** Run step n on `store` (one committed store call). */
export function runStep(store: JobStore, step: number): void {
  const id = jobOfStep(step);
  const s = LIFE[step % LIFE.length] as Step;
  const now = T0 + step;
  switch (s.kind) {
    case 'create':
      store.createJob({ ...caller('crash', now), id, type: 'DOWNLOAD', displayName: `crash ${id}` });
      return;
    case 'addFile':
      store.addFiles(id, [file(step)], caller('crash', now));
      return;
    case 'size':
      store.updateFile(id, 0, { bytesTotal: 1 << 20, temporaryName: `/srv/data/.f${step}.bits` }, now);
      return;
    case 'checkpoint':
      store.saveCheckpoint(id, 0, s.bytes, now);
      return;
    case 'timers':
      store.saveTimers(id, { activeMs: step, noProgressMs: 0, retryRemainingMs: 5000, inactiveMs: 0 });
      return;
    case 'event': {
      const error = {
        ...new BitsError('BG_E_HTTP_ERROR_503', 'busy', { context: 'REMOTE_FILE' }).toJSON(),
        fileIndex: 0,
      };
      store.applyTransition(id, { expected: s.from, event: s.event, error, now });
      return;
    }
  }
}
