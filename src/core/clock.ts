/**
 * Time, injected. Core reads no clock; the scheduler and the engine get a Clock, and tests pass
 * one they advance by hand. Timers run on the monotonic clock so a wall-clock jump changes
 * nothing (bits-client.md §5.2 SetMinimumRetryDelay).
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
