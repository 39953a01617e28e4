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

/** A gate a test opens by hand; `entered` once something waits at it. */
class Gate {
  entered = false;
  #open: (() => void) | null = null;
  wait(): Promise<void> {
    this.entered = true;
    return new Promise<void>((resolve) => {
      this.#open = resolve;
    });
  }
  open(): void {
    this.#open?.();
  }
}

/**
 * A manager running one background job at a time, whose I/O is the real one but for `io`'s
 * changes, with a running job `running` (its server holds it mid-file until the test ends) and a
 * folder for downloads. `finally` stops it all.
 */
async function oneAtATime(io: (real: OwnerIo) => Partial<OwnerIo>) {
  const clock = new TestClock();
  const real = localIo(clock);
  const m = await createManager({
    home: tempDir(),
    clock,
    io: { ...real, ...io(real) },
    network: new ManualNetworkSource(true),
    policy: { maxBackgroundJobs: 1 },
  });
  let release = (): void => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const name = `running-${++servedJobs}.bin`;
  server.add(`/${name}`, 1 << 20, { rateBps: 1 << 20, hold: { at: 1024, release: held } });
  const work = tempDir();
  const running = await m.createJob('running');
  await m.addFile(running.id, server.url(`/${name}`), join(work, name));
  await m.resume(running.id);
  await waitForState(m, running.id, 'TRANSFERRING');
  /** A queued job of one file at `path` (a server path) saved as `file` in the folder. */
  const queue = async (path: string, file: string) => {
    const job = await m.createJob(file);
    await m.addFile(job.id, server.url(path), join(work, file));
    await m.resume(job.id);
    return job;
  };
  const stop = async (): Promise<void> => {
    release();
    await m.close();
  };
  return { m, running, work, held, queue, stop };
}
let servedJobs = 0;

// A QUEUED job that cannot run yet (one background job at a time) is cancelled; while the Cancel
// is between reading the job and committing CANCELLED (removing leftovers, real I/O), the running
// job ends and the scheduler would start this one. The pick must wait for the Cancel.
test('a Cancel of a queued job is not undone by a run starting while it removes leftovers', async () => {
  const gate = new Gate();
  const t = await oneAtATime((real) => ({
    removeLeftovers: async (owner, paths) => {
      if (paths.some((p) => p.includes('queued.bin'))) await gate.wait();
      return real.removeLeftovers(owner, paths);
    },
  }));
  try {
    server.add('/queued.bin', 1000);
    const queued = await t.queue('/queued.bin', 'queued.bin');
    assert.equal((await t.m.getJob(queued.id)).state, 'QUEUED', 'one background job at a time');
    const cancelled = t.m.cancel(queued.id);
    await until(() => gate.entered, 'the Cancel removing leftovers');
    // The running job ends: the scheduler plans again and would pick the queued one now.
    await t.m.cancel(t.running.id);
    gate.open();
    assert.equal(await cancelled, 'S_OK');
    assert.equal(t.m.peekState(queued.id), 'CANCELLED');
    assert.equal(server.hits.get('/queued.bin') ?? 0, 0);
  } finally {
    gate.open();
    await t.stop();
  }
});

// A job whose start waited behind a call (here an AddFile) must not start on its own once the call
// ends: the scheduler may have given the slot to another job meanwhile (a higher priority).
test('a start deferred behind a call plans again when the call ends, keeping the concurrency limit', async () => {
  const gate = new Gate();
  const t = await oneAtATime((real) => ({
    checkLocalDestinations: async (owner, paths) => {
      if (paths.some((path) => path.endsWith('a-second.bin'))) await gate.wait();
      return real.checkLocalDestinations(owner, paths);
    },
  }));
  try {
    server.add('/b.bin', 1 << 20, { rateBps: 1 << 20, hold: { at: 1024, release: t.held } });
    server.add('/a.bin', 1000);
    const a = await t.queue('/a.bin', 'a.bin');
    const b = await t.queue('/b.bin', 'b.bin');
    // A call holds A; the running job ends, so the scheduler wants A, whose start waits behind the call.
    const adding = t.m.addFile(a.id, server.url('/a.bin'), join(t.work, 'a-second.bin'));
    await until(() => gate.entered, 'the AddFile holding A');
    await t.m.cancel(t.running.id);
    // Meanwhile B goes first.
    await t.m.setPriority(b.id, 'HIGH');
    await waitForState(t.m, b.id, 'TRANSFERRING');
    gate.open();
    await adding;
    assert.equal((await t.m.getJob(a.id)).state, 'QUEUED', 'A waits for the slot B holds');
    assert.equal(server.hits.get('/a.bin') ?? 0, 0);
    await t.m.cancel(b.id);
    await waitForState(t.m, a.id, 'TRANSFERRED');
  } finally {
    gate.open();
    await t.stop();
  }
});
