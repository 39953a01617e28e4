import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { spawnDaemon, stopDaemon } from '../daemon/helpers.ts';
import { startOrigin } from '../helpers/origin-server.ts';
import {
  cli,
  cliOk,
  countingRoute,
  createJob,
  killDaemon,
  MiB,
  type ServedRequest,
  scratchDir,
  sha256,
  sha256File,
  waitForState,
} from './helpers.ts';

const SIZE = 256 * MiB;
/** Kill bitsd once this much was sent: past three checkpoints, well before the end. */
const KILL_AT = 112 * MiB;
/**
 * What the server counts as sent but the daemon never stored, beyond the bytes since the last
 * checkpoint: bytes in the socket buffers and in Node's stream buffers at the kill. The first
 * request drips (256 KiB every 5 ms, about 40 MiB/s, well under what bitsd takes on tmpfs), so
 * bitsd reads each piece as it arrives and the buffers hold a few pieces, not the megabytes an
 * unthrottled sender would queue (tcp_rmem/tcp_wmem maxima); 8 MiB is 200 ms of drip, room for a
 * daemon busy in an fdatasync.
 */
const BUFFER_TOLERANCE = 8 * MiB;

it('e2e: kill -9 of bitsd mid-way through a 256 MiB download; after a restart it resumes from the last checkpoint', async (t) => {
  const body = randomBytes(SIZE);
  const home = await scratchDir('openbits-e2e-crash-home-');
  const out = await scratchDir('openbits-e2e-crash-out-');
  const origin = await startOrigin();
  const requests: ServedRequest[] = [];
  let reachedKillPoint: () => void = () => undefined;
  const killPoint = new Promise<void>((resolve) => {
    reachedKillPoint = resolve;
  });
  origin.route(
    '/big.bin',
    countingRoute(
      body,
      requests,
      (n) => (n === 1 ? { dripBytes: 256 * 1024, dripMs: 5 } : {}),
      (total) => {
        if (total >= KILL_AT) reachedKillPoint();
      },
    ),
  );
  let daemon = await spawnDaemon(home.path);
  try {
    // One checkpoint interval, as the daemon itself reports its policy (32 MiB by default).
    const checkpoint = Number(await cliOk(home.path, ['/rawreturn', '/util', '/getpolicy', 'checkpointBytes']));
    assert.ok(checkpoint > 0 && checkpoint < KILL_AT / 2, `checkpointBytes ${checkpoint}`);
    const dest = join(out.path, 'big.bin');
    const job = await createJob(home.path, 'e2e-crash');
    await cliOk(home.path, ['/addfile', job, origin.url('/big.bin'), dest]);
    await cliOk(home.path, ['/resume', job]);
    await killPoint;
    await killDaemon(daemon);

    // Nobody serves the socket now: the CLI says so (exit 1) and does not start a daemon.
    const down = await cli(home.path, ['/getstate', job]);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /^ERROR: /u);

    daemon = await spawnDaemon(home.path);
    await waitForState(home.path, job, 'TRANSFERRED', { daemon, timeoutMs: 60_000 });
    assert.equal(existsSync(dest), false);
    await cliOk(home.path, ['/complete', job]);
    assert.equal(await sha256File(dest), sha256(body));

    const [first, second, ...more] = requests;
    assert.ok(first !== undefined && second !== undefined, `${requests.length} requests`);
    assert.deepEqual(more, [], 'one request before the kill, one after the restart');
    assert.equal(first.range, undefined);
    const resumedAt = Number(/^bytes=(\d+)-$/u.exec(second.range ?? '')?.[1] ?? Number.NaN);
    assert.ok(resumedAt > 0, `the restart resumed with a Range request (${second.range})`);
    assert.equal(second.sent, SIZE - resumedAt);
    assert.ok(first.sent >= KILL_AT && first.sent < SIZE, `the kill landed mid-way (${first.sent} bytes sent)`);
    const redownloaded = first.sent + second.sent - SIZE;
    t.diagnostic(
      `sent before the kill ${first.sent}, resumed at ${resumedAt}: ${redownloaded} bytes (${(redownloaded / MiB).toFixed(1)} MiB) downloaded twice`,
    );
    assert.ok(
      redownloaded <= checkpoint + BUFFER_TOLERANCE,
      `${redownloaded} bytes re-downloaded; at most one checkpoint interval (${checkpoint}) plus ${BUFFER_TOLERANCE} in buffers`,
    );
  } finally {
    await stopDaemon(daemon);
    await origin.close();
    await home.remove();
    await out.remove();
  }
});

