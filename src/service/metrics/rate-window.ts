/**
 * A moving average of bytes per second over the last whole seconds, in one-second buckets on the
 * monotonic clock: adding is O(1) and allocates nothing, so a progress event pays almost nothing.
 */
export class RateWindow {
  readonly #seconds: number;
  /** bucket[i] holds the bytes of second `stamp[i]`; i = second mod size. */
  readonly #bytes: Float64Array;
  readonly #stamp: Float64Array;

  constructor(seconds = 10) {
    this.#seconds = seconds;
    this.#bytes = new Float64Array(seconds + 1);
    this.#stamp = new Float64Array(seconds + 1).fill(-1);
  }

  /** Count `bytes` at monotonic time `nowMs`. */
  add(bytes: number, nowMs: number): void {
    const second = Math.floor(nowMs / 1000);
    const i = second % this.#bytes.length;
    if (this.#stamp[i] !== second) {
      this.#stamp[i] = second;
      this.#bytes[i] = 0;
    }
    this.#bytes[i] = (this.#bytes[i] ?? 0) + bytes;
  }

  /** Bytes per second over the last `seconds` whole seconds before `nowMs` (the current one excluded). */
  rate(nowMs: number): number {
    const current = Math.floor(nowMs / 1000);
    let sum = 0;
    for (let i = 0; i < this.#bytes.length; i++) {
      const s = this.#stamp[i] ?? -1;
      if (s < current && s >= current - this.#seconds) sum += this.#bytes[i] ?? 0;
    }
    return sum / this.#seconds;
  }
}
