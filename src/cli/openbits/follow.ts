import { type BitsManager, formatJobId, type JobInfo, systemClock } from '../bits-vocabulary.ts';
import { errorText } from '../error-text.ts';
import { RateMeter } from '../human.ts';
import { sleep as realSleep } from '../sleep.ts';
import { barProgress, type ProgressView, summaryLine } from '../transfer-progress.ts';
import { watchJob } from '../watch-job.ts';
import type { OpenbitsIo } from './io.ts';
import { jobLine, shortId } from './job-line.ts';

/** Exit code after Ctrl-C (128 + SIGINT). */
const INTERRUPTED = 130;

/** Plain lines for a pipe: one when the state changes, else at most one a second. */
function lineProgress(io: OpenbitsIo, now: () => number): ProgressView {
  const meter = new RateMeter();
  let lastState = '';
  let lastAt = Number.NEGATIVE_INFINITY;
  return {
    update(job: JobInfo) {
      const t = now();
      meter.sample(t, job.progress.bytesTransferred);
      if (job.state === lastState && t - lastAt < 1000) return;
      lastState = job.state;
      lastAt = t;
      io.stdout.write(`${jobLine(job, meter)}\n`);
    },
    stop() {},
  };
}

/**
 * `openbits get` in the foreground: a progress bar (a line a second on a pipe) until the job is
 * transferred, then Complete and a summary line; an error cancels it (exit 1); Ctrl-C
 * suspends it and says how to go on (exit 130).
 */
export async function followJob(
  io: OpenbitsIo,
  manager: BitsManager,
  created: JobInfo,
  options: { quiet: boolean },
): Promise<number> {
  const now = io.now ?? systemClock.monotonicMs;
  const startedAt = now();
  const view: ProgressView = options.quiet
    ? { update() {}, stop() {} }
    : io.isTTY
      ? barProgress(io.stdout, io.columns, now)
      : lineProgress(io, now);
  try {
    for await (const job of watchJob(manager, created.id, { signal: io.signal, sleep: io.sleep ?? realSleep })) {
      view.update(job);
      if (job.state === 'TRANSFERRED') {
        view.stop();
        const result = await manager.complete(job.id);
        const note = result === 'S_OK' ? '' : ` (${result})`;
        if (!options.quiet) io.stdout.write(`${summaryLine(job, now() - startedAt)}${note}\n`);
        return 0;
      }
      if (job.state === 'ERROR') {
        view.stop();
        const error = job.error ?? (await manager.getError(job.id));
        await manager.cancel(job.id).catch(() => undefined);
        io.stderr.write(`openbits: ${errorText(error)}\n`);
        return 1;
      }
    }
  } finally {
    view.stop();
  }
  await manager.suspend(created.id).catch(() => undefined);
  io.stderr.write(
    `\nopenbits: suspended ${formatJobId(created.id)}; go on with \`openbits resume ${shortId(created.id)}\` and \`openbits watch ${shortId(created.id)}\`\n`,
  );
  return INTERRUPTED;
}
