import type { BitsManager, JobInfo, JobProgress } from './bits-vocabulary.ts';

/** How often the job is re-read when no event arrives (the fallback if events are unavailable). */
export const POLL_MS = 1000;

/**
 * Snapshots of a job (without its file list: `files` is empty): one now, then one after every
 * burst of events for it (manager.events()) or, when nothing arrives, every `pollMs`. Progress
 * events update the last snapshot in place; the job is read again (files-less, so the cost does
 * not grow with its files) only when its state changed, and on the poll. Ends when `signal`
 * aborts; a failed read (e.g. the job was cancelled elsewhere) throws.
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
  /** What arrived since the last snapshot: only progress (patch it in), or a state change (re-read). */
  let pending: 'none' | 'progress' | 'state' = 'none';
  let wake: (() => void) | null = null;
  // Progress events carry the live byte count; a re-read job may lag behind (it shows the last
  // checkpoint), so the newest event's progress is shown while the job is moving bytes.
  let live: JobProgress | null = null;
  const poke = (what: 'progress' | 'state'): void => {
    if (pending !== 'state') pending = what;
    wake?.();
  };
  void (async () => {
    try {
      for await (const event of manager.events({ jobId, signal: stop.signal })) {
        if (event.type === 'job:progress') {
          live = event.progress;
          poke('progress');
        } else if (event.type === 'job:state') {
          live = null;
          poke('state');
        }
      }
    } catch {
      // No event stream (or it broke): polling alone keeps the snapshots coming.
    }
  })();
  const read = async (): Promise<JobInfo> => withLive(await manager.getJob(jobId, { files: false }), live);
  try {
    let last = await read();
    while (!stop.signal.aborted) {
      yield last;
      if (pending === 'none' && !stop.signal.aborted) {
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
      // (Set by the event loop above while this one awaited.)
      const what = pending as 'none' | 'progress' | 'state';
      pending = 'none';
      wake = null;
      if (stop.signal.aborted) break;
      last = what === 'progress' && live !== null ? withLive(last, live) : await read();
    }
  } finally {
    outer?.removeEventListener('abort', onAbort);
    stop.abort();
  }
}

/** The job with `live` progress when that is the newer view of an active transfer. */
function withLive(job: JobInfo, live: JobProgress | null): JobInfo {
  if (live === null || (job.state !== 'TRANSFERRING' && job.state !== 'CONNECTING')) return job;
  if (live.bytesTransferred < job.progress.bytesTransferred || live.filesTotal !== job.progress.filesTotal) return job;
  return { ...job, progress: live };
}
