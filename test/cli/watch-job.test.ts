import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BitsManager, JobInfo, ManagerEvent } from '../../src/api/bits-manager.ts';
import { EventQueue } from '../../src/api/event-queue.ts';
import { watchJob } from '../../src/cli/watch-job.ts';
import { makeManager } from './helpers.ts';

// watchJob (what /transfer and `openbits get` follow a job with) must cost O(1) per event: a job
// of 1,000 small files sends two events per file, and a timer, an AbortSignal and a DOMException
// per wake-up were most of the CLI's CPU while it waited (issue 11). The manager here is a real
// in-process one for the job; its events come from the test, so the pacing can be counted.

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !check(); i++) await new Promise((r) => setImmediate(r));
  assert.ok(check());
}

describe('watchJob', () => {
  it('keeps one poll timer through a burst of progress events and re-reads only after a silent poll', async () => {
    const real = await makeManager();
    const created = await real.createJob('watched', 'DOWNLOAD');
    const events = new EventQueue<ManagerEvent>();
    let reads = 0;
    const manager = {
      events: () => events,
      getJob: async (id: string, options?: { files?: boolean }): Promise<JobInfo> => {
        reads++;
        assert.equal(options?.files, false, 'watchJob never reads the file list');
        return { ...(await real.getJob(id, options)), state: 'TRANSFERRING' };
      },
    } as unknown as BitsManager;
    const polls: Array<() => void> = [];
    const sleep = (_ms: number, signal?: AbortSignal): Promise<void> =>
      new Promise((resolve) => {
        polls.push(resolve);
        signal?.addEventListener('abort', () => resolve(), { once: true });
      });
    const stop = new AbortController();
    const seen: JobInfo[] = [];
    const done = (async () => {
      for await (const job of watchJob(manager, created.id, { signal: stop.signal, sleep })) seen.push(job);
    })();
    await until(() => polls.length === 1);
    const progress = (bytes: number): ManagerEvent => ({
      type: 'job:progress',
      jobId: created.id,
      progress: { bytesTotal: 1000, bytesTransferred: bytes, filesTotal: 0, filesTransferred: 0 },
    });
    for (let i = 1; i <= 100; i++) {
      events.push(progress(i));
      await until(() => seen.at(-1)?.progress.bytesTransferred === i);
    }
    assert.equal(polls.length, 1, 'one poll timer for the whole burst');
    assert.equal(reads, 1, 'progress events patch the snapshot; nothing is read again');

    polls[0]?.();
    await until(() => polls.length === 2);
    assert.equal(reads, 1, 'events came during that poll: no read');
    polls[1]?.();
    await until(() => reads === 2);
    stop.abort();
    await done;
  });
});
