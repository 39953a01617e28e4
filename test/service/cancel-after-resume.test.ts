import assert from 'node:assert/strict';
import { fdatasync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, test } from 'node:test';
import type { ManagerEvent } from '../../src/api/bits-manager.ts';
import { ManualNetworkSource } from '../../src/scheduler/network.ts';
import { createManager } from '../../src/service/manager.ts';
import { localIo, type OwnerIo } from '../../src/service/owner-io.ts';
import { openSqliteJobStore, SqliteJobStore } from '../../src/store/index.ts';
import { WalSync } from '../../src/store/sqlite/wal-sync.ts';
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

// A Cancel right after a Resume: the run has committed its pick (CONNECTING) and waits for the
// sync that covers it. The Cancel must not wait for that sync before committing CANCELLED (its own
// sync covers both), and the pick's effects still come first.
test('a Cancel right after a Resume commits without waiting for the pick’s sync; events stay in order', async () => {
  const home = tempDir();
  const path = join(home, 'jobs.db');
  openSqliteJobStore(path).close();
  // The group commit's fdatasync, held while `hold` is set (released by the test).
  let hold = false;
  const held: Array<() => void> = [];
  const db = new DatabaseSync(path, { enableForeignKeyConstraints: true });
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL');
  const store = new SqliteJobStore(db, {
    walSync: new WalSync(path, {
      fdatasync: (fd, done) => {
        const go = (): void => fdatasync(fd, done);
        if (hold) held.push(go);
        else go();
      },
    }),
  });
  const m = await createManager({ home, store, clock: new TestClock(), network: new ManualNetworkSource(true) });
  const peek = openSqliteJobStore(path);
  try {
    server.add('/cancel-after-resume.bin', 1000);
    const job = await m.createJob('cancel-after-resume');
    await m.addFile(job.id, server.url('/cancel-after-resume.bin'), join(tempDir(), 'out.bin'));
    const states: string[] = [];
    m.subscribe((e: ManagerEvent) => e.type === 'job:state' && states.push(e.state), { jobId: job.id });
    await m.resume(job.id);
    hold = true;
    await until(() => peek.getJob(job.id)?.state === 'CONNECTING', 'the pick’s commit');
    const cancelled = m.cancel(job.id);
    // Another connection sees CANCELLED while every sync is held: the Cancel waited for none.
    await until(() => peek.getJob(job.id)?.state === 'CANCELLED', 'the Cancel’s commit');
    hold = false;
    for (const go of held.splice(0)) go();
    assert.equal(await cancelled, 'S_OK');
    assert.deepEqual(states, ['QUEUED', 'CONNECTING', 'CANCELLED']);
    assert.equal(server.hits.get('/cancel-after-resume.bin') ?? 0, 0, 'the stopped run never asked the server');
  } finally {
    hold = false;
    for (const go of held.splice(0)) go();
    peek.close();
    await m.close();
  }
});

// A QUEUED job that cannot run yet (one background job at a time) is cancelled; while the Cancel
// is between reading the job and committing CANCELLED (removing leftovers, real I/O), the running
// job ends and the scheduler would start this one. The pick must wait for the Cancel.
test('a Cancel of a queued job is not undone by a run starting while it removes leftovers', async () => {
  const home = tempDir();
  const clock = new TestClock();
  const real = localIo(clock);
  let gate: (() => void) | null = null;
  let entered = false;
  const io: OwnerIo = {
    ...real,
    removeLeftovers: async (owner, paths) => {
      if (paths.some((p) => p.includes('queued.bin'))) {
        entered = true;
        await new Promise<void>((resolve) => {
          gate = resolve;
        });
      }
      return real.removeLeftovers(owner, paths);
    },
  };
  const m = await createManager({
    home,
    clock,
    io,
    network: new ManualNetworkSource(true),
    policy: { maxBackgroundJobs: 1 },
  });
  let release = (): void => {};
  try {
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    server.add('/running.bin', 1 << 20, { rateBps: 1 << 20, hold: { at: 1024, release: held } });
    server.add('/queued.bin', 1000);
    const work = tempDir();
    const running = await m.createJob('running');
    await m.addFile(running.id, server.url('/running.bin'), join(work, 'running.bin'));
    await m.resume(running.id);
    await waitForState(m, running.id, 'TRANSFERRING');
    const queued = await m.createJob('queued');
    await m.addFile(queued.id, server.url('/queued.bin'), join(work, 'queued.bin'));
    await m.resume(queued.id);
    assert.equal((await m.getJob(queued.id)).state, 'QUEUED', 'one background job at a time');
    const cancelled = m.cancel(queued.id);
    await until(() => entered, 'the Cancel removing leftovers');
    // The running job ends: the scheduler plans again and would pick the queued one now.
    await m.cancel(running.id);
    (gate as (() => void) | null)?.();
    assert.equal(await cancelled, 'S_OK');
    assert.equal(m.peekState(queued.id), 'CANCELLED');
    assert.equal(server.hits.get('/queued.bin') ?? 0, 0);
  } finally {
    release();
    (gate as (() => void) | null)?.();
    await m.close();
  }
});
