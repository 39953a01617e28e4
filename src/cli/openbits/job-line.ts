import { type JobInfo, SIZE_UNKNOWN } from '../bits-vocabulary.ts';
import { humanDuration, humanRate, humanSize, type RateMeter } from '../human.ts';

/** `{C775D194}` → `c775d194`: the short id shown in lists (any unique prefix is accepted back). */
export function shortId(id: string): string {
  return id.replace(/[{}]/gu, '').slice(0, 8).toLowerCase();
}

/**
 * One line per job, as `openbits ls` and `watch` show it:
 * `c775d194  nightly.iso   TRANSFERRING  45%  43.1 MiB / 95.7 MiB  11.8 MiB/s  ETA 0:05`.
 */
export function jobLine(job: JobInfo, meter?: RateMeter): string {
  const { bytesTotal, bytesTransferred, filesTotal, filesTransferred } = job.progress;
  const known = bytesTotal !== SIZE_UNKNOWN;
  const pct = known ? `${bytesTotal === 0 ? 100 : Math.floor((bytesTransferred / bytesTotal) * 100)}%` : '?%';
  const sizes = `${humanSize(bytesTransferred)} / ${known ? humanSize(bytesTotal) : '?'}`;
  const parts = [
    shortId(job.id),
    job.displayName.length > 24 ? `${job.displayName.slice(0, 23)}…` : job.displayName.padEnd(24),
    job.state.padEnd(15),
    pct.padStart(4),
    sizes.padEnd(21),
    `${filesTransferred}/${filesTotal} files`,
  ];
  const rate = job.state === 'TRANSFERRING' ? meter?.rate() : undefined;
  if (rate !== undefined) {
    parts.push(humanRate(rate).padStart(12));
    if (known) parts.push(`ETA ${humanDuration(meter?.eta(bytesTotal - bytesTransferred) ?? Number.NaN)}`);
  }
  if (job.error !== null) parts.push(`${job.error.name}: ${job.error.message}`);
  return parts.join('  ').trimEnd();
}
