import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ManagerEvent } from '../../src/api/bits-manager.ts';
import { BitsError } from '../../src/core/index.ts';
import { ManualNetworkSource } from '../../src/scheduler/network.ts';
import { createManager } from '../../src/service/manager.ts';
import { failCommitsInto } from '../helpers/commit-fault.ts';
import { FileServer } from '../helpers/file-server.ts';
import { tempDir, waitForState } from '../helpers/manager-harness.ts';
import { TestClock } from '../helpers/test-clock.ts';
import { until } from '../helpers/until.ts';

let server: FileServer;
before(async () => {
  server = await FileServer.start();
});
after(async () => {
  await server.close();
});

// The transition step publishes events and runs the notify command line only after its store
// verb committed. Here the COMMIT itself fails, in the real SQLite database (a deferred foreign
// key checked at COMMIT): nothing of the refused state may reach a subscriber or the notify
// program, and the caller gets the error.
describe('transition step: events and notify only after COMMIT', () => {
  it('a Resume whose COMMIT fails: the caller gets E_FAIL, no event, the job stays SUSPENDED and is not run', async () => {
    const home = tempDir();
    const m = await createManager({ home, clock: new TestClock(), network: new ManualNetworkSource(true) });
    try {
      const path = '/commit-resume.bin';
      server.add(path, 1000);
      const job = await m.createJob('commit-fails');
      await m.addFile(job.id, server.url(path), join(tempDir(), 'out.bin'));
      const seen: ManagerEvent[] = [];
      m.subscribe((e) => seen.push(e), { jobId: job.id });
      const fault = failCommitsInto(join(home, 'jobs.db'), 'QUEUED');
      await assert.rejects(
        m.resume(job.id),
        (err: unknown) => err instanceof BitsError && err.name === 'E_FAIL' && /FOREIGN KEY/u.test(err.message),
      );
      assert.equal(seen.length, 0, `an event left before the COMMIT: ${JSON.stringify(seen)}`);
      assert.equal((await m.getJob(job.id)).state, 'SUSPENDED');
      // The scheduler never heard of a QUEUED job: the next resume is the first request.
      fault.remove();
      await m.resume(job.id);
      await waitForState(m, job.id, 'TRANSFERRED');
      assert.equal(server.hits.get(path), 1);
      assert.deepEqual(
        seen.filter((e) => e.type === 'job:state').map((e) => (e.type === 'job:state' ? e.state : '')),
        ['QUEUED', 'CONNECTING', 'TRANSFERRING', 'TRANSFERRED'],
      );
    } finally {
      await m.close();
    }
  });

  it('a TRANSFERRED whose COMMIT fails: no job:transferred, no notify for it; the run records ERROR instead', async () => {
    const home = tempDir();
    const work = tempDir();
    const m = await createManager({ home, clock: new TestClock(), network: new ManualNetworkSource(true) });
    try {
      const path = '/commit-transferred.bin';
      server.add(path, 2000);
      const marker = join(work, 'notified.txt');
      const job = await m.createJob('notify-after-commit');
      await m.addFile(job.id, server.url(path), join(work, 'out.bin'));
      await m.setNotifyCmdLine(job.id, '/bin/sh', `-c 'echo "$BITS_JOB_STATE" >> ${marker}'`);
      const seen: ManagerEvent[] = [];
      m.subscribe((e) => seen.push(e), { jobId: job.id });
      const fault = failCommitsInto(join(home, 'jobs.db'), 'TRANSFERRED');
      try {
        await m.resume(job.id);
        await waitForState(m, job.id, 'ERROR');
        // The notify program runs for the ERROR that was stored; wait for it, then look.
        await until(() => existsSync(marker) && readFileSync(marker, 'utf8').includes('ERROR'), 'the notify program');
      } finally {
        fault.remove();
      }
      assert.equal(readFileSync(marker, 'utf8'), 'ERROR\n', 'the notify program ran for a TRANSFERRED never stored');
      assert.ok(!seen.some((e) => e.type === 'job:transferred'), 'job:transferred was published');
      assert.ok(!seen.some((e) => e.type === 'job:state' && e.state === 'TRANSFERRED'), 'job:state TRANSFERRED');
      const error = await m.getError(job.id);
      assert.equal(error.name, 'E_FAIL');
      assert.match(error.message, /FOREIGN KEY/u);
      assert.equal((await m.getJob(job.id)).state, 'ERROR');
    } finally {
      await m.close();
    }
  });
});
