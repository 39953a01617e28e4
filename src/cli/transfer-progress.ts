import cliProgress from 'cli-progress';
import { type JobInfo, SIZE_UNKNOWN } from './bits-vocabulary.ts';
import { sizeText } from './format-job.ts';

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

/** `STATE: TRANSFERRING FILES: 0 / 1 BYTES: 1234 / 10000 (12%)` */
export function progressLine(job: JobInfo): string {
  const p = job.progress;
  return `STATE: ${job.state} FILES: ${p.filesTransferred} / ${p.filesTotal} BYTES: ${p.bytesTransferred} / ${sizeText(p.bytesTotal)}${percent(job)}`;
}

/**
 * Plain lines for a pipe or a file: a line when the state changes, otherwise at most one every
 * `intervalMs`.
 */
export function plainProgress(write: (line: string) => void, now: () => number, intervalMs = 1000): ProgressView {
  let lastState = '';
  let lastAt = Number.NEGATIVE_INFINITY;
  let lastLine = '';
  return {
    update(job) {
      const line = progressLine(job);
      const t = now();
      if (job.state === lastState && (t - lastAt < intervalMs || line === lastLine)) return;
      lastState = job.state;
      lastAt = t;
      lastLine = line;
      write(line);
    },
    stop() {},
  };
}

/** A live cli-progress bar for a terminal. */
export function barProgress(stream: NodeJS.WritableStream, columns: number | undefined): ProgressView {
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: '{state} [{bar}] {pct} | {bytes} bytes | files {files}',
      barsize: Math.max(10, Math.min(40, (columns ?? 80) - 70)),
      hideCursor: true,
      gracefulExit: false,
      clearOnComplete: false,
      linewrap: false,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(job) {
      const { bytesTotal, bytesTransferred, filesTotal, filesTransferred } = job.progress;
      const known = bytesTotal !== SIZE_UNKNOWN;
      const total = known ? Math.max(bytesTotal, 1) : 1;
      const value = known ? (bytesTotal === 0 ? 1 : bytesTransferred) : 0;
      const payload = {
        state: job.state.padEnd(15),
        pct: known ? `${Math.floor((value / total) * 100)}%`.padStart(4) : ' ?%',
        bytes: `${bytesTransferred} / ${sizeText(bytesTotal)}`,
        files: `${filesTransferred} / ${filesTotal}`,
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
