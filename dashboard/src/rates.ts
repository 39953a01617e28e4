/**
 * Transfer rate per job from the progress events the page sees: bytes over the last few
 * seconds of samples (events arrive at most 10 per second per job).
 */
const WINDOW_MS = 5_000;

export class Rates {
  readonly #samples = new Map<string, Array<[number, number]>>();

  /** A progress value seen at `now` (performance.now in the page). */
  sample(jobId: string, bytesTransferred: number, now: number): void {
    let s = this.#samples.get(jobId);
    if (s === undefined) {
      s = [];
      this.#samples.set(jobId, s);
    }
    const last = s[s.length - 1];
    if (last !== undefined && bytesTransferred < last[1]) s.length = 0; // restarted from 0
    s.push([now, bytesTransferred]);
    while (s.length > 2 && (s[0]?.[0] ?? now) < now - WINDOW_MS) s.shift();
  }

  /** Bytes per second, or undefined without two samples in the window. */
  rate(jobId: string, now: number): number | undefined {
    const s = this.#samples.get(jobId);
    if (s === undefined || s.length < 2) return undefined;
    const first = s[0] as [number, number];
    const last = s[s.length - 1] as [number, number];
    if (now - last[0] > WINDOW_MS) return 0; // nothing for a while: stalled
    const dt = (last[0] - first[0]) / 1000;
    return dt > 0 ? (last[1] - first[1]) / dt : undefined;
  }

  forget(jobId: string): void {
    this.#samples.delete(jobId);
  }
}
