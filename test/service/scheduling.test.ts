import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_YIELD_POLICY } from '../../src/scheduler/ledbat.ts';
import { ManualNetworkSource } from '../../src/scheduler/network.ts';
import { createManager, type ManagerOptions } from '../../src/service/manager.ts';
import { FileServer } from '../helpers/file-server.ts';
import { tempDir, tick, waitForState } from '../helpers/manager-harness.ts';
import { TestClock } from '../helpers/test-clock.ts';
import { until } from '../helpers/until.ts';

let server: FileServer;
before(async () => {
  server = await FileServer.start();
});
after(async () => {
  await server.close();
});

let n = 0;
/** A file the server drips at `rate` bytes/s (real time), under a fresh path. */
function slowFile(size: number, rate: number): string {
  const path = `/sched-${++n}.bin`;
  server.add(path, size, { rateBps: rate });
  return path;
}

function options(extra: Partial<ManagerOptions> = {}): ManagerOptions & { clock: TestClock } {
  return {
    home: tempDir(),
    clock: new TestClock(),
    network: new ManualNetworkSource(true),
    ...extra,
  } as ManagerOptions & {
    clock: TestClock;
  };
}

describe('scheduling (bits-client.md §3.3, §18 items 16–17)', () => {
  it('a lower-priority job gets no bytes until the higher one is TRANSFERRED', async () => {
    const m = await createManager(options());
    const dir = tempDir();
    const highPath = slowFile(300_000, 1_000_000);
    const lowPath = slowFile(50_000, 10_000_000);
    const low = await m.createJob('low');
    await m.setPriority(low.id, 'LOW');
    await m.addFile(low.id, server.url(lowPath), join(dir, 'low.bin'));
    const high = await m.createJob('high');
    await m.setPriority(high.id, 'HIGH');
    await m.addFile(high.id, server.url(highPath), join(dir, 'high.bin'));
    await m.resume(high.id);
    await m.resume(low.id);
    const seen: string[] = [];
    m.subscribe((e) => {
      if (e.type === 'job:state') seen.push(`${e.jobId === high.id ? 'high' : 'low'}:${e.state}`);
    });
    await waitForState(m, high.id, 'TRANSFERRED');
    assert.equal(server.bytesSent.get(lowPath) ?? 0, 0, 'LOW got bytes while HIGH could run');
    await waitForState(m, low.id, 'TRANSFERRED');
    assert.ok(seen.indexOf('high:TRANSFERRED') < seen.indexOf('low:CONNECTING'), seen.join(' '));
    await m.close();
  });

  it('a running LOW job is preempted back to QUEUED when a HIGH job arrives', async () => {
    const m = await createManager(options());
    const dir = tempDir();
    const lowPath = slowFile(2_000_000, 200_000);
    const highPath = slowFile(20_000, 10_000_000);
    const low = await m.createJob('low');
    await m.setPriority(low.id, 'LOW');
    await m.addFile(low.id, server.url(lowPath), join(dir, 'low.bin'));
    // Every state LOW enters, from before it runs: a subscription made after waitForState could
    // still get the TRANSFERRING event that resolved it (a read may come back before the event).
    const states: string[] = [];
    m.subscribe((e) => {
      if (e.type === 'job:state' && e.jobId === low.id) states.push(e.state);
    });
    await m.resume(low.id);
    await waitForState(m, low.id, 'TRANSFERRING');
    const high = await m.createJob('high');
    await m.setPriority(high.id, 'HIGH');
    await m.addFile(high.id, server.url(highPath), join(dir, 'high.bin'));
    await m.resume(high.id);
    await waitForState(m, high.id, 'TRANSFERRED');
    const running = states.indexOf('TRANSFERRING');
    assert.ok(running >= 0, states.join(' '));
    assert.equal(states[running + 1], 'QUEUED', `LOW went back to the queue: ${states.join(' ')}`);
    await m.cancel(low.id);
    await m.close();
  });

  it('two jobs of one priority alternate by time slices', async () => {
    const opts = options({ policy: { timeSliceSeconds: 5 } });
    const m = await createManager(opts);
    const dir = tempDir();
    const a = await m.createJob('a');
    const b = await m.createJob('b');
    const pa = slowFile(5_000_000, 100_000);
    const pb = slowFile(5_000_000, 100_000);
    await m.addFile(a.id, server.url(pa), join(dir, 'a.bin'));
    await m.addFile(b.id, server.url(pb), join(dir, 'b.bin'));
    await m.resume(a.id);
    await m.resume(b.id);
    await waitForState(m, a.id, 'TRANSFERRING');
    assert.equal((await m.getJob(b.id)).state, 'QUEUED');
    await until(() => (server.bytesSent.get(pa) ?? 0) > 0, 'bytes for a');
    opts.clock.advance(5_000);
    await waitForState(m, b.id, 'TRANSFERRING');
    await waitForState(m, a.id, 'QUEUED');
    await until(() => (server.bytesSent.get(pb) ?? 0) > 0, 'bytes for b');
    opts.clock.advance(5_000);
    await waitForState(m, a.id, 'TRANSFERRING');
    await waitForState(m, b.id, 'QUEUED');
    await m.cancel(a.id);
    await m.cancel(b.id);
    await m.close();
  });

  it('a FOREGROUND job runs while a background job does', async () => {
    const m = await createManager(options());
    const dir = tempDir();
    const bg = await m.createJob('bg');
    await m.addFile(bg.id, server.url(slowFile(2_000_000, 200_000)), join(dir, 'bg.bin'));
    await m.resume(bg.id);
    await waitForState(m, bg.id, 'TRANSFERRING');
    const fg = await m.createJob('fg');
    await m.setPriority(fg.id, 'FOREGROUND');
    await m.addFile(fg.id, server.url(slowFile(2_000_000, 200_000)), join(dir, 'fg.bin'));
    await m.resume(fg.id);
    await waitForState(m, fg.id, 'TRANSFERRING');
    assert.equal((await m.getJob(bg.id)).state, 'TRANSFERRING');
    await m.cancel(fg.id);
    await m.cancel(bg.id);
    await m.close();
  });

  it('MaxDownloadTime counts only CONNECTING+TRANSFERRING time and survives a restart', async () => {
    const opts = options();
    const m1 = await createManager(opts);
    const dir = tempDir();
    const job = await m1.createJob('maxtime');
    await m1.addFile(job.id, server.url(slowFile(10_000_000, 50_000)), join(dir, 'm.bin'));
    await m1.setMaximumDownloadTime(job.id, 30);
    await m1.resume(job.id);
    await waitForState(m1, job.id, 'TRANSFERRING');
    opts.clock.advance(20_000);
    await m1.close();
    // Time while the service is down or the job is queued does not count.
    opts.clock.advance(3_600_000);
    const m2 = await createManager(opts);
    await waitForState(m2, job.id, 'TRANSFERRING');
    opts.clock.advance(9_000);
    await tick();
    assert.equal((await m2.getJob(job.id)).state, 'TRANSFERRING');
    opts.clock.advance(1_000);
    await waitForState(m2, job.id, 'ERROR');
    const err = await m2.getError(job.id);
    assert.equal(err.name, 'BG_E_MAXDOWNLOAD_TIMEOUT');
    await m2.cancel(job.id);
    await m2.close();
  });

  it('JobInactivityTimeout cancels an untouched job and deletes its temp files, across a restart', async () => {
    const opts = options({ policy: { jobInactivityTimeoutSeconds: 100 } });
    const m1 = await createManager(opts);
    const dir = tempDir();
    const path = `/inactive-${++n}.bin`;
    server.add(path, 20_000);
    const job = await m1.createJob('idle');
    await m1.addFile(job.id, server.url(path), join(dir, 'i.bin'));
    await m1.resume(job.id);
    await waitForState(m1, job.id, 'TRANSFERRED');
    const temp = (await m1.getJob(job.id)).files[0]?.temporaryName as string;
    opts.clock.advance(60_000);
    await m1.close();
    const m2 = await createManager(opts);
    opts.clock.advance(39_000);
    await tick();
    assert.equal((await m2.getJob(job.id)).state, 'TRANSFERRED');
    opts.clock.advance(1_000);
    // The timeout deletes the files first and then cancels: wait for the job to leave the queue
    // (waiting for the temp file alone raced the cancel and found the job still there).
    const gone = (): Promise<boolean> =>
      m2.getJob(job.id).then(
        () => false,
        () => true,
      );
    await until(gone, 'the job cancelled by JobInactivityTimeout');
    await assert.rejects(m2.getJob(job.id), /BG_E_NOT_FOUND|not found|left the queue/);
    assert.equal(existsSync(temp), false, 'its temp file deleted');
    await m2.close();
  });

  it('a bandwidth window of 0 holds background jobs in TRANSIENT_ERROR BG_E_BLOCKED_BY_POLICY until it ends', async () => {
    const wall = new Date(2026, 10, 23, 12, 0, 0).getTime();
    const clock = new TestClock(wall);
    const bandwidth = {
      maxInternetBandwidth: { startHour: 12, endHour: 13, inWindow: 0, outsideWindow: null },
      workSchedule: null,
      timetable: null,
      yield: DEFAULT_YIELD_POLICY,
    };
    const opts = options({ clock, policy: { bandwidth } });
    const m1 = await createManager(opts);
    const dir = tempDir();
    const path = `/window-${++n}.bin`;
    server.add(path, 30_000);
    const job = await m1.createJob('window');
    await m1.addFile(job.id, server.url(path), join(dir, 'w.bin'));
    const errorsBefore = (await m1.getJob(job.id)).errorCount;
    await m1.resume(job.id);
    await waitForState(m1, job.id, 'TRANSIENT_ERROR');
    assert.equal((await m1.getError(job.id)).name, 'BG_E_BLOCKED_BY_POLICY');
    assert.equal((await m1.getJob(job.id)).errorCount, errorsBefore, 'a policy block is not an error count');
    // Foreground jobs are never held by the policy.
    const fg = await m1.createJob('fg');
    await m1.setPriority(fg.id, 'FOREGROUND');
    await m1.addFile(fg.id, server.url(path), join(dir, 'fg.bin'));
    await m1.resume(fg.id);
    await waitForState(m1, fg.id, 'TRANSFERRED');
    await m1.cancel(fg.id);
    clock.advance(30 * 60_000);
    await m1.close();
    const m2 = await createManager({ ...opts, clock });
    await tick();
    assert.equal((await m2.getJob(job.id)).state, 'TRANSIENT_ERROR');
    clock.advance(30 * 60_000);
    await waitForState(m2, job.id, 'TRANSFERRED');
    await m2.close();
  });

  it('network loss parks jobs in TRANSIENT_ERROR without counting an error; its return queues them', async () => {
    const network = new ManualNetworkSource(true);
    const m = await createManager(options({ network, loopbackWithoutNetwork: false }));
    const dir = tempDir();
    const running = await m.createJob('running');
    await m.addFile(running.id, server.url(slowFile(2_000_000, 200_000)), join(dir, 'r.bin'));
    const queued = await m.createJob('queued');
    const qpath = `/netq-${++n}.bin`;
    server.add(qpath, 10_000);
    await m.addFile(queued.id, server.url(qpath), join(dir, 'q.bin'));
    await m.resume(running.id);
    await m.resume(queued.id);
    await waitForState(m, running.id, 'TRANSFERRING');
    network.set(false);
    await waitForState(m, running.id, 'TRANSIENT_ERROR');
    await waitForState(m, queued.id, 'TRANSIENT_ERROR');
    assert.equal((await m.getError(running.id)).name, 'BG_E_NETWORK_DISCONNECTED');
    assert.equal((await m.getJob(running.id)).errorCount, 0);
    assert.equal((await m.getJob(queued.id)).errorCount, 0);
    network.set(true);
    await waitForState(m, queued.id, ['QUEUED', 'CONNECTING', 'TRANSFERRING', 'TRANSFERRED']);
    await waitForState(m, running.id, ['QUEUED', 'CONNECTING', 'TRANSFERRING', 'TRANSFERRED']);
    await m.cancel(running.id);
    await m.cancel(queued.id);
    await m.close();
  });
});
