// Issue 12 item 8: a job's NotifyFlags filter what its subscribers get (bits-client.md §6.1):
// job:transferred only with BG_NOTIFY_JOB_TRANSFERRED, job:error only with BG_NOTIFY_JOB_ERROR,
// nothing with BG_NOTIFY_DISABLE; and a subscriber that registers after the job reached
// TRANSFERRED or ERROR is told at once, as BITS calls a callback set after the fact (§18 item 18).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ManagerEvent } from '../../src/api/bits-manager.ts';
import { NotifyFlag } from '../../src/core/index.ts';
import { ManualNetworkSource } from '../../src/scheduler/network.ts';
import { createManager, type InProcessManager } from '../../src/service/manager.ts';
import { FileServer } from '../helpers/file-server.ts';
import { tempDir, tick, waitForState } from '../helpers/manager-harness.ts';
import { TestClock } from '../helpers/test-clock.ts';

const { JOB_TRANSFERRED: T, JOB_ERROR: E, DISABLE: D, JOB_MODIFICATION: M } = NotifyFlag;

describe('NotifyFlags and subscribers (issue 12 item 8)', () => {
  let server: FileServer;
  let m: InProcessManager;
  before(async () => {
    server = await FileServer.start();
    server.add('/ok.bin', 50_000);
    m = await createManager({ home: tempDir(), clock: new TestClock(), network: new ManualNetworkSource(true) });
  });
  after(async () => {
    await m.close();
    await server.close();
  });

  /** A job with `flags` run to TRANSFERRED (`ok`) or ERROR (a 404); the events a subscriber to it saw meanwhile. */
  async function run(flags: number, ok: boolean): Promise<{ id: string; seen: string[] }> {
    const job = await m.createJob(`flags-${flags}`);
    await m.setNotifyFlags(job.id, flags);
    await m.setNoProgressTimeout(job.id, 0);
    await m.addFile(job.id, server.url(ok ? '/ok.bin' : '/missing.bin'), join(tempDir(), 'f.bin'));
    const seen: string[] = [];
    const off = m.subscribe((e) => seen.push(e.type), { jobId: job.id });
    await tick();
    await m.resume(job.id);
    await waitForState(m, job.id, ok ? 'TRANSFERRED' : 'ERROR');
    await m.setDescription(job.id, 'modified after the outcome');
    await tick();
    off();
    return { id: job.id, seen };
  }

  /** What a subscriber that registers now to a finished job gets at once. */
  async function lateSubscriber(id: string): Promise<ManagerEvent[]> {
    const got: ManagerEvent[] = [];
    const off = m.subscribe((e) => got.push(e), { jobId: id });
    await tick();
    off();
    return got;
  }

  const table: Array<{ flags: number; ok: boolean; outcome: boolean; modified: boolean }> = [
    { flags: T | E, ok: true, outcome: true, modified: true },
    { flags: E, ok: true, outcome: false, modified: true },
    { flags: T | M, ok: true, outcome: true, modified: true },
    { flags: T | E | D, ok: true, outcome: false, modified: false },
    { flags: T | E, ok: false, outcome: true, modified: true },
    { flags: T, ok: false, outcome: false, modified: true },
    { flags: E | D, ok: false, outcome: false, modified: false },
  ];
  for (const row of table) {
    const event = row.ok ? 'job:transferred' : 'job:error';
    it(`flags 0x${row.flags.toString(16)}, ${row.ok ? 'TRANSFERRED' : 'ERROR'}: ${event} ${row.outcome ? 'delivered' : 'withheld'}, live and to a late subscriber`, async () => {
      const { id, seen } = await run(row.flags, row.ok);
      assert.equal(seen.includes(event), row.outcome, `live: ${seen.join(' ')}`);
      assert.equal(seen.includes('job:modified'), row.modified, `live: ${seen.join(' ')}`);
      assert.ok(seen.includes('job:state'), 'the status feed flows whatever the flags');
      const late = await lateSubscriber(id);
      assert.deepEqual(
        late.map((e) => e.type),
        row.outcome ? [event] : [],
      );
      if (!row.ok && row.outcome) {
        const error = late[0] as Extract<ManagerEvent, { type: 'job:error' }>;
        assert.equal(error.error.name, 'BG_E_HTTP_ERROR_404');
      }
    });
  }

  it('a late subscriber to all jobs, or to a job still running, gets no replay', async () => {
    const { id } = await run(T | E, true);
    const all: ManagerEvent[] = [];
    const off = m.subscribe((e) => all.push(e));
    await tick();
    off();
    assert.deepEqual(all, []);
    const job = await m.createJob('pending');
    assert.deepEqual(await lateSubscriber(job.id), []);
    assert.deepEqual(
      (await lateSubscriber(id)).map((e) => e.type),
      ['job:transferred'],
    );
  });

  it('the events() iterator of one job starts with its outcome when it is already TRANSFERRED', async () => {
    const { id } = await run(T | E, true);
    const abort = new AbortController();
    for await (const e of m.events({ jobId: id, signal: abort.signal })) {
      assert.deepEqual(e, { type: 'job:transferred', jobId: id });
      abort.abort();
    }
  });
});
