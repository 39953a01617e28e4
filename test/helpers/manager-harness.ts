import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BitsManager, ManagerEvent } from '../../src/api/bits-manager.ts';
import type { JobState } from '../../src/core/index.ts';

export function tempDir(prefix = 'openbits-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * Resolve when the job reaches `state` (checked at once and on every event); rejects after
 * `timeoutMs` of real time — a guard against hangs, not a timing assertion.
 */
export async function waitForState(
  manager: BitsManager,
  jobId: string,
  state: JobState | readonly JobState[],
  timeoutMs = 60_000,
): Promise<void> {
  const wanted = Array.isArray(state) ? state : [state];
  const current = async (): Promise<JobState | undefined> => {
    try {
      return (await manager.getJob(jobId)).state;
    } catch {
      return undefined;
    }
  };
  if (wanted.includes((await current()) as JobState)) return;
  await new Promise<void>((resolve, reject) => {
    let done = false;
    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      unsubscribe();
      if (err === undefined) resolve();
      else reject(err);
    };
    const timer = setTimeout(async () => {
      finish(new Error(`job ${jobId} did not reach ${wanted.join('/')} (now ${await current()})`));
    }, timeoutMs);
    const unsubscribe = manager.subscribe(
      (e: ManagerEvent) => {
        if (e.type === 'job:state' && wanted.includes(e.state)) finish();
      },
      { jobId },
    );
    void current().then((s) => {
      if (s !== undefined && wanted.includes(s)) finish();
    });
  });
}

/** Let pending I/O callbacks and microtasks run (not a timed wait). */
export function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
