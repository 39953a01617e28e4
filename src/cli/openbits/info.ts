import { formatHresult, formatJobId, formatTransferPolicy, type JobInfo, SIZE_UNKNOWN } from '../bits-vocabulary.ts';
import { humanSize } from '../human.ts';

function when(epochMs: number | null): string {
  return epochMs === null ? '-' : new Date(epochMs).toLocaleString();
}

/** `openbits info JOB`: the properties people look for, then one line per file. */
export function infoText(job: JobInfo): string {
  const p = job.progress;
  const size = (n: number): string => (n === SIZE_UNKNOWN ? '?' : `${humanSize(n)} (${n} bytes)`);
  const lines = [
    `id:        ${formatJobId(job.id)}`,
    `name:      ${job.displayName}`,
    `type:      ${job.type.toLowerCase()}`,
    `state:     ${job.state}`,
    `priority:  ${job.priority.toLowerCase()}`,
    `progress:  ${size(p.bytesTransferred)} of ${size(p.bytesTotal)}, ${p.filesTransferred} of ${p.filesTotal} files`,
    `created:   ${when(job.times.creationTime)}`,
    `modified:  ${when(job.times.modificationTime)}`,
    `finished:  ${when(job.times.transferCompletionTime)}`,
    `file mode: ${job.fileMode === null ? 'umask' : `0${job.fileMode.toString(8)}`}`,
    `connections: ${job.maxConnections} per file`,
    `transfer:  ${job.costFlags === null ? 'policy default' : formatTransferPolicy(job.costFlags)} (network costs)`,
  ];
  if (job.description !== '') lines.push(`note:      ${job.description}`);
  const y = job.yielding;
  if (y !== null) {
    const rate = y.rate === null ? '' : ` at ${humanSize(y.rate)}/s`;
    const via = y.interface === null ? '' : ` on ${y.interface}`;
    lines.push(`yielding:  ${y.mode}${rate}${via}${y.note === null ? '' : ` (${y.note})`}`);
  }
  if (job.error !== null) {
    lines.push(`error:     ${job.error.name} (${formatHresult(job.error.hresult)}) ${job.error.message}`);
  }
  lines.push('files:');
  for (const f of job.files) {
    const total = f.progress.bytesTotal === SIZE_UNKNOWN ? '?' : humanSize(f.progress.bytesTotal);
    const mark = f.progress.completed ? 'done' : `${humanSize(f.progress.bytesTransferred)} / ${total}`;
    lines.push(`  ${f.remoteName} -> ${f.localName}  [${mark}]`);
    if (f.segments !== null && !f.progress.completed) {
      const parts = f.segments.map((s) => `${humanSize(s.done - s.start)}/${humanSize(s.end - s.start)}`);
      lines.push(`    parts: ${parts.join(' ')}`);
    }
  }
  return lines.join('\n');
}
