import type { Clock, TimerHandle } from '../../src/core/index.ts';

/**
 * A clock tests advance by hand: timers fire in due order during advance(), never on their
 * own, so retry delays and timeouts are tested without sleeping.
 */
export class TestClock implements Clock {
  #now = 0;
  #wall: number;
  #seq = 0;
  #timers = new Map<number, { due: number; ms: number; fn: () => void }>();

  constructor(wallStart = Date.UTC(2026, 10, 21, 12, 0, 0)) {
    this.#wall = wallStart;
  }

  monotonicMs(): number {
    return this.#now;
  }

  wallMs(): number {
    return this.#wall + this.#now;
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const id = ++this.#seq;
    this.#timers.set(id, { due: this.#now + Math.max(0, ms), ms, fn });
    return { cancel: () => this.#timers.delete(id) };
  }

  /** Timers still pending. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Pending timers set with exactly this delay (to wait until the code under test armed one). */
  pendingWithDelay(ms: number): number {
    let n = 0;
    for (const t of this.#timers.values()) if (t.ms === ms) n++;
    return n;
  }

  /** Move the wall clock only (a clock jump): timers are unaffected. */
  jumpWall(ms: number): void {
    this.#wall += ms;
  }

  /** Advance time by `ms`, firing due timers in order (and ones they schedule within the span). */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let next: [number, { due: number; ms: number; fn: () => void }] | undefined;
      for (const entry of this.#timers) {
        if (entry[1].due <= end && (next === undefined || entry[1].due < next[1].due)) next = entry;
      }
      if (next === undefined) break;
      this.#timers.delete(next[0]);
      this.#now = Math.max(this.#now, next[1].due);
      next[1].fn();
    }
    this.#now = end;
  }
}
