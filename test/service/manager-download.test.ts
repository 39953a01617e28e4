import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BitsError } from '../../src/core/index.ts';
import { ManualNetworkSource } from '../../src/scheduler/network.ts';
import { createManager, type InProcessManager } from '../../src/service/manager.ts';
import { FileServer, sha256 } from '../helpers/file-server.ts';
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

async function open(clock = new TestClock()): Promise<{ m: InProcessManager; clock: TestClock; home: string }> {
  const home = tempDir();
  const m = await createManager({ home, clock, network: new ManualNetworkSource(true) });
  return { m, clock, home };
}

const rejectsWith = async (p: Promise<unknown>, name: string): Promise<void> => {
  await assert.rejects(p, (err: unknown) => err instanceof BitsError && err.name === name);
};

describe('in-process manager: downloads (bits-client.md §18)', () => {
  it('§18.1 a new job is SUSPENDED with BITS defaults; duplicate names allowed; 257-char name rejected', async () => {
    const { m } = await open();
    const a = await m.createJob('same');
    const b = await m.createJob('same');
    assert.notEqual(a.id, b.id);
    assert.equal(a.state, 'SUSPENDED');
    assert.equal(a.priority, 'NORMAL');
    assert.equal(a.minimumRetryDelay, 600);
    assert.equal(a.noProgressTimeout, 1_209_600);
    assert.equal(a.maximumDownloadTime, 7_776_000);
    assert.equal(a.notifyFlags, 3);
    assert.equal(a.proxy.usage, 'PRECONFIG');
    await rejectsWith(m.createJob('x'.repeat(257)), 'E_INVALIDARG');
    await m.close();
  });

  it('§18.2 resume with no files is BG_E_EMPTY and leaves the job SUSPENDED', async () => {
    const { m } = await open();
    const job = await m.createJob('empty');
    await rejectsWith(m.resume(job.id), 'BG_E_EMPTY');
    assert.equal((await m.getJob(job.id)).state, 'SUSPENDED');
    await m.close();
  });

  it('§18.6 downloads into a temp file and publishes only on Complete, with the right sha256', async () => {
    const { m } = await open();
    const dir = tempDir();
    const body = server.add('/one.bin', 3 * 1024 * 1024 + 17);
    const job = await m.createJob('one');
    const dest = join(dir, 'one.bin');
    await m.addFile(job.id, server.url('/one.bin'), dest);
    await m.resume(job.id);
    await waitForState(m, job.id, 'TRANSFERRED');
    const info = await m.getJob(job.id);
    assert.equal(info.progress.bytesTransferred, body.length);
    assert.equal(info.progress.bytesTotal, body.length);
    assert.equal(info.progress.filesTransferred, 1);
    assert.equal(existsSync(dest), false, 'the final name must not exist before Complete');
    const temp = info.files[0]?.temporaryName;
    assert.ok(temp !== null && temp !== undefined && existsSync(temp));
    assert.equal(temp.startsWith(`${dir}/`), true, 'temp file lives in the destination folder');
    assert.equal(await m.complete(job.id), 'S_OK');
    assert.equal(sha256(readFileSync(dest)), sha256(body));
    assert.equal(existsSync(temp), false);
    await rejectsWith(m.getJob(job.id), 'BG_E_NOT_FOUND');
    await rejectsWith(m.resume(job.id), 'BG_E_INVALID_STATE');
    await rejectsWith(m.setDescription(job.id, 'x'), 'BG_E_INVALID_STATE');
    assert.equal(
      (await m.enumJobs()).some((j) => j.id === job.id),
      false,
    );
    await m.close();
  });

  it('§18.7/§18.5 an error on file 1 stops file 2; Complete keeps exactly the transferred file', async () => {
    const { m } = await open();
    const dir = tempDir();
    const good = server.add('/good.bin', 100_000);
    const job = await m.createJob('partial');
    await m.addFileSet(job.id, [
      { remoteName: server.url('/good.bin'), localName: join(dir, 'good.bin') },
      { remoteName: server.url('/missing.bin'), localName: join(dir, 'missing.bin') },
      { remoteName: server.url('/good.bin'), localName: join(dir, 'third.bin') },
    ]);
    await m.resume(job.id);
    await waitForState(m, job.id, 'ERROR');
    const err = await m.getError(job.id);
    assert.equal(err.name, 'BG_E_HTTP_ERROR_404');
    assert.equal(err.hresult, 0x80190194);
    assert.equal(err.context, 'REMOTE_FILE');
    assert.equal(err.file?.index, 1);
    const info = await m.getJob(job.id);
    assert.equal(info.errorCount, 1);
    assert.equal(info.files[2]?.progress.bytesTransferred, 0, 'file 3 never started');
    assert.equal(await m.complete(job.id), 'BG_S_PARTIAL_COMPLETE');
    assert.equal(sha256(readFileSync(join(dir, 'good.bin'))), sha256(good));
    assert.equal(existsSync(join(dir, 'missing.bin')), false);
    assert.equal(existsSync(join(dir, 'third.bin')), false);
    await m.close();
  });

  it('§18.6 Cancel deletes every temp file, complete ones too', async () => {
    const { m } = await open();
    const dir = tempDir();
    server.add('/c.bin', 50_000);
    const job = await m.createJob('cancel');
    await m.addFile(job.id, server.url('/c.bin'), join(dir, 'c.bin'));
    await m.resume(job.id);
    await waitForState(m, job.id, 'TRANSFERRED');
    const temp = (await m.getJob(job.id)).files[0]?.temporaryName as string;
    assert.ok(existsSync(temp));
    assert.equal(await m.cancel(job.id), 'S_OK');
    assert.equal(existsSync(temp), false);
    assert.equal(existsSync(join(dir, 'c.bin')), false);
    await m.close();
  });

  it('§18.8 503 → TRANSIENT_ERROR, retried no sooner than MinimumRetryDelay, then succeeds', async () => {
    const { m, clock } = await open();
    const dir = tempDir();
    server.add('/flaky.bin', 10_000, {
      before: (_req, res, hit) => {
        if (hit > 1) return false;
        res.writeHead(503, { 'content-length': '0' }).end();
        return true;
      },
    });
    const job = await m.createJob('flaky');
    await m.addFile(job.id, server.url('/flaky.bin'), join(dir, 'flaky.bin'));
    await m.setMinimumRetryDelay(job.id, 1);
    assert.equal((await m.getJob(job.id)).minimumRetryDelay, 5, 'clamped to 5 s');
    await m.resume(job.id);
    await waitForState(m, job.id, 'TRANSIENT_ERROR');
    const err = await m.getError(job.id);
    assert.equal(err.name, 'BG_E_HTTP_ERROR_503');
    assert.equal(err.context, 'REMOTE_FILE');
    assert.equal((await m.getJob(job.id)).errorCount, 1);
    clock.advance(4_999);
    assert.equal((await m.getJob(job.id)).state, 'TRANSIENT_ERROR');
    clock.advance(1);
    await waitForState(m, job.id, 'TRANSFERRED');
    await rejectsWith(m.getError(job.id), 'BG_E_ERROR_INFORMATION_UNAVAILABLE');
    await m.close();
  });

  it('§18.9 503 forever: retried at 10, 20 … s, ERROR at 60 s, JobError once', async () => {
    const { m, clock } = await open();
    const dir = tempDir();
    server.add('/down.bin', 1000, {
      before: (_req, res) => {
        res.writeHead(503, { 'content-length': '0' }).end();
        return true;
      },
    });
    const job = await m.createJob('down');
    await m.addFile(job.id, server.url('/down.bin'), join(dir, 'down.bin'));
    await m.setMinimumRetryDelay(job.id, 10);
    await m.setNoProgressTimeout(job.id, 60);
    const errors: string[] = [];
    m.subscribe((e) => {
      if (e.type === 'job:error') errors.push(e.error.name);
    });
    const hitsBefore = server.hits.get('/down.bin') ?? 0;
    const hits = (): number => (server.hits.get('/down.bin') ?? 0) - hitsBefore;
    // A TRANSIENT_ERROR read or heard of has its retry timer armed: the advance is not lost.
    await m.resume(job.id);
    await waitForState(m, job.id, 'TRANSIENT_ERROR');
    for (let t = 10; t <= 50; t += 10) {
      clock.advance(10_000);
      // Each retry reaches the server and fails again (a spin of 50 setImmediates was too short
      // for that on a loaded machine); the job is CONNECTING when the request arrives.
      await until(() => hits() === t / 10 + 1, `request ${t / 10 + 1}`);
      await waitForState(m, job.id, 'TRANSIENT_ERROR');
      assert.equal(hits(), t / 10 + 1, `requests by ${t} s`);
    }
    clock.advance(10_000);
    await waitForState(m, job.id, 'ERROR');
    const info = await m.getJob(job.id);
    assert.equal(info.errorCount, 6);
    assert.equal((server.hits.get('/down.bin') ?? 0) - hitsBefore, 6);
    assert.deepEqual(errors, ['BG_E_HTTP_ERROR_503']);
    await m.close();
  });

  it('a wall-clock jump of 14 days neither retries early nor expires the no-progress window', async () => {
    const { m, clock } = await open();
    const dir = tempDir();
    server.add('/jump.bin', 1000, {
      before: (_req, res, hit) => {
        if (hit > 1) return false;
        res.writeHead(503, { 'content-length': '0' }).end();
        return true;
      },
    });
    const job = await m.createJob('jump');
    await m.addFile(job.id, server.url('/jump.bin'), join(dir, 'jump.bin'));
    await m.setMinimumRetryDelay(job.id, 60);
    await m.setNoProgressTimeout(job.id, 3600);
    await m.resume(job.id);
    await waitForState(m, job.id, 'TRANSIENT_ERROR');
    clock.jumpWall(14 * 24 * 3600 * 1000);
    clock.advance(59_000);
    assert.equal((await m.getJob(job.id)).state, 'TRANSIENT_ERROR');
    clock.advance(1_000);
    await waitForState(m, job.id, 'TRANSFERRED');
    await m.close();
  });

  it('§18.9 NoProgressTimeout 0 makes the first error fatal', async () => {
    const { m } = await open();
    const dir = tempDir();
    server.add('/fatal503.bin', 1000, {
      before: (_req, res) => {
        res.writeHead(503, { 'content-length': '0' }).end();
        return true;
      },
    });
    const job = await m.createJob('npt0');
    await m.addFile(job.id, server.url('/fatal503.bin'), join(dir, 'x.bin'));
    await m.setNoProgressTimeout(job.id, 0);
    await m.resume(job.id);
    await waitForState(m, job.id, 'ERROR');
    assert.equal((await m.getError(job.id)).name, 'BG_E_HTTP_ERROR_503');
    await m.close();
  });

  it('a daemon restart mid-transfer resumes from the last checkpoint with a Range request', async () => {
    const home = tempDir();
    const dir = tempDir();
    const clock = new TestClock();
    const body = server.add('/slow.bin', 2 * 1024 * 1024, { rateBps: 4 * 1024 * 1024 });
    const policy = { checkpointBytes: 256 * 1024, checkpointMilliseconds: 1_000_000 };
    const m1 = await createManager({ home, clock, policy, network: new ManualNetworkSource(true) });
    const job = await m1.createJob('restart');
    await m1.addFile(job.id, server.url('/slow.bin'), join(dir, 'slow.bin'));
    await m1.resume(job.id);
    await waitForState(m1, job.id, 'TRANSFERRING');
    while ((await m1.getJob(job.id)).progress.bytesTransferred < 600 * 1024) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await m1.close();
    const m2 = await createManager({ home, clock, policy, network: new ManualNetworkSource(true) });
    const reopened = await m2.getJob(job.id);
    assert.ok(reopened.progress.bytesTransferred >= 512 * 1024, 'a checkpoint was recorded');
    await waitForState(m2, job.id, 'TRANSFERRED');
    const ranged = server.requests.filter((r) => r.path === '/slow.bin' && r.range !== undefined);
    assert.ok(ranged.length >= 1, 'the restarted transfer asked for a range');
    assert.equal(await m2.complete(job.id), 'S_OK');
    assert.equal(sha256(readFileSync(join(dir, 'slow.bin'))), sha256(body));
    await m2.close();
  });
});
