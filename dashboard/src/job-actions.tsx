import { api, type JobInfo } from './api.ts';

const PRIORITIES = ['FOREGROUND', 'HIGH', 'NORMAL', 'LOW'] as const;

/**
 * The buttons, and the states each one shows in (the service is the judge; this only hides what
 * cannot apply). Cancel asks first: it deletes the partial files.
 */
const ACTIONS: ReadonlyArray<{
  readonly name: 'resume' | 'suspend' | 'complete' | 'cancel';
  readonly label: string;
  readonly class?: string;
  readonly shown: (state: string) => boolean;
  readonly confirm?: (job: JobInfo) => string;
}> = [
  { name: 'resume', label: 'Resume', shown: (s) => ['SUSPENDED', 'ERROR', 'TRANSIENT_ERROR'].includes(s) },
  {
    name: 'suspend',
    label: 'Suspend',
    shown: (s) => !['SUSPENDED', 'TRANSFERRED', 'ACKNOWLEDGED', 'CANCELLED'].includes(s),
  },
  {
    name: 'complete',
    label: 'Complete',
    class: 'primary',
    shown: (s) => ['TRANSFERRED', 'ERROR', 'SUSPENDED'].includes(s),
  },
  {
    name: 'cancel',
    label: 'Cancel',
    class: 'danger',
    shown: (s) => s !== 'ACKNOWLEDGED' && s !== 'CANCELLED',
    confirm: (job) => `Cancel "${job.displayName}"? Its partial files are deleted.`,
  },
];

function run(action: () => Promise<unknown>, onError: (message: string) => void): void {
  action().catch((err: unknown) => onError(err instanceof Error ? err.message : String(err)));
}

export function JobActions({ job, onError }: { job: JobInfo; onError(message: string): void }) {
  return (
    <span class="actions">
      {ACTIONS.filter((a) => a.shown(job.state)).map((a) => (
        <button
          key={a.name}
          type="button"
          class={a.class}
          data-action={a.name}
          onClick={() => {
            if (a.confirm === undefined || confirm(a.confirm(job))) run(() => api[a.name](job.id), onError);
          }}
        >
          {a.label}
        </button>
      ))}
    </span>
  );
}

export function PrioritySelect({ job, onError }: { job: JobInfo; onError(message: string): void }) {
  return (
    <select
      data-testid="priority"
      value={job.priority}
      onChange={(e) => run(() => api.setPriority(job.id, (e.target as HTMLSelectElement).value), onError)}
    >
      {PRIORITIES.map((p) => (
        <option key={p} value={p}>
          {p}
        </option>
      ))}
    </select>
  );
}