it('e2e: SIGTERM of bitsd mid-download stops at a checkpoint: after a restart almost nothing is fetched twice', async (t) => {
  const body = randomBytes(64 * MiB);
  const home = await scratchDir('openbits-e2e-term-home-');
  const out = await scratchDir('openbits-e2e-term-out-');
  const origin = await startOrigin();
  const requests: ServedRequest[] = [];
  let reachedStopPoint: () => void = () => undefined;
  const stopPoint = new Promise<void>((resolve) => {
    reachedStopPoint = resolve;
  });
  origin.route(
    '/mid.bin',
    countingRoute(
      body,
      requests,
      (n) => (n === 1 ? { dripBytes: 256 * 1024, dripMs: 5 } : {}),
      (total) => {
        // Between two checkpoints (32 MiB apart): a kill would lose about 8 MiB here.
        if (total >= 40 * MiB) reachedStopPoint();
      },
    ),
  );
  let daemon = await spawnDaemon(home.path);
  try {
    const dest = join(out.path, 'mid.bin');
    const job = await createJob(home.path, 'e2e-term');
    await cliOk(home.path, ['/addfile', job, origin.url('/mid.bin'), dest]);
    await cliOk(home.path, ['/resume', job]);
    await stopPoint;
    assert.equal(await stopDaemon(daemon), 0, daemon.stderr());
    daemon = await spawnDaemon(home.path);
    await waitForState(home.path, job, 'TRANSFERRED', { daemon });
    await cliOk(home.path, ['/complete', job]);
    assert.equal(await sha256File(dest), sha256(body));
    const [first, second] = requests;
    assert.equal(requests.length, 2);
    const resumedAt = Number(/^bytes=(\d+)-$/u.exec(second?.range ?? '')?.[1] ?? Number.NaN);
    const redownloaded = (first?.sent ?? 0) + (second?.sent ?? 0) - body.length;
    t.diagnostic(`sent before SIGTERM ${first?.sent}, resumed at ${resumedAt}: ${redownloaded} bytes fetched twice`);
    // The stop checkpoints what arrived: only what sat in buffers is fetched again.
    assert.ok(resumedAt > 32 * MiB, `resumed at ${resumedAt}, past the last periodic checkpoint`);
    assert.ok(redownloaded <= BUFFER_TOLERANCE, `${redownloaded} bytes fetched twice`);
  } finally {
    await stopDaemon(daemon);
    await origin.close();
    await home.remove();
    await out.remove();
  }
});

it('e2e: /util /setpolicy checkpointBytes 4M, then kill -9: the bytes fetched twice follow the smaller interval', async (t) => {
  const body = randomBytes(64 * MiB);
  const home = await scratchDir('openbits-e2e-policy-home-');
  const out = await scratchDir('openbits-e2e-policy-out-');
  const origin = await startOrigin();
  const requests: ServedRequest[] = [];
  let reachedKillPoint: () => void = () => undefined;
  const killPoint = new Promise<void>((resolve) => {
    reachedKillPoint = resolve;
  });
  const killAt = 42 * MiB + 3 * 256 * 1024; // just before the 11th checkpoint: the worst case
  origin.route(
    '/policy.bin',
    countingRoute(
      body,
      requests,
      // Half the other tests' drip (~25 MB/s): a daemon stalled 300 ms at load 13 left 12.7 MB in
      // the buffers at 50 MB/s, past the 4 MiB + 8 MiB bound; at this rate 8 MiB is ~330 ms.
      (n) => (n === 1 ? { dripBytes: 128 * 1024, dripMs: 5 } : {}),
      (total) => (total >= killAt ? reachedKillPoint() : undefined),
    ),
  );
  let daemon = await spawnDaemon(home.path);
  try {
    await cliOk(home.path, ['/util', '/setpolicy', 'checkpointBytes', String(4 * MiB)]);
    assert.equal(await cliOk(home.path, ['/rawreturn', '/util', '/getpolicy', 'checkpointBytes']), String(4 * MiB));
    const dest = join(out.path, 'policy.bin');
    const job = await createJob(home.path, 'e2e-policy');
    await cliOk(home.path, ['/addfile', job, origin.url('/policy.bin'), dest]);
    await cliOk(home.path, ['/resume', job]);
    await killPoint;
    await killDaemon(daemon);
    daemon = await spawnDaemon(home.path); // the policy file in its home keeps the setting
    assert.equal(await cliOk(home.path, ['/rawreturn', '/util', '/getpolicy', 'checkpointBytes']), String(4 * MiB));
    await waitForState(home.path, job, 'TRANSFERRED', { daemon });
    await cliOk(home.path, ['/complete', job]);
    assert.equal(await sha256File(dest), sha256(body));
    const [first, second] = requests;
    const resumedAt = Number(/^bytes=(\d+)-$/u.exec(second?.range ?? '')?.[1] ?? Number.NaN);
    const redownloaded = (first?.sent ?? 0) + (second?.sent ?? 0) - body.length;
    t.diagnostic(`checkpointBytes 4 MiB: sent ${first?.sent}, resumed at ${resumedAt}, ${redownloaded} bytes twice`);
    assert.ok(resumedAt >= 36 * MiB, `resumed at ${resumedAt}: checkpoints every 4 MiB`);
    assert.ok(redownloaded <= 4 * MiB + BUFFER_TOLERANCE, `${redownloaded} bytes fetched twice`);
  } finally {
    await stopDaemon(daemon);
    await origin.close();
    await home.remove();
    await out.remove();
  }
});
