import type { JobInfo } from './api.ts';
import { bytes, duration, percent, rate } from './format.ts';
import { JobActions, PrioritySelect } from './job-actions.tsx';

export interface Live {
  /** Bytes per second, per job. */
  readonly rates: ReadonlyMap<string, number | undefined>;
}

function ProgressBar({ done, total }: { done: number; total: number }) {
  const p = percent(done, total);
  return (
    <div class="progress" title={p === undefined ? 'size unknown' : `${p.toFixed(1)} %`}>
      <div class={p === undefined ? 'bar unknown' : 'bar'} style={{ width: `${p ?? 100}%` }} />
      <span>
        {bytes(done)} / {bytes(total)}
      </span>
    </div>
  );
}

export { ProgressBar };

/** Seconds left at the current rate, when both the size and a rate are known. */
export function eta(job: JobInfo, bytesPerSecond: number | undefined): number | undefined {
  const { bytesTotal, bytesTransferred } = job.progress;
  if (bytesTotal < 0 || bytesPerSecond === undefined || bytesPerSecond <= 0) return undefined;
  return (bytesTotal - bytesTransferred) / bytesPerSecond;
}

export function JobList(props: {
  jobs: JobInfo[];
  live: Live;
  selected: string | undefined;
  onSelect(id: string): void;
  onError(message: string): void;
}) {
  if (props.jobs.length === 0) {
    return <p class="empty">No jobs. Create a download to start one.</p>;
  }
  return (
    <table class="jobs">
      <thead>
        <tr>
          <th>Name</th>
          <th>State</th>
          <th>Priority</th>
          <th class="wide">Progress</th>
          <th>Rate</th>
          <th>ETA</th>
          <th>Actions</th>
        </tr>
      </thead>
      <tbody>
        {props.jobs.map((job) => {
          const r = props.live.rates.get(job.id);
          const active = job.state === 'TRANSFERRING' || job.state === 'CONNECTING';
          return (
            <tr key={job.id} data-job-id={job.id} class={job.id === props.selected ? 'selected' : ''}>
              <td class="name" title={job.id}>
                <button type="button" class="link" data-action="open" onClick={() => props.onSelect(job.id)}>
                  {job.displayName || <em>(no name)</em>}
                </button>
              </td>
              <td>
                <span class={`state state-${job.state}`} data-testid="state">
                  {job.state}
                </span>
              </td>
              <td>
                <PrioritySelect job={job} onError={props.onError} />
              </td>
              <td class="wide">
                <ProgressBar done={job.progress.bytesTransferred} total={job.progress.bytesTotal} />
              </td>
              <td data-testid="rate">{active ? rate(r) : ''}</td>
              <td data-testid="eta">{active ? duration(eta(job, r)) : ''}</td>
              <td>
                <JobActions job={job} onError={props.onError} />
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
