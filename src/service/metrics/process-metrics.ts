import { type ELDHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { Gauge, type Registry } from './prom-classes.ts';

/**
 * Resident set size and event-loop lag, read at scrape time. prom-client's
 * collectDefaultMetrics would do it too, but it starts an event-loop monitor that is never
 * stopped; this one stops with the service (several services in one test process stay clean).
 */
export class ProcessMetrics {
  readonly #loop: ELDHistogram;

  constructor(registry: Registry) {
    // 20 ms sampling: fine enough to see a stalled loop, cheap enough to leave on.
    this.#loop = monitorEventLoopDelay({ resolution: 20 });
    this.#loop.enable();
    const registers = [registry];
    new Gauge({
      name: 'process_resident_memory_bytes',
      help: 'Resident memory size in bytes',
      registers,
      collect() {
        this.set(process.memoryUsage.rss());
      },
    });
    const loop = this.#loop;
    new Gauge({
      name: 'nodejs_eventloop_lag_seconds',
      help: 'Event-loop delay since the previous scrape: p50, p99 and max (quantile "1")',
      labelNames: ['quantile'],
      registers,
      collect() {
        // An idle loop has no samples yet: report 0 rather than the histogram's NaN/huge min.
        const seconds = (ns: number): number => (Number.isFinite(ns) && loop.count > 0 ? ns / 1e9 : 0);
        this.set({ quantile: '0.5' }, seconds(loop.percentile(50)));
        this.set({ quantile: '0.99' }, seconds(loop.percentile(99)));
        this.set({ quantile: '1' }, seconds(loop.max));
        loop.reset();
      },
    });
  }

  close(): void {
    this.#loop.disable();
  }
}
