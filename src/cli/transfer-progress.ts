import { createRequire } from 'node:module';
import { type JobInfo, SIZE_UNKNOWN, systemClock } from './bits-vocabulary.ts';
import { sizeText } from './format-job.ts';
import { humanDuration, humanRate, humanSize, RateMeter } from './human.ts';

/** Shows a /transfer job's progress as it moves. */
export interface ProgressView {
  update(job: JobInfo): void;
  /** Leaves the last state on screen; later output goes below it. */
  stop(): void;
}

function percent(job: JobInfo): string {
  const { bytesTotal, bytesTransferred } = job.progress;
  if (bytesTotal === SIZE_UNKNOWN) return '';
  if (bytesTotal === 0) return ' (100%)';
  return ` (${Math.floor((bytesTransferred / bytesTotal) * 100)}%)`;
}

/** ` RATE: 12.3 MiB/s ETA: 0:07` while bytes move and a rate is known; '' otherwise. */
function rateText(job: JobInfo, meter: RateMeter | undefined): string {
  if (meter === undefined || job.state !== 'TRANSFERRING') return '';
  const rate = meter.rate();
  // No byte moved yet (a loaded machine can print TRANSFERRING before the first one): no rate.
  if (rate === undefined || rate <= 0) return '';
  const { bytesTotal, bytesTransferred } = job.progress;
  const eta = bytesTotal === SIZE_UNKNOWN ? undefined : meter.eta(bytesTotal - bytesTransferred);
  return ` RATE: ${humanRate(rate)} ETA: ${humanDuration(eta ?? Number.NaN)}`;
}

/**
 * `STATE: TRANSFERRING FILES: 0 / 1 BYTES: 1234 / 10000 (12%) RATE: 1.2 MiB/s ETA: 0:07` —
 * bitsadmin's exact byte counts (scripts read them), then the rate and time left.
 */
export function progressLine(job: JobInfo, meter?: RateMeter): string {
  const p = job.progress;
  return `STATE: ${job.state} FILES: ${p.filesTransferred} / ${p.filesTotal} BYTES: ${p.bytesTransferred} / ${sizeText(p.bytesTotal)}${percent(job)}${rateText(job, meter)}`;
}

/** `Transferred 95.7 MiB (1 file) in 0:08, 11.8 MiB/s.` — the line after a finished transfer. */
export function summaryLine(job: JobInfo, elapsedMs: number): string {
  const { bytesTransferred, filesTransferred } = job.progress;
  const seconds = elapsedMs / 1000;
  const rate = seconds > 0 ? ` at ${humanRate(bytesTransferred / seconds)}` : '';
  const files = `${filesTransferred} file${filesTransferred === 1 ? '' : 's'}`;
  return `Transferred ${humanSize(bytesTransferred)} (${files}) in ${humanDuration(Math.max(1, seconds))}${rate}.`;
}

/**
 * Plain lines for a pipe or a file: a line when the state changes, otherwise at most one every
 * `intervalMs`.
 */
export function plainProgress(write: (line: string) => void, now: () => number, intervalMs = 1000): ProgressView {
  let lastState = '';
  let lastAt = Number.NEGATIVE_INFINITY;
  let lastBytes = -1;
  const meter = new RateMeter();
  return {
    update(job) {
      const t = now();
      meter.sample(t, job.progress.bytesTransferred);
      if (job.state === lastState && (t - lastAt < intervalMs || job.progress.bytesTransferred === lastBytes)) return;
      lastState = job.state;
      lastAt = t;
      lastBytes = job.progress.bytesTransferred;
      write(progressLine(job, meter));
    },
    stop() {},
  };
}

/** A live cli-progress bar for a terminal: sizes in IEC units, rate and time left. */
export function barProgress(
  stream: NodeJS.WritableStream,
  columns: number | undefined,
  now: () => number = systemClock.monotonicMs,
): ProgressView {
  // cli-progress (and readline with it) only when a terminal shows a bar.
  const cliProgress = createRequire(import.meta.url)('cli-progress') as typeof import('cli-progress');
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: '{state} [{bar}] {pct} {bytes} {rate} ETA {eta} files {files}',
      barsize: Math.max(10, Math.min(40, (columns ?? 80) - 80)),
      hideCursor: true,
      gracefulExit: false,
      clearOnComplete: false,
      linewrap: false,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  const meter = new RateMeter();
  let started = false;
  return {
    update(job) {
      const { bytesTotal, bytesTransferred, filesTotal, filesTransferred } = job.progress;
      meter.sample(now(), bytesTransferred);
      const known = bytesTotal !== SIZE_UNKNOWN;
      const total = known ? Math.max(bytesTotal, 1) : 1;
      const value = known ? (bytesTotal === 0 ? 1 : bytesTransferred) : 0;
      const rate = meter.rate();
      const payload = {
        state: job.state.padEnd(12),
        pct: known ? `${Math.floor((value / total) * 100)}%`.padStart(4) : ' ?%',
        bytes: `${humanSize(bytesTransferred)} / ${known ? humanSize(bytesTotal) : '?'}`.padEnd(21),
        rate: (rate === undefined ? '' : humanRate(rate)).padStart(12),
        eta: humanDuration(known ? (meter.eta(bytesTotal - bytesTransferred) ?? Number.NaN) : Number.NaN),
        files: `${filesTransferred}/${filesTotal}`,
      };
      if (!started) {
        bar.start(total, value, payload);
        started = true;
      } else {
        bar.setTotal(total);
        bar.update(value, payload);
      }
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}
