import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type OriginServer, serving, startOrigin } from '../helpers/origin-server.ts';
import {
  bitsadminJson,
  type SystemDaemon,
  startSystemDaemon,
  systemRoot,
  type TestUser,
  TestUsers,
  teardown,
  waitForJob,
  writeMachinePolicy,
} from './helpers.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const bytesOf = (job: Record<string, unknown>): number =>
  (job.progress as { bytesTransferred: number }).bytesTransferred;
/** The policy's rate for every background priority, all day. */
const allDay = (rate: string) => ({ startHour: 0, endHour: 24, inWindow: rate, outsideWindow: rate });

// The machine's bandwidth policy is root's, and the bytes of each user's jobs move in that
// user's worker: the limit must hold across the workers, and a limit that begins while a
// worker transfers must not let it run on at full speed for long.
describe('bitsd --system: the machine bandwidth limit across users', () => {
  const users = new TestUsers();
  const root = systemRoot();
  const body = randomBytes(MiB);
  const big = randomBytes(32 * MiB);
  let origin: OriginServer;
  let daemon: SystemDaemon | undefined;
  let alice: TestUser;
  let bob: TestUser;
  let env: Record<string, string>;

  before(async () => {
    alice = users.user('a', root);
    bob = users.user('b', root);
    origin = await startOrigin();
    origin.route('/file.bin', serving(body));
    // About 1 MiB/s: slow enough that the daemon's view of the bytes lags little.
    origin.route('/big.bin', serving(big, { dripBytes: 32 * KiB, dripMs: 32 }));
    // Two background jobs at once, so both users' jobs transfer together and share the bucket.
    writeMachinePolicy(root, { maxBackgroundJobs: 2 });
    daemon = await startSystemDaemon(root);
    env = daemon.env;
  });

  after(() => teardown({ daemon, origin, users, root }));

  it('two users, each through their own worker, share the machine limit', async (t) => {
    const rate = 256 * KiB;
    const limit = (r: string) =>
      bitsadminJson(null, ['/util', '/setpolicy', 'bandwidth.maxInternetBandwidth', JSON.stringify(allDay(r))], env);
    // Blocked first, so that both jobs wait and start together when the limit opens.
    await limit('0');
    const ids: string[] = [];
    for (const user of [alice, bob]) {
      const id = (await bitsadminJson(user, ['/create', 'shared'], env)).id as string;
      await bitsadminJson(user, ['/addfile', id, origin.url('/file.bin'), join(user.home, 'file.bin')], env);
      await bitsadminJson(user, ['/resume', id], env);
      await waitForJob(null, id, env, (j) => (j.error as { name?: string } | null)?.name === 'BG_E_BLOCKED_BY_POLICY');
      ids.push(id);
    }
    const started = Date.now();
    await limit('256k');
    const [a, b] = ids as [string, string];
    await waitForJob(null, b, env, (j) => bytesOf(j) > 0);
    const aNow = await bitsadminJson(null, ['/info', a], env);
    assert.ok(bytesOf(aNow) < body.length, 'both users transfer at the same time');
    let finished = 0;
    for (const id of ids) {
      const done = await waitForJob(null, id, env, (j) => j.state === 'TRANSFERRED');
      finished = Math.max(finished, (done.times as { transferCompletionTime: number }).transferCompletionTime);
    }
    // From the moment the limit opened to the last byte, as the daemon recorded it.
    const seconds = (finished - started) / 1000;
    // A bucket of 256 KiB/s lets through at most its burst (a tenth of a second) beyond the rate.
    const floor = (2 * body.length - rate / 10) / rate;
    t.diagnostic(
      `2 × 1 MiB at 256 KiB/s: ${seconds.toFixed(2)} s (the limit allows no less than ${floor.toFixed(2)} s)`,
    );
    assert.ok(seconds >= floor * 0.9, `2 MiB went through a 256 KiB/s limit in ${seconds} s`);
    for (const [i, user] of [alice, bob].entries()) await bitsadminJson(user, ['/complete', ids[i] as string], env);
  });

  it('a limit that begins mid-transfer holds within a small overshoot', async (t) => {
    await bitsadminJson(
      null,
      ['/util', '/setpolicy', 'bandwidth.maxInternetBandwidth', JSON.stringify(allDay('off'))],
      env,
    );
    const id = (await bitsadminJson(alice, ['/create', 'late-limit'], env)).id as string;
    await bitsadminJson(alice, ['/addfile', id, origin.url('/big.bin'), join(alice.home, 'big.bin')], env);
    await bitsadminJson(alice, ['/resume', id], env);
    try {
      // Unlimited: the worker holds a grant of reading ahead of root's bucket.
      await waitForJob(null, id, env, (j) => bytesOf(j) > MiB);
      const rate = 64 * KiB;
      await bitsadminJson(
        null,
        ['/util', '/setpolicy', 'bandwidth.maxInternetBandwidth', JSON.stringify(allDay('64k'))],
        env,
      );
      const limitedAt = Date.now();
      const b0 = bytesOf(await bitsadminJson(null, ['/info', id], env));
      const span = 512 * KiB;
      const end = await waitForJob(null, id, env, (j) => bytesOf(j) >= b0 + span, 120_000);
      const seconds = (Date.now() - limitedAt) / 1000;
      // What went through beyond the rate and the bucket's burst: bytes the worker was allowed
      // before the limit began (and the ≤ 100 ms the daemon's count lags the worker's).
      const overshoot = bytesOf(end) - b0 - rate * seconds - 16 * KiB;
      t.diagnostic(
        `after the limit began: ${bytesOf(end) - b0} bytes in ${seconds.toFixed(2)} s at 64 KiB/s; overshoot ${Math.round(overshoot / KiB)} KiB`,
      );
      assert.ok(overshoot <= 256 * KiB, `overshoot ${overshoot} bytes`);
    } finally {
      await bitsadminJson(alice, ['/cancel', id], env);
    }
  });
});
