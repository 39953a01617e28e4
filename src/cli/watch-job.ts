import type { BitsManager, JobInfo } from './bits.ts';

/** How often the job is re-read when no event arrives (the fallback if events are unavailable). */
export const POLL_MS = 1000;

/**
 * Snapshots of a job: one now, then one after every event for it (manager.events()) or, when
 * nothing arrives, every `pollMs`. Ends when `signal` aborts; a failed getJob (e.g. the job was
 * cancelled elsewhere) throws.
 */
export async function* watchJob(
  manager: BitsManager,
  jobId: string,
  options: {
    signal?: AbortSignal | undefined;
    sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
    pollMs?: number;
  },
): AsyncGenerator<JobInfo> {
  const stop = new AbortController();
  const outer = options.signal;
  const onAbort = (): void => stop.abort();
  if (outer?.aborted === true) stop.abort();
  outer?.addEventListener('abort', onAbort, { once: true });
  let pending = false;
  let wake: (() => void) | null = null;
  const poke = (): void => {
    pending = true;
    wake?.();
  };
  void (async () => {
    try {
      for await (const _event of manager.events({ jobId, signal: stop.signal })) poke();
    } catch {
      // No event stream (or it broke): polling alone keeps the snapshots coming.
    }
  })();
  try {
    while (!stop.signal.aborted) {
      yield await manager.getJob(jobId);
      if (!pending && !stop.signal.aborted) {
        const woken = new Promise<void>((resolve) => {
          wake = resolve;
        });
        const slept = new AbortController();
        await Promise.race([
          options.sleep(options.pollMs ?? POLL_MS, AbortSignal.any([stop.signal, slept.signal])),
          woken,
        ]);
        slept.abort();
      }
      pending = false;
      wake = null;
    }
  } finally {
    outer?.removeEventListener('abort', onAbort);
    stop.abort();
  }
}
