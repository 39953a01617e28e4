// bitsd's metrics module (issue 17) fed by the manager's event sequence, read back through the
// text exposition a scraper gets. The end-to-end scrape of a real bitsd is in test/daemon.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ManagerEvent } from '../../src/api/bits-manager.ts';
import type { JobPriority, JobState, JobType } from '../../src/core/index.ts';
import { type MetricsSources, ServiceMetrics } from '../../src/service/metrics/service-metrics.ts';
import { MemoryJobStore } from '../../src/store/index.ts';
import { metricNames, metricValue } from '../helpers/prometheus.ts';
import { TestClock } from '../helpers/test-clock.ts';
import { caller, createJob, file, T0 } from '../store/store-fixtures.ts';

interface StoredJob {
  type: JobType;
  state: JobState;
  priority: JobPriority;
  bytesTransferred: number;
  errorName: string | null;
}

/** A queue the sources read, changed by the test as a store would be before each event. */
function world() {
  const jobs = new Map<string, StoredJob>();
  let subscribers = 0;
  const sources: MetricsSources = {
    *jobCounts() {
      for (const j of jobs.values()) yield { state: j.state, priority: j.priority, count: 1 };
    },
    subscribers: () => subscribers,
    job: (id) => jobs.get(id),
  };
  return {
    jobs,
    sources,
    setSubscribers(n: number) {
      subscribers = n;
    },
  };
}

function progress(jobId: string, bytes: number): ManagerEvent {
  return {
    type: 'job:progress',
    jobId,
    progress: { bytesTotal: 1 << 30, bytesTransferred: bytes, filesTotal: 1, filesTransferred: 0 },
  };
}

/** Move a stored job to `state` and tell the metrics, as the transition step does after COMMIT. */
function enter(m: ServiceMetrics, w: ReturnType<typeof world>, id: string, state: JobState, errorName?: string): void {
  const job = w.jobs.get(id);
  assert.ok(job);
  const previous = job.state;
  job.state = state;
  job.errorName = errorName ?? null;
  m.onEvent({ type: 'job:state', jobId: id, state, previous });
}

