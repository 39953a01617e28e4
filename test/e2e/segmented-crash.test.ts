import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { it } from 'node:test';
import type { FileSegment } from '../../src/core/index.ts';
import { spawnDaemon, stopDaemon } from '../daemon/helpers.ts';
import { startOrigin } from '../helpers/origin-server.ts';
import {
  cliOk,
  countingRoute,
  createJob,
  findDatabase,
  killDaemon,
  MiB,
  type ServedRequest,
  scratchDir,
  sha256,
  sha256File,
  waitForState,
} from './helpers.ts';

const SIZE = 96 * MiB;
const CHECKPOINT = 8 * MiB;
/** Kill once this much was sent over every connection together: several checkpoints in. */
const KILL_AT = 44 * MiB;

/** What the store holds for file 0 of the job (read straight from SQLite while bitsd is down). */
function recorded(db: string): { bytes: number; segments: FileSegment[] | null } {
  const conn = new DatabaseSync(db, { readOnly: true });
  try {
    const row = conn.prepare('SELECT bytes_transferred, segments FROM files WHERE idx = 0').get() as {
      bytes_transferred: number;
      segments: string | null;
    };
    return { bytes: row.bytes_transferred, segments: row.segments === null ? null : JSON.parse(row.segments) };
  } finally {
    conn.close();
  }
}

const firstByte = (range: string | undefined): number => Number(/^bytes=(\d+)-/u.exec(range ?? '')?.[1] ?? Number.NaN);

it('e2e: kill -9 of bitsd during a 4-connection download from a server and a mirror; the restart resumes every part from its synced offset', async (t) => {
  const body = randomBytes(SIZE);
  const home = await scratchDir('openbits-e2e-seg-home-');
  const out = await scratchDir('openbits-e2e-seg-out-');
  const [origin, mirror] = await Promise.all([startOrigin(), startOrigin()]);
  const requests: ServedRequest[] = [];
  let killed = false;
  let reachedKillPoint: () => void = () => undefined;
  const killPoint = new Promise<void>((resolve) => {
    reachedKillPoint = resolve;
  });
  // Both serve into one request log: the parts spread over them.
  const route = countingRoute(
    body,
    requests,
    // Before the kill every connection drips (about 25 MB/s each), so little sits in buffers.
    () => (killed ? {} : { dripBytes: 128 * 1024, dripMs: 5 }),
    (total) => (total >= KILL_AT ? reachedKillPoint() : undefined),
  );
  origin.route('/seg.bin', route);
  mirror.route('/seg.bin', route);
  let daemon = await spawnDaemon(home.path);
  try {
    await cliOk(home.path, ['/util', '/setpolicy', 'checkpointBytes', String(CHECKPOINT)]);
    await cliOk(home.path, ['/util', '/setpolicy', 'minSplitBytes', String(8 * MiB)]);
    const dest = join(out.path, 'seg.bin');
    const job = await createJob(home.path, 'e2e-seg');
    await cliOk(home.path, ['/addfile', job, origin.url('/seg.bin'), dest]);
    await cliOk(home.path, ['/setmaxconnections', job, '4']);
    await cliOk(home.path, ['/setmirrors', job, '0', mirror.url('/seg.bin')]);
    assert.equal(await cliOk(home.path, ['/rawreturn', '/getmaxconnections', job]), '4');
    const t0 = Date.now();
    await cliOk(home.path, ['/resume', job]);
    await killPoint;
    t.diagnostic(`kill point after ${Date.now() - t0} ms`);
    await killDaemon(daemon);
    killed = true;
    const before = requests.length;
    const sentBefore = requests.reduce((n, r) => n + r.sent, 0);

    const atKill = recorded(await findDatabase(home.path));
    assert.ok(atKill.segments !== null, 'a segmented layout was recorded');
    assert.equal(atKill.segments.length, 4, JSON.stringify(atKill.segments));
    const durable = atKill.segments.reduce((n, s) => n + (s.done - s.start), 0);
    assert.equal(atKill.bytes, durable, 'bytesTransferred is the sum of the parts');
    assert.ok(durable >= CHECKPOINT, `checkpoints happened before the kill (${durable} bytes durable)`);
    assert.ok(durable <= sentBefore, 'no more durable than was sent');
    assert.ok(
      atKill.segments.filter((s) => s.done > s.start).length >= 3,
      `every connection made progress: ${JSON.stringify(atKill.segments)}`,
    );

    daemon = await spawnDaemon(home.path);
    const t1 = Date.now();
    await waitForState(home.path, job, 'TRANSFERRED', { daemon, timeoutMs: 120_000 });
    t.diagnostic(`transferred ${Date.now() - t1} ms after the restart`);
    await cliOk(home.path, ['/complete', job]);
    assert.equal(await sha256File(dest), sha256(body));
    assert.ok(mirror.hits('/seg.bin').length >= 1, 'the mirror served parts');

    const after = requests.slice(before);
    for (const r of after) {
      const first = firstByte(r.range);
      assert.match(r.range ?? '', /^bytes=\d+-\d+$/u, 'the resume asks for closed ranges only');
      const covered = atKill.segments.some((s) => first >= s.start && first < s.done);
      assert.ok(!covered, `the resume asked for ${r.range}, inside bytes a sync covered`);
    }
    for (const s of atKill.segments.filter((p) => p.done < p.end)) {
      assert.ok(
        after.some((r) => firstByte(r.range) === s.done),
        `part ${s.start}-${s.end} resumed at its synced offset ${s.done}: ${after.map((r) => r.range).join(', ')}`,
      );
    }
    const sentAfter = after.reduce((n, r) => n + r.sent, 0);
    assert.ok(sentAfter <= SIZE - durable + MiB, `after the restart ${sentAfter} bytes for ${SIZE - durable} missing`);
    const twice = sentBefore + sentAfter - SIZE;
    // One checkpoint interval for all parts together, plus what sat in each connection's buffers
    // (8 MiB each, as crash-resume.test.ts allows one connection on this loaded machine).
    assert.ok(twice <= CHECKPOINT + 4 * 8 * MiB, `${twice} bytes fetched twice: one interval plus buffers at most`);
    t.diagnostic(
      `sent before the kill ${sentBefore}, durable ${durable} in ${JSON.stringify(atKill.segments)}; ` +
        `${sentBefore + sentAfter - SIZE} bytes fetched twice in all`,
    );
  } finally {
    await stopDaemon(daemon);
    await Promise.all([origin.close(), mirror.close()]);
    await home.remove();
    await out.remove();
  }
});

