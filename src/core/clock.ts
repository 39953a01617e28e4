/**
 * Time, injected. Core's logic reads no clock; the scheduler, the engines and the servers get a
 * Clock, and tests pass one they advance by hand. Timers run on the monotonic clock so a
 * wall-clock jump changes nothing (bits-client.md §5.2 SetMinimumRetryDelay).
 *
 * This module is also the one place that reads the real time: `systemClock` is the Clock every
 * process injects at its edge, and `test/clock-guard.test.ts` fails on `Date.now()`,
 * `new Date()` or `performance.now()` anywhere else in src/.
 */
export interface Clock {
  /** Monotonic milliseconds: only differences mean anything. */
  monotonicMs(): number;
  /** Wall-clock epoch milliseconds, for timestamps shown to people. */
  wallMs(): number;
  /** Call `fn` after `ms` monotonic milliseconds. */
  setTimer(ms: number, fn: () => void): TimerHandle;
}

export interface TimerHandle {
  cancel(): void;
}

/** setTimeout's ceiling (2^31-1 ms, ~24.8 days): a longer delay fires at once (and warns). */
export const MAX_TIMEOUT_MS = 0x7fffffff;

/**
 * The real clock: performance.now() for monotonic time, Date.now() for wall time. Timers are
 * unref'd (a pending retry never keeps a process alive), and delays past setTimeout's ceiling
 * (MaxDownloadTime's 90 days, a 24 h Cancel-Session window) are waited out in steps instead of
 * firing at once.
 */
export const systemClock: Clock = {
  monotonicMs: () => performance.now(),
  wallMs: () => Date.now(),
  setTimer(ms: number, fn: () => void): TimerHandle {
    let timer: ReturnType<typeof setTimeout>;
    const arm = (left: number): void => {
      timer =
        left > MAX_TIMEOUT_MS ? setTimeout(() => arm(left - MAX_TIMEOUT_MS), MAX_TIMEOUT_MS) : setTimeout(fn, left);
      timer.unref?.();
    };
    arm(Math.max(0, ms));
    return { cancel: () => clearTimeout(timer) };
  },
};
