import type { BitsManager, JobInfo, JobProgress, JobState } from './bits-vocabulary.ts';

/** How often the job is re-read when no event arrives (the fallback if events are unavailable). */
export const POLL_MS = 1000;

/**
 * Snapshots of a job (without its file list: `files` is empty): one now, then one after every
 * burst of events for it (manager.events()) or, when nothing arrived for `pollMs`, one read
 * anew. Progress events update the last snapshot in place; every state the job enters is shown;
 * the job is read again (files-less, so the cost does not grow with its files) only when its
 * state changed, and on a silent poll. One poll timer runs at a time and events do not restart
 * it: a job of 1,000 small files sends an event per file (it sent two), and a timer, an
 * AbortSignal and its DOMException per wake-up were most of the CLI's CPU while it waited. Ends
 * when `signal` aborts; a failed read (e.g. the job was cancelled elsewhere) throws.
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
  /** Progress arrived since the last snapshot (patched in), and the states entered (each shown). */
  let progressed = false;
  const states: JobState[] = [];
  const waker: { wake: (() => void) | null } = { wake: null };
  // Progress events carry the live byte count; a re-read job may lag behind (it shows the last
  // checkpoint), so the newest event's progress is shown while the job is moving bytes.
  let live: JobProgress | null = null;
  void (async () => {
    try {
      for await (const event of manager.events({ jobId, signal: stop.signal })) {
        if (event.type === 'job:progress') {
          live = event.progress;
          progressed = true;
        } else if (event.type === 'job:state') {
          live = null;
          states.push(event.state);
        } else continue;
        waker.wake?.();
      }
    } catch {
      // No event stream (or it broke): polling alone keeps the snapshots coming.
    }
  })();
  const read = async (): Promise<JobInfo> => withLive(await manager.getJob(jobId, { files: false }), live);
  try {
    let last = await read();
    yield last;
    /** The running poll wait (null once it ended) and whether events came during it. */
    let poll: Promise<void> | null = null;
    let pollDone = false;
    let heardSincePoll = false;
    while (!stop.signal.aborted) {
      if (!progressed && states.length === 0) {
        if (poll === null) {
          pollDone = false;
          poll = options.sleep(options.pollMs ?? POLL_MS, stop.signal).then(() => {
            pollDone = true;
          });
        }
        const woken = new Promise<void>((resolve) => {
          waker.wake = resolve;
        });
        await Promise.race([poll, woken]);
        waker.wake = null;
      }
      if (stop.signal.aborted) break;
      const polled = pollDone && !progressed && states.length === 0;
      if (pollDone) poll = null;
      if (polled && heardSincePoll) {
        // The poll is a fallback for a silent stream; this one was not silent.
        heardSincePoll = false;
        continue;
      }
      heardSincePoll = !polled;
      if (states.length > 0) {
        // Every state the job entered is shown, even one it has left by now (a short
        // TRANSIENT_ERROR); the last one with the job as read now when it is still in it.
        const entered = states.splice(0);
        const now = await read();
        for (const state of entered.slice(0, -1)) {
          last = { ...last, state, error: null };
          yield last;
        }
        const state = entered.at(-1) as JobState;
        last = now.state === state ? now : { ...last, state, error: null };
      } else if (progressed && live !== null) last = withLive(last, live);
      else last = await read();
      progressed = false;
      yield last;
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
