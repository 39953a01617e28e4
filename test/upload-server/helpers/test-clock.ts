import type { Clock, TimerHandle } from '../../../src/core/clock.ts';

/** A clock the test moves by hand: timers fire only inside `advance`, so tests never sleep. */
export class TestClock implements Clock {
  #mono = 1_000_000;
  #wall: number;
  #timers: Array<{ at: number; ms: number; fn: () => void; cancelled: boolean }> = [];

  constructor(wallStartMs = Date.UTC(2026, 10, 21, 8, 0, 0)) {
    this.#wall = wallStartMs;
  }

  monotonicMs(): number {
    return this.#mono;
  }

  wallMs(): number {
    return this.#wall;
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const t = { at: this.#mono + ms, ms, fn, cancelled: false };
    this.#timers.push(t);
    return {
      cancel: () => {
        t.cancelled = true;
      },
    };
  }

  /** Pending (not cancelled) timers. */
  get pending(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }

  /** Pending timers that were set with exactly this delay (to wait until code armed one). */
  pendingWithDelay(ms: number): number {
    return this.#timers.filter((t) => !t.cancelled && t.ms === ms).length;
  }

  /** Move both clocks forward, firing due timers in order. */
  advance(ms: number): void {
    const end = this.#mono + ms;
    for (;;) {
      const due = this.#timers.filter((t) => !t.cancelled && t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.#wall += due.at - this.#mono;
      this.#mono = due.at;
      due.cancelled = true;
      due.fn();
    }
    this.#wall += end - this.#mono;
    this.#mono = end;
    this.#timers = this.#timers.filter((t) => !t.cancelled);
  }
}
