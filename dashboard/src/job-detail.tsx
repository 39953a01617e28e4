import type { JobInfo } from './api.ts';
import { duration, hresult, time } from './format.ts';
import { JobActions } from './job-actions.tsx';
import { ProgressBar } from './job-list.tsx';

function Row({ label, children }: { label: string; children: preact.ComponentChildren }) {
  return (
    <tr>
      <th>{label}</th>
      <td>{children}</td>
    </tr>
  );
}

export function JobDetail({ job, onError }: { job: JobInfo; onError(message: string): void }) {
  return (
    <section class="detail" data-testid="detail">
      <h2>
        {job.displayName || '(no name)'} <span class={`state state-${job.state}`}>{job.state}</span>
      </h2>
      <JobActions job={job} onError={onError} />
      {job.error !== null && (
        <div class="error-box" data-testid="job-error">
          <strong>{job.error.name}</strong> ({hresult(job.error.hresult)}, {job.error.context}) — {job.error.message}
          {job.error.file !== null && <div>file: {job.error.file.remoteName}</div>}
        </div>
      )}
      <table class="props">
        <tbody>
          <Row label="Id">
            <code>{job.id}</code>
          </Row>
          <Row label="Type">{job.type}</Row>
          <Row label="Owner">{job.owner}</Row>
          <Row label="Priority">{job.priority}</Row>
          <Row label="Errors so far">{job.errorCount}</Row>
          <Row label="Created">{time(job.times.creationTime)}</Row>
          <Row label="Modified">{time(job.times.modificationTime)}</Row>
          <Row label="Transferred">{time(job.times.transferCompletionTime)}</Row>
          <Row label="Minimum retry delay">{duration(job.minimumRetryDelay)}</Row>
          <Row label="No-progress timeout">{duration(job.noProgressTimeout)}</Row>
          <Row label="Maximum download time">{duration(job.maximumDownloadTime)}</Row>
          {job.maxBandwidth > 0 && <Row label="Bandwidth cap">{job.maxBandwidth} B/s</Row>}
          {job.webhooks.length > 0 && <Row label="Webhooks">{job.webhooks.map((h) => h.url).join(' ')}</Row>}
        </tbody>
      </table>
      <h3>Files</h3>
      <table class="files">
        <thead>
          <tr>
            <th>#</th>
            <th>Remote</th>
            <th>Local</th>
            <th class="wide">Progress</th>
          </tr>
        </thead>
        <tbody>
          {job.files.map((f) => (
            <tr key={f.index} data-testid="file">
              <td>{f.index}</td>
              <td class="url">{f.remoteName}</td>
              <td class="path">{f.localName}</td>
              <td class="wide">
                <ProgressBar done={f.progress.bytesTransferred} total={f.progress.bytesTotal} />
                {f.progress.completed && ' ✓'}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
