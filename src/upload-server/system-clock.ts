import type { Clock, TimerHandle } from '../core/clock.ts';

/**
 * The real clock for the upload server (core stays pure; the server layer may not import the
 * daemon's). Timers are unref'd so a pending session sweep never keeps a process alive.
 */
export const systemClock: Clock = {
  monotonicMs: () => performance.now(),
  wallMs: () => Date.now(),
  setTimer(ms: number, fn: () => void): TimerHandle {
    const t = setTimeout(fn, Math.max(0, Math.min(ms, 2 ** 31 - 1)));
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};
