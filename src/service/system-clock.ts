import type { Clock, TimerHandle } from '../core/index.ts';

/** setTimeout's ceiling (2^31-1 ms, ~24.8 days); longer delays would fire at once. */
const MAX_TIMEOUT_MS = 0x7fffffff;

/** The real clock: performance.now() for monotonic time, Date.now() for wall time. */
export const systemClock: Clock = {
  monotonicMs: () => performance.now(),
  wallMs: () => Date.now(),
  setTimer(ms: number, fn: () => void): TimerHandle {
    // Delays beyond the ceiling (MaxDownloadTime's 90 days) are waited out in steps.
    const due = performance.now() + Math.max(0, ms);
    let t: NodeJS.Timeout;
    const arm = (): void => {
      const left = due - performance.now();
      if (left > MAX_TIMEOUT_MS) t = setTimeout(arm, MAX_TIMEOUT_MS);
      else t = setTimeout(fn, Math.max(0, left));
      t.unref();
    };
    arm();
    return { cancel: () => clearTimeout(t) };
  },
};
