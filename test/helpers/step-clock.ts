import type { Clock, TimerHandle } from '../../src/core/index.ts';

/** A Clock that only moves when a test calls `advance`: timeouts are tested without sleeping. */
export class StepClock implements Clock {
  #now = 0;
  #wall = Date.now();
  #timers: Array<{ at: number; fn: () => void; live: boolean }> = [];

  monotonicMs(): number {
    return this.#now;
  }

  wallMs(): number {
    return this.#wall + this.#now;
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const t = { at: this.#now + Math.max(0, ms), fn, live: true };
    this.#timers.push(t);
    return {
      cancel: () => {
        t.live = false;
      },
    };
  }

  /** Live timers (for a test to wait until the code under test armed one). */
  get pending(): number {
    return this.#timers.filter((t) => t.live).length;
  }

  /** Move time forward, firing due timers in order (timers they arm fire too if due). */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      const due = this.#timers.filter((t) => t.live && t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.#now = Math.max(this.#now, due.at);
      due.live = false;
      due.fn();
    }
    this.#now = end;
    this.#timers = this.#timers.filter((t) => t.live);
  }
}

/** The real clock, for tests that move real data (nginx) and never assert on time. */
export const realClock: Clock = {
  monotonicMs: () => performance.now(),
  wallMs: () => Date.now(),
  setTimer: (ms, fn) => {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  },
};
