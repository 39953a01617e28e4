/**
 * The openbits dashboard: the job list, live from bitsd's event stream; a job's detail; a new
 * download; the policy. Bundled by dashboard/build.ts (esbuild) into one script.
 */
import { render } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api, forgetToken, type JobInfo, type ManagerEvent, takeToken, watchEvents } from './api.ts';
import { CreateJob } from './create-job.tsx';
import { JobDetail } from './job-detail.tsx';
import { JobList } from './job-list.tsx';
import { PolicyView } from './policy-view.tsx';
import { Rates } from './rates.ts';

type View = 'jobs' | 'create' | 'policy';

function App() {
  const [unauthorized, setUnauthorized] = useState(false);
  const [jobs, setJobs] = useState<Map<string, JobInfo>>(new Map());
  const [view, setView] = useState<View>('jobs');
  const [selected, setSelected] = useState<string | undefined>(undefined);
  const [live, setLive] = useState(false);
  const [version, setVersion] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [rates, setRates] = useState<Map<string, number | undefined>>(new Map());
  const rateTracker = useRef(new Rates());
  const refreshing = useRef(new Map<string, boolean>());

  const put = useCallback((job: JobInfo) => setJobs((m) => new Map(m).set(job.id, job)), []);
  const drop = useCallback((id: string) => {
    rateTracker.current.forget(id);
    setJobs((m) => {
      const next = new Map(m);
      next.delete(id);
      return next;
    });
  }, []);

  /**
   * Re-read one job; a final job (completed, cancelled) is gone: BG_E_NOT_FOUND. One read per job
   * at a time; an event that arrives during a read asks for one more read after it, so the last
   * change is never answered by a read that started before it.
   */
  const refresh = useCallback(
    (id: string) => {
      const pending = refreshing.current;
      if (pending.has(id)) {
        pending.set(id, true);
        return;
      }
      pending.set(id, false);
      api
        .job(id)
        .then(put, (err: unknown) => {
          if (err instanceof ApiError && err.code === 'BG_E_NOT_FOUND') drop(id);
        })
        .finally(() => {
          const again = pending.get(id) === true;
          pending.delete(id);
          if (again) refresh(id);
        });
    },
    [put, drop],
  );

  const reloadAll = useCallback(() => {
    api.jobs().then(
      (list) => setJobs(new Map(list.map((j) => [j.id, j]))),
      (err: Error) => setError(err.message),
    );
  }, []);

  useEffect(() => {
    api.status().then(
      (s) => setVersion(s.version),
      () => undefined,
    );
    const onEvent = (e: ManagerEvent) => {
      if (e.type === 'job:progress') {
        rateTracker.current.sample(e.jobId, e.progress.bytesTransferred, performance.now());
        setJobs((m) => {
          const job = m.get(e.jobId);
          return job === undefined ? m : new Map(m).set(e.jobId, { ...job, progress: e.progress });
        });
        return;
      }
      refresh(e.jobId);
    };
    const stop = watchEvents({
      onEvent,
      onReady: () => {
        setLive(true);
        reloadAll();
      },
      onDown: (refused) => {
        setLive(false);
        if (refused) {
          forgetToken();
          setUnauthorized(true);
        }
      },
    });
    // Rates decay to "stalled" without events: recompute them every second.
    const tick = setInterval(() => {
      setJobs((m) => {
        const now = performance.now();
        setRates(new Map([...m.keys()].map((id) => [id, rateTracker.current.rate(id, now)])));
        return m;
      });
    }, 1000);
    return () => {
      stop();
      clearInterval(tick);
    };
  }, [refresh, reloadAll]);

  if (unauthorized) return <SignIn reason="This browser's token was refused (the token may have been reset)." />;
  const list = [...jobs.values()].sort((a, b) => a.times.creationTime - b.times.creationTime);
  const current = selected === undefined ? undefined : jobs.get(selected);

  return (
    <>
      <header>
        <h1>openbits</h1>
        <nav>
          {(['jobs', 'create', 'policy'] as const).map((v) => (
            <button type="button" key={v} class={view === v ? 'active' : ''} data-nav={v} onClick={() => setView(v)}>
              {v === 'jobs' ? 'Jobs' : v === 'create' ? 'New download' : 'Policy'}
            </button>
          ))}
        </nav>
        <span class={live ? 'live on' : 'live'} data-testid="live" title="event stream">
          {live ? '● live' : '○ reconnecting'}
        </span>
        <span class="version">{version && `bitsd ${version}`}</span>
      </header>
      {error !== undefined && (
        <div class="error-box" role="alert">
          {error}{' '}
          <button type="button" onClick={() => setError(undefined)}>
            dismiss
          </button>
        </div>
      )}
      <main>
        {view === 'create' && (
          <CreateJob
            onCreated={(id) => {
              refresh(id);
              setSelected(id);
              setView('jobs');
            }}
          />
        )}
        {view === 'policy' && <PolicyView />}
        {view === 'jobs' && (
          <>
            <JobList jobs={list} live={{ rates }} selected={selected} onSelect={setSelected} onError={setError} />
            {current !== undefined && <JobDetail job={current} onError={setError} />}
          </>
        )}
      </main>
    </>
  );
}

/** Shown without a (valid) token. */
function SignIn({ reason }: { reason: string }) {
  return (
    <main class="login" data-testid="sign-in">
      <h1>openbits</h1>
      <p>{reason}</p>
      <p class="hint">
        Open the address that <code>openbits dashboard</code> prints: it carries your token after the <code>#</code>,
        which never leaves this browser except in calls to this dashboard.
      </p>
    </main>
  );
}

const root = document.getElementById('app') as HTMLElement;
render(takeToken() === undefined ? <SignIn reason="No token yet." /> : <App />, root);
