/** Sizes, rates and durations as people read them (IEC units, as `ls -h` and curl). */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 0 B, 999 B, 1.0 KiB, 12.3 MiB, 1.50 GiB … (three significant digits). */
export function humanSize(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '?';
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${bytes} B`;
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${UNITS[unit]}`;
}

/** `12.3 MiB/s`. */
export function humanRate(bytesPerSecond: number): string {
  return `${humanSize(Math.round(bytesPerSecond))}/s`;
}

/** `0:07`, `12:03`, `1:02:03`; `--:--` when unknown. */
export function humanDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

/**
 * Transfer rate over a sliding window (default 5 s) of byte counts, and the time left at that
 * rate. Counts that go down (a file restarted from 0) restart the window.
 */
export class RateMeter {
  readonly #windowMs: number;
  #samples: Array<{ at: number; bytes: number }> = [];

  constructor(windowMs = 5_000) {
    this.#windowMs = windowMs;
  }

  sample(at: number, bytes: number): void {
    const last = this.#samples.at(-1);
    if (last !== undefined && bytes < last.bytes) this.#samples = [];
    this.#samples.push({ at, bytes });
    while (this.#samples.length > 2 && at - (this.#samples[1]?.at ?? at) >= this.#windowMs) this.#samples.shift();
  }

  /** Bytes per second, or undefined before two samples a moment apart. */
  rate(): number | undefined {
    const first = this.#samples[0];
    const last = this.#samples.at(-1);
    if (first === undefined || last === undefined || last.at - first.at < 200) return undefined;
    return ((last.bytes - first.bytes) * 1000) / (last.at - first.at);
  }

  /** Seconds left for `remaining` bytes, or undefined. */
  eta(remaining: number): number | undefined {
    const rate = this.rate();
    return rate === undefined || rate <= 0 || remaining < 0 ? undefined : remaining / rate;
  }
}
