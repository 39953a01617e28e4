import { systemClock } from '../../src/core/clock.ts';
import type { Job } from '../../src/core/index.ts';
import { type RunOutcome, type RunReports, runDownloadJob } from '../../src/service/download-runner.ts';
import { transferOptionsOf } from '../../src/service/transfer-options.ts';

/** One run of a download job through runDownloadJob, 1 MiB checkpoints, the system clock, no limiter. */
export function runFileJob(job: Job, report: RunReports): Promise<RunOutcome> {
  return runDownloadJob({
    job,
    options: transferOptionsOf(job, { checkpointBytes: 1 << 20, checkpointMs: 60_000 }),
    clock: systemClock,
    signal: new AbortController().signal,
    limiter: null,
    report,
  });
}
