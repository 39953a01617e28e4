import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualNetworkSource } from '../../src/scheduler/network.ts';
import { createManager } from '../../src/service/manager.ts';
import { bitsadmin } from '../cli/helpers.ts';
import { tempDir } from '../helpers/manager-harness.ts';
import { TestClock } from '../helpers/test-clock.ts';

const open = () => createManager({ home: tempDir(), clock: new TestClock(), network: new ManualNetworkSource(true) });

describe('manager regressions', () => {
  it('SetCredentials for SERVER and PROXY at the same time: both are kept', async () => {
    // Bug: setCredentials read the job's credentials before taking the job's lock, so two calls
    // in flight both merged into the same old list and the second write dropped the first.
    const m = await open();
    try {
      const job = await m.createJob('creds');
      await Promise.all([
        m.setCredentials(job.id, { target: 'SERVER', scheme: 'BASIC', userName: 'web', password: 'w' }),
        m.setCredentials(job.id, { target: 'PROXY', scheme: 'BASIC', userName: 'proxy', password: 'p' }),
      ]);
      const kept = (await m.getJob(job.id)).credentials.map((c) => `${c.target}/${c.userName}`).sort();
      assert.deepEqual(kept, ['PROXY/proxy', 'SERVER/web']);
      // And a removal racing an addition keeps the addition.
      await Promise.all([
        m.removeCredentials(job.id, 'SERVER', 'BASIC'),
        m.setCredentials(job.id, { target: 'SERVER', scheme: 'DIGEST', userName: 'dig', password: 'd' }),
      ]);
      const after = (await m.getJob(job.id)).credentials.map((c) => `${c.target}/${c.scheme}`).sort();
      assert.deepEqual(after, ['PROXY/BASIC', 'SERVER/DIGEST']);
    } finally {
      await m.close();
    }
  });

  it('getJob of an UPLOAD_REPLY job carries its reply progress; /info /verbose prints it', async () => {
    // Bug: toJobInfo was never given the reply, so JobInfo.replyProgress was always null and
    // bitsadmin /info /verbose always printed REPLY BYTES: UNKNOWN.
    const m = await open();
    try {
      const reply = await m.createJob('reply', 'UPLOAD_REPLY');
      const plain = await m.createJob('plain', 'UPLOAD');
      assert.deepEqual((await m.getJob(reply.id)).replyProgress, await m.getReplyProgress(reply.id));
      assert.deepEqual((await m.getJob(reply.id)).replyProgress, { bytesTotal: -1, bytesTransferred: 0 });
      assert.equal((await m.getJob(plain.id)).replyProgress, null);
      assert.deepEqual((await m.enumJobs()).find((j) => j.id === reply.id)?.replyProgress, {
        bytesTotal: -1,
        bytesTransferred: 0,
      });
      const info = await bitsadmin(m, ['/info', reply.id, '/verbose']);
      assert.match(info.stdout, /^REPLY FILE: NULL REPLY BYTES: 0 \/ UNKNOWN$/mu);
    } finally {
      await m.close();
    }
  });
});