it('e2e: a mirror that changes its file mid-way is dropped (bitsd logs which one); the file comes whole from the others', async () => {
  const body = randomBytes(32 * MiB);
  const changed = randomBytes(body.length);
  const home = await scratchDir('openbits-e2e-mirror-home-');
  const out = await scratchDir('openbits-e2e-mirror-out-');
  const [primary, good, fickle] = await Promise.all([startOrigin(), startOrigin(), startOrigin()]);
  // The others drip (about 6 MB/s a connection): the fast mirror is back for more long before
  // the parts left are too small to split (1 MiB halves).
  const drip = { dripBytes: 32 * 1024, dripMs: 5 };
  primary.route(
    '/f.bin',
    countingRoute(body, [], () => drip),
  );
  good.route(
    '/f.bin',
    countingRoute(body, [], () => drip),
  );
  // Fast (so its connection comes back for more), then the same size with another ETag and other
  // bytes from its second request on.
  fickle.route('/f.bin', (req, res, n) =>
    n === 1
      ? countingRoute(body, [], () => ({ etag: '"old"' }))(req, res, n)
      : countingRoute(changed, [], () => ({ etag: '"new"' }))(req, res, n),
  );
  const daemon = await spawnDaemon(home.path);
  try {
    await cliOk(home.path, ['/util', '/setpolicy', 'minSplitBytes', String(MiB)]);
    const dest = join(out.path, 'f.bin');
    const job = await createJob(home.path, 'e2e-mirror');
    await cliOk(home.path, ['/addfile', job, primary.url('/f.bin'), dest]);
    await cliOk(home.path, ['/setmirrors', job, '0', good.url('/f.bin'), fickle.url('/f.bin')]);
    assert.equal(
      await cliOk(home.path, ['/rawreturn', '/getmirrors', job, '0']),
      `${good.url('/f.bin')}\n${fickle.url('/f.bin')}`,
    );
    await cliOk(home.path, ['/setmaxconnections', job, '6']);
    await cliOk(home.path, ['/resume', job]);
    await waitForState(home.path, job, 'TRANSFERRED', { daemon, timeoutMs: 120_000 });
    await cliOk(home.path, ['/complete', job]);
    assert.equal(await sha256File(dest), sha256(body), "no byte of the mirror's new file is in it");
    assert.ok(fickle.hits('/f.bin').length >= 2, 'the fickle mirror was asked twice');
    assert.ok(good.hits('/f.bin').length >= 1 && primary.hits('/f.bin').length >= 1);
    const log = daemon.stderr();
    assert.match(log, /source dropped/u);
    assert.ok(log.includes(fickle.url('/f.bin')), 'the log names the mirror');
    assert.ok(!log.includes(`"url":"${good.url('/f.bin')}"`), 'and not the good one');
  } finally {
    await stopDaemon(daemon);
    await Promise.all([primary.close(), good.close(), fickle.close()]);
    await home.remove();
    await out.remove();
  }
});
