import type { Clock, TimerHandle } from '../core/index.ts';

/**
 * A timeout on the injected Clock for one phase of a request (headers, body idle): `touch()`
 * pushes the deadline back; on expiry `onExpire` runs once with an error carrying undici's code
 * for that phase, so the failure table classifies it like undici's own timeout.
 */
export class PhaseTimer {
  readonly #clock: Clock;
  readonly #ms: number;
  readonly #code: string;
  readonly #onExpire: (err: Error) => void;
  #last: number;
  #timer: TimerHandle | null = null;
  #done = false;

  constructor(clock: Clock, ms: number, code: string, onExpire: (err: Error) => void) {
    this.#clock = clock;
    this.#ms = ms;
    this.#code = code;
    this.#onExpire = onExpire;
    this.#last = clock.monotonicMs();
    this.#arm(ms);
  }

  /** Activity: the deadline moves to now + ms (re-armed lazily when the timer fires). */
  touch(): void {
    this.#last = this.#clock.monotonicMs();
  }

  cancel(): void {
    this.#done = true;
    this.#timer?.cancel();
    this.#timer = null;
  }

  #arm(ms: number): void {
    this.#timer = this.#clock.setTimer(ms, () => {
      if (this.#done) return;
      const left = this.#last + this.#ms - this.#clock.monotonicMs();
      if (left > 0) {
        this.#arm(left);
        return;
      }
      this.#done = true;
      const err = Object.assign(new Error(`${this.#code}: no activity for ${this.#ms} ms`), { code: this.#code });
      this.#onExpire(err);
    });
  }
}
