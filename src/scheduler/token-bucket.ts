import type { Clock, RateLimiter, TimerHandle } from '../core/index.ts';

interface Waiter {
  bytes: number;
  resolve: () => void;
  reject: (err: unknown) => void;
  signal: AbortSignal;
  onAbort: () => void;
}

/**
 * A token bucket on the injected clock: `rate` bytes per second with a burst of at most
 * `burstMs` of it (a tenth of a second unless told; ≥ 16 KiB). Transfers `take()` before they read on, so an empty bucket stops
 * reading and TCP pushes back on the server. Waiters are served strictly in order, so jobs that
 * share one bucket get fair shares. A rate of 0 blocks until the rate changes; Infinity is
 * unlimited.
 */
export class TokenBucket implements RateLimiter {
  readonly #clock: Clock;
  #rate: number;
  #tokens: number;
  #last: number;
  readonly #queue: Waiter[] = [];
  readonly #onLimited = new Set<() => void>();
  #timer: TimerHandle | null = null;
  readonly #burstMs: number;

  constructor(clock: Clock, bytesPerSecond: number, options: { burstMs?: number } = {}) {
    this.#clock = clock;
    this.#rate = bytesPerSecond;
    this.#burstMs = options.burstMs ?? 100;
    this.#last = clock.monotonicMs();
    this.#tokens = this.#burst();
  }

  get rate(): number {
    return this.#rate;
  }

  /** Whether a take is waiting for tokens now (the rate is what holds its taker back). */
  get waiting(): boolean {
    return this.#queue.length > 0;
  }

  /** Change the rate; waiters are re-timed at once. */
  setRate(bytesPerSecond: number): void {
    this.#refill();
    const began = !Number.isFinite(this.#rate) && Number.isFinite(bytesPerSecond);
    this.#rate = bytesPerSecond;
    this.#tokens = Math.min(this.#tokens, this.#burst());
    this.#pump();
    if (began) for (const listener of [...this.#onLimited]) listener();
  }

  onLimited(listener: () => void): () => void {
    this.#onLimited.add(listener);
    return () => this.#onLimited.delete(listener);
  }

  #burst(): number {
    if (!Number.isFinite(this.#rate)) return Number.POSITIVE_INFINITY;
    return Math.max(16 * 1024, (this.#rate * this.#burstMs) / 1000);
  }

  #refill(): void {
    const now = this.#clock.monotonicMs();
    if (Number.isFinite(this.#rate)) {
      this.#tokens = Math.min(this.#burst(), this.#tokens + ((now - this.#last) * this.#rate) / 1000);
    }
    this.#last = now;
  }

  isUnlimited(): boolean {
    return !Number.isFinite(this.#rate);
  }

  take(bytes: number, signal: AbortSignal): Promise<void> | null {
    if (!Number.isFinite(this.#rate) || bytes <= 0) return null;
    if (signal.aborted) return Promise.reject(signal.reason);
    // A limited take always goes through the queue and a promise, granted or not: the reader's
    // pause after each chunk is part of how a throttled or yielding transfer behaves (S6, S15).
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        bytes,
        resolve,
        reject,
        signal,
        onAbort: () => {
          const i = this.#queue.indexOf(waiter);
          if (i >= 0) this.#queue.splice(i, 1);
          reject(signal.reason);
          this.#pump();
        },
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
      this.#queue.push(waiter);
      this.#pump();
    });
  }

  /** Serve waiters in order; a take larger than the burst runs the bucket into debt, paid before the next. */
  #pump(): void {
    this.#timer?.cancel();
    this.#timer = null;
    this.#refill();
    while (this.#queue.length > 0) {
      if (!Number.isFinite(this.#rate)) {
        for (const w of this.#queue.splice(0)) this.#grant(w);
        return;
      }
      const head = this.#queue[0] as Waiter;
      if (this.#tokens > 0 || this.#tokens >= Math.min(head.bytes, this.#burst())) {
        this.#queue.shift();
        this.#tokens -= head.bytes;
        this.#grant(head);
        continue;
      }
      if (this.#rate <= 0) return;
      const waitMs = Math.max(1, ((1 - this.#tokens) * 1000) / this.#rate);
      this.#timer = this.#clock.setTimer(waitMs, () => {
        this.#timer = null;
        this.#pump();
      });
      return;
    }
  }

  #grant(w: Waiter): void {
    w.signal.removeEventListener('abort', w.onAbort);
    w.resolve();
  }
}

/** Several limiters at once (machine-wide and per-job): a take waits for each in turn. */
export function combineLimiters(limiters: ReadonlyArray<RateLimiter | null>): RateLimiter | null {
  const active = limiters.filter((l): l is RateLimiter => l !== null);
  if (active.length === 0) return null;
  if (active.length === 1) return active[0] as RateLimiter;
  return {
    take(bytes: number, signal: AbortSignal): Promise<void> | null {
      // Each in turn; a promise only once one of them makes the reader wait.
      for (let i = 0; i < active.length; i++) {
        const wait = (active[i] as RateLimiter).take(bytes, signal);
        if (wait !== null) return wait.then(() => takeRest(active, i + 1, bytes, signal));
      }
      return null;
    },
    isUnlimited: () => active.every((l) => l.isUnlimited?.() === true),
    onLimited(listener: () => void): () => void {
      const stops = active.map((l) => l.onLimited?.(listener));
      return () => {
        for (const stop of stops) stop?.();
      };
    },
  };
}

/** The takes of `limiters[from…]`, one after another. */
async function takeRest(
  limiters: readonly RateLimiter[],
  from: number,
  bytes: number,
  signal: AbortSignal,
): Promise<void> {
  for (let i = from; i < limiters.length; i++) await (limiters[i] as RateLimiter).take(bytes, signal);
}