describe('ServiceMetrics', () => {
  it('declares the documented families, and nothing from a global registry', async () => {
    const w = world();
    const m = new ServiceMetrics({ clock: new TestClock(), sources: w.sources, version: '9.9.9' });
    try {
      const text = await m.text();
      assert.deepEqual(metricNames(text).sort(), [
        'nodejs_eventloop_lag_seconds',
        'openbits_checkpoint_seconds',
        'openbits_event_subscribers',
        'openbits_info',
        'openbits_job_errors_total',
        'openbits_job_retries_total',
        'openbits_job_state_changes_total',
        'openbits_jobs',
        'openbits_store_commit_seconds',
        'openbits_transfer_rate_bytes_per_second',
        'openbits_transferred_bytes_total',
        'openbits_webhook_attempts_total',
        'process_resident_memory_bytes',
      ]);
      assert.equal(metricValue(text, 'openbits_info', { version: '9.9.9' }), 1);
      assert.ok(metricValue(text, 'process_resident_memory_bytes') > 10 * 1024 * 1024, 'a real RSS');
      assert.equal(metricValue(text, 'openbits_jobs', { state: 'QUEUED', priority: 'LOW' }), 0, 'zeros are shown');
    } finally {
      m.close();
    }
  });

  it('jobs by state and priority, subscribers: read from the sources at scrape time', async () => {
    const w = world();
    const m = new ServiceMetrics({ clock: new TestClock(), sources: w.sources, version: '1' });
    try {
      const base = { type: 'DOWNLOAD' as const, bytesTransferred: 0, errorName: null };
      w.jobs.set('a', { ...base, state: 'QUEUED', priority: 'LOW' });
      w.jobs.set('b', { ...base, state: 'QUEUED', priority: 'LOW' });
      w.jobs.set('c', { ...base, state: 'SUSPENDED', priority: 'FOREGROUND' });
      w.setSubscribers(3);
      const text = await m.text();
      assert.equal(metricValue(text, 'openbits_jobs', { state: 'QUEUED', priority: 'LOW' }), 2);
      assert.equal(metricValue(text, 'openbits_jobs', { state: 'SUSPENDED', priority: 'FOREGROUND' }), 1);
      assert.equal(metricValue(text, 'openbits_jobs'), 3);
      assert.equal(metricValue(text, 'openbits_event_subscribers'), 3);
      w.jobs.delete('a');
      w.setSubscribers(0);
      const later = await m.text();
      assert.equal(metricValue(later, 'openbits_jobs', { state: 'QUEUED', priority: 'LOW' }), 1, 'a gauge, not a sum');
      assert.equal(metricValue(later, 'openbits_event_subscribers'), 0);
    } finally {
      m.close();
    }
  });

  it('bytes by direction from progress deltas; a run resumes counting from its checkpoint; the rate averages whole seconds', async () => {
    const w = world();
    const clock = new TestClock();
    const m = new ServiceMetrics({ clock, sources: w.sources, version: '1', rateWindowSeconds: 10 });
    try {
      w.jobs.set('d', { type: 'DOWNLOAD', state: 'QUEUED', priority: 'NORMAL', bytesTransferred: 0, errorName: null });
      w.jobs.set('u', { type: 'UPLOAD', state: 'QUEUED', priority: 'NORMAL', bytesTransferred: 0, errorName: null });
      enter(m, w, 'd', 'CONNECTING');
      enter(m, w, 'u', 'CONNECTING');
      for (let s = 0; s < 10; s++) {
        clock.advance(1000);
        m.onEvent(progress('d', (s + 1) * 1_000_000));
        m.onEvent(progress('u', (s + 1) * 100_000));
      }
      clock.advance(1000);
      let text = await m.text();
      assert.equal(metricValue(text, 'openbits_transferred_bytes_total', { direction: 'download' }), 10_000_000);
      assert.equal(metricValue(text, 'openbits_transferred_bytes_total', { direction: 'upload' }), 1_000_000);
      assert.equal(metricValue(text, 'openbits_transfer_rate_bytes_per_second', { direction: 'download' }), 1_000_000);
      assert.equal(metricValue(text, 'openbits_transfer_rate_bytes_per_second', { direction: 'upload' }), 100_000);

      // bitsd restarts the run: the store's checkpoint says 8 MB; the new run counts from there.
      const d = w.jobs.get('d');
      assert.ok(d);
      d.bytesTransferred = 8_000_000;
      enter(m, w, 'd', 'QUEUED');
      enter(m, w, 'd', 'CONNECTING');
      m.onEvent(progress('d', 9_000_000));
      // The file changed on the server: progress falls to 0 and nothing is counted for it.
      m.onEvent(progress('d', 0));
      m.onEvent(progress('d', 500_000));
      clock.advance(20_000);
      text = await m.text();
      assert.equal(metricValue(text, 'openbits_transferred_bytes_total', { direction: 'download' }), 11_500_000);
      assert.equal(metricValue(text, 'openbits_transfer_rate_bytes_per_second', { direction: 'download' }), 0, 'idle');
    } finally {
      m.close();
    }
  });

  it('a state event that carries the committed record is counted from it, without asking the store', async () => {
    const w = world();
    const m = new ServiceMetrics({ clock: new TestClock(), sources: w.sources, version: '1' });
    try {
      const store = new MemoryJobStore();
      const job = createJob(store, 1);
      store.addFiles(job.id, [file(1)], caller());
      store.applyTransition(job.id, { expected: 'SUSPENDED', event: 'resume', now: T0 + 1 });
      const picked = store.applyTransition(job.id, { expected: 'QUEUED', event: 'pick', now: T0 + 2 });
      store.saveCheckpoint(job.id, 0, 8_000_000, T0 + 3);
      const connecting = store.getJob(job.id);
      assert.ok(connecting !== undefined && picked.state === 'CONNECTING');
      // The sources know no such job: what is counted can only come from the record.
      m.onEvent({ type: 'job:state', jobId: job.id, state: 'CONNECTING', previous: 'QUEUED' }, connecting);
      m.onEvent(progress(job.id, 9_000_000));
      const text = await m.text();
      assert.equal(metricValue(text, 'openbits_transferred_bytes_total', { direction: 'download' }), 1_000_000);
    } finally {
      m.close();
    }
  });

  it('errors by code and kind, retries by the code they follow, state entries, created jobs', async () => {
    const w = world();
    const m = new ServiceMetrics({ clock: new TestClock(), sources: w.sources, version: '1' });
    try {
      w.jobs.set('j', {
        type: 'DOWNLOAD',
        state: 'SUSPENDED',
        priority: 'NORMAL',
        bytesTransferred: 0,
        errorName: null,
      });
      m.onEvent({ type: 'job:created', jobId: 'j' });
      enter(m, w, 'j', 'QUEUED');
      enter(m, w, 'j', 'CONNECTING');
      enter(m, w, 'j', 'TRANSIENT_ERROR', 'ERROR_INTERNET_CANNOT_CONNECT');
      enter(m, w, 'j', 'QUEUED');
      enter(m, w, 'j', 'CONNECTING');
      enter(m, w, 'j', 'ERROR', 'BG_E_HTTP_ERROR_404');
      enter(m, w, 'j', 'CANCELLED');
      const text = await m.text();
      assert.equal(
        metricValue(text, 'openbits_job_errors_total', { code: 'ERROR_INTERNET_CANNOT_CONNECT', kind: 'transient' }),
        1,
      );
      assert.equal(metricValue(text, 'openbits_job_errors_total', { code: 'BG_E_HTTP_ERROR_404', kind: 'fatal' }), 1);
      assert.equal(metricValue(text, 'openbits_job_retries_total', { code: 'ERROR_INTERNET_CANNOT_CONNECT' }), 1);
      assert.equal(metricValue(text, 'openbits_job_retries_total'), 1, 'QUEUED from SUSPENDED is no retry');
      assert.equal(metricValue(text, 'openbits_job_state_changes_total', { state: 'CREATED' }), 1);
      assert.equal(metricValue(text, 'openbits_job_state_changes_total', { state: 'CONNECTING' }), 2);
      assert.equal(metricValue(text, 'openbits_job_state_changes_total', { state: 'CANCELLED' }), 1);
    } finally {
      m.close();
    }
  });

  it('checkpoint and commit latency histograms time on the injected clock', async () => {
    const clock = new TestClock();
    const m = new ServiceMetrics({ clock, sources: world().sources, version: '1' });
    try {
      const done = m.time('checkpoint');
      clock.advance(30);
      done();
      m.observe('commit', 0.002);
      m.observe('commit', 3);
      const text = await m.text();
      assert.equal(metricValue(text, 'openbits_checkpoint_seconds_count'), 1);
      assert.equal(metricValue(text, 'openbits_checkpoint_seconds_bucket', { le: '0.025' }), 0);
      assert.equal(metricValue(text, 'openbits_checkpoint_seconds_bucket', { le: '0.05' }), 1);
      assert.equal(metricValue(text, 'openbits_store_commit_seconds_count'), 2);
      assert.equal(metricValue(text, 'openbits_store_commit_seconds_bucket', { le: '0.0025' }), 1);
      assert.equal(metricValue(text, 'openbits_store_commit_seconds_sum'), 3.002);
    } finally {
      m.close();
    }
  });

  it('two instances in one process count apart', async () => {
    const a = new ServiceMetrics({ clock: new TestClock(), sources: world().sources, version: 'a' });
    const b = new ServiceMetrics({ clock: new TestClock(), sources: world().sources, version: 'b' });
    try {
      a.onEvent({ type: 'job:created', jobId: 'x' });
      assert.equal(metricValue(await a.text(), 'openbits_job_state_changes_total', { state: 'CREATED' }), 1);
      assert.equal(metricValue(await b.text(), 'openbits_job_state_changes_total', { state: 'CREATED' }), 0);
      assert.equal(metricValue(await b.text(), 'openbits_info', { version: 'a' }), 0);
    } finally {
      a.close();
      b.close();
    }
  });
});
