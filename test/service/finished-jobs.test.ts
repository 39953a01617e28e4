// Issue 12 item 7: a job that reached ACKNOWLEDGED or CANCELLED answers its getters by id, as a
// BITS job pointer the caller still holds does, for FINISHED_JOB_RETENTION_MS; then it is gone.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BitsError, FINISHED_JOB_RETENTION_MS } from '../../src/core/index.ts';
import { ManualNetworkSource } from '../../src/scheduler/network.ts';
import { createManager } from '../../src/service/manager.ts';
import { tempDir } from '../helpers/manager-harness.ts';
import { TestClock } from '../helpers/test-clock.ts';

const notFound = (err: unknown): boolean => err instanceof BitsError && err.name === 'BG_E_NOT_FOUND';

describe('finished jobs (issue 12 item 7)', () => {
  it('stay readable by id after Complete, across a restart, until the retention ends', async () => {
    const home = tempDir();
    const clock = new TestClock();
    const open = () => createManager({ home, clock, network: new ManualNetworkSource(true) });
    let m = await open();
    const job = await m.createJob('kept');
    await m.addFile(job.id, 'http://127.0.0.1:9/x', join(tempDir(), 'x'));
    assert.equal(await m.complete(job.id), 'BG_S_PARTIAL_COMPLETE');
    await m.close();

    m = await open();
    try {
      await assert.rejects(m.getJob(job.id), notFound, 'GetJob: the job left the queue');
      assert.equal(await m.getState(job.id), 'ACKNOWLEDGED');
      clock.advance(FINISHED_JOB_RETENTION_MS - 3_600_000);
      assert.equal(await m.getState(job.id), 'ACKNOWLEDGED');
      // The hourly sweep after the retention removes it.
      clock.advance(2 * 3_600_000);
      await assert.rejects(m.getState(job.id), notFound);
      await assert.rejects(m.getProgress(job.id), notFound);
    } finally {
      await m.close();
    }
  });
});
