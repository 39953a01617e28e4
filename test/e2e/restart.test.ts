import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { connect } from '../../src/client/connect.ts';
import { derivedTempName } from '../../src/transfer/temp-file.ts';
import { spawnDaemon, stopDaemon } from '../daemon/helpers.ts';
import { FileServer } from '../helpers/file-server.ts';
import { failFirst, serving, startOrigin } from '../helpers/origin-server.ts';
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

// Restarts of bitsd seen through the CLI: on-demand start, a retry delay that outlives the
// daemon, and a kill -9 between the files of a job.

/** The daemon's job id of the CLI's `{GUID}`. */
const jobIdOf = (guid: string): string => guid.slice(1, -1).toLowerCase();

/** The temp files (`*.bits-tmp`) in a folder. */
const tempFilesIn = (folder: string): string[] => readdirSync(folder).filter((name) => name.endsWith('.bits-tmp'));

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

it('e2e: the CLI starts bitsd on demand (one daemon for several calls) and the job is there after it stops', async () => {
  const home = await scratchDir('openbits-e2e-ondemand-');
  let pid = 0;
  try {
    const created = await cli(home.path, ['/rawreturn', '/create', 'e2e-on-demand'], { autoStart: true });
    assert.equal(created.code, 0, created.stderr);
    const job = created.stdout;
    const client = connect({ socketPath: join(home.path, 'bitsd.sock'), autoStart: false });
    pid = (await client.status()).pid;
    await client.close();
    assert.ok(alive(pid));
    assert.equal((await cli(home.path, ['/rawreturn', '/getstate', job], { autoStart: true })).stdout, 'SUSPENDED');
    assert.match(readFileSync(join(home.path, 'bitsd.log'), 'utf8'), /bitsd is listening/u);
    const again = connect({ socketPath: join(home.path, 'bitsd.sock'), autoStart: false });
    assert.equal((await again.status()).pid, pid, 'the second call reached the same daemon');
    await again.close();

    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 200 && alive(pid); i++) await new Promise((r) => setTimeout(r, 25));
    assert.equal(alive(pid), false, 'bitsd stopped on SIGTERM');
    const down = await cli(home.path, ['/getstate', job]);
    assert.equal(down.code, 1, 'without autostart nobody answers');
    assert.equal(existsSync(join(home.path, 'bitsd.sock')), false);

    const back = await cli(home.path, ['/rawreturn', '/getdisplayname', job], { autoStart: true });
    assert.equal(back.stdout, 'e2e-on-demand');
    const client2 = connect({ socketPath: join(home.path, 'bitsd.sock'), autoStart: false });
    pid = (await client2.status()).pid;
    await client2.close();
  } finally {
    if (pid !== 0 && alive(pid)) process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 200 && pid !== 0 && alive(pid); i++) await new Promise((r) => setTimeout(r, 25));
    await home.remove();
  }
});

it('e2e: a job in TRANSIENT_ERROR across a bitsd restart retries after its delay and finishes', async () => {
  const home = await scratchDir('openbits-e2e-retry-home-');
  const out = await scratchDir('openbits-e2e-retry-out-');
  const origin = await startOrigin();
  const body = randomBytes(2 * MiB);
  const flaky = failFirst(1, 503, {}, serving(body, { etag: '"v1"' }));
  const hitAt: number[] = [];
  origin.route('/flaky.bin', (req, res, n) => {
    hitAt.push(performance.now());
    return flaky(req, res, n);
  });
  // The delay counts only while bitsd runs. It must outlast what happens between the 503 and the
  // first look after the restart (a CLI poll, the stop, a CLI call: seconds on a loaded machine;
  // at 5 s the job had sometimes retried and finished by then).
  const delayS = 20;
  let daemon = await spawnDaemon(home.path);
  try {
    const dest = join(out.path, 'flaky.bin');
    const job = await createJob(home.path, 'e2e-retry');
    await cliOk(home.path, ['/addfile', job, origin.url('/flaky.bin'), dest]);
    await cliOk(home.path, ['/setminretrydelay', job, String(delayS)]);
    await cliOk(home.path, ['/resume', job]);
    await waitForState(home.path, job, 'TRANSIENT_ERROR', { daemon });
    assert.equal(await stopDaemon(daemon), 0);
    const stoppedAt = performance.now();
    const restartedAt = performance.now();
    daemon = await spawnDaemon(home.path);
    assert.equal(await cliOk(home.path, ['/rawreturn', '/getstate', job]), 'TRANSIENT_ERROR');
    assert.match(await cliOk(home.path, ['/geterror', job]), /0x801901f7/iu, 'HTTP 503 as an HRESULT');
    await waitForState(home.path, job, 'TRANSFERRED', { daemon, timeoutMs: 30_000 + delayS * 1000 });
    await cliOk(home.path, ['/complete', job]);
    assert.equal(await sha256File(dest), sha256(body));
    assert.equal(hitAt.length, 2);
    // The retry waited out the rest of the delay after the restart: the time bitsd ran between
    // the 503 and the retry (at most this much) covers the whole delay.
    const ranMs = stoppedAt - (hitAt[0] ?? 0) + ((hitAt[1] ?? 0) - restartedAt);
    assert.ok(ranMs >= delayS * 1000, `retried after ${ranMs} ms of bitsd running`);
  } finally {
    await stopDaemon(daemon);
    await origin.close();
    await home.remove();
    await out.remove();
  }
});

it('e2e: kill -9 while the second file of a job downloads: the first is not fetched again', async () => {
  const home = await scratchDir('openbits-e2e-twofiles-home-');
  const out = await scratchDir('openbits-e2e-twofiles-out-');
  const files = await FileServer.start();
  const first = files.add('/first.bin', 4 * MiB);
  const origin = await startOrigin();
  const second = randomBytes(64 * MiB);
  const requests: ServedRequest[] = [];
  let reached: () => void = () => undefined;
  const killPoint = new Promise<void>((resolve) => {
    reached = resolve;
  });
  origin.route(
    '/second.bin',
    countingRoute(
      second,
      requests,
      (n) => (n === 1 ? { dripBytes: 256 * 1024, dripMs: 5 } : {}),
      (total) => (total >= 40 * MiB ? reached() : undefined),
    ),
  );
  let daemon = await spawnDaemon(home.path);
  try {
    const job = await createJob(home.path, 'e2e-two-files');
    await cliOk(home.path, ['/addfile', job, files.url('/first.bin'), join(out.path, 'first.bin')]);
    await cliOk(home.path, ['/addfile', job, origin.url('/second.bin'), join(out.path, 'second.bin')]);
    await cliOk(home.path, ['/resume', job]);
    await killPoint;
    await killDaemon(daemon);
    daemon = await spawnDaemon(home.path);
    await waitForState(home.path, job, 'TRANSFERRED', { daemon });
    const listed = await cliOk(home.path, ['/listfiles', job]);
    assert.match(listed, new RegExp(`^${first.length} / ${first.length} WORKING .*first\\.bin$`, 'mu'));
    await cliOk(home.path, ['/complete', job]);
    assert.equal(await sha256File(join(out.path, 'first.bin')), sha256(first));
    assert.equal(await sha256File(join(out.path, 'second.bin')), sha256(second));
    assert.equal(files.hits.get('/first.bin'), 1, 'the finished file was not fetched again');
    assert.equal(requests.length, 2);
    assert.match(requests[1]?.range ?? '', /^bytes=[1-9]\d*-$/u);
  } finally {
    await stopDaemon(daemon);
    await files.close();
    await origin.close();
    await home.remove();
    await out.remove();
  }
});

it('e2e: kill -9 mid-download, then the file changes on the server (new ETag) or the server drops Range: the restart fetches it whole', async () => {
  const home = await scratchDir('openbits-e2e-changed-home-');
  const out = await scratchDir('openbits-e2e-changed-out-');
  const origin = await startOrigin();
  const v1 = randomBytes(48 * MiB);
  const v2 = randomBytes(48 * MiB);
  const changed: ServedRequest[] = [];
  const noRange: ServedRequest[] = [];
  let stopAt: () => void = () => undefined;
  let pending = new Promise<void>((resolve) => {
    stopAt = resolve;
  });
  const dripFirst = (n: number) => (n === 1 ? { dripBytes: 256 * 1024, dripMs: 5 } : {});
  let current = v1;
  origin.route('/changed.bin', (req, res, n) =>
    countingRoute(current, changed, dripFirst, (total) => (total >= 40 * MiB ? stopAt() : undefined))(req, res, n),
  );
  origin.route(
    '/norange.bin',
    countingRoute(
      v1,
      noRange,
      (n) => ({ ...dripFirst(n), ignoreRange: true }),
      (total) => (total >= 40 * MiB ? stopAt() : undefined),
    ),
  );
  let daemon = await spawnDaemon(home.path);
  try {
    for (const [path, after] of [
      ['/changed.bin', () => (current = v2)],
      ['/norange.bin', () => undefined],
    ] as const) {
      const dest = join(out.path, path.slice(1));
      const job = await createJob(home.path, `e2e${path.replace('/', '-')}`);
      await cliOk(home.path, ['/addfile', job, origin.url(path), dest]);
      await cliOk(home.path, ['/resume', job]);
      await pending;
      await killDaemon(daemon);
      after();
      pending = new Promise<void>((resolve) => {
        stopAt = resolve;
      });
      daemon = await spawnDaemon(home.path);
      await waitForState(home.path, job, 'TRANSFERRED', { daemon });
      await cliOk(home.path, ['/complete', job]);
      const want = path === '/changed.bin' ? v2 : v1;
      assert.equal(await sha256File(dest), sha256(want), path);
    }
    // The changed file was asked for with If-Range (and answered whole); the other never took a range.
    assert.equal(changed.length, 2);
    assert.match(changed[1]?.range ?? '', /^bytes=[1-9]\d*-$/u);
    assert.equal(changed[1]?.sent, v2.length, 'the new version came whole');
    assert.equal(noRange.at(-1)?.sent, v1.length);
  } finally {
    await stopDaemon(daemon);
    await origin.close();
    await home.remove();
    await out.remove();
  }
});

it('e2e: kill -9 while clients create and change jobs: every acknowledged call survives the restart', async () => {
  const home = await scratchDir('openbits-e2e-acked-');
  let daemon = await spawnDaemon(home.path);
  // Generous: a loaded 2-core machine can hold a call for seconds; a call that fails before the
  // kill fails the test (it used to end its worker, and the wait below then never ended).
  const client = connect({ socketPath: daemon.socketPath, autoStart: false, timeoutMs: 60_000 });
  const acked = new Map<string, string>();
  let stop = false;
  let killed = false;
  const worker = async (w: number): Promise<void> => {
    for (let i = 0; !stop; i++) {
      try {
        const job = await client.createJob(`w${w}-${i}`);
        acked.set(job.id, `w${w}-${i}`);
        await client.setDescription(job.id, `described w${w}-${i}`);
        acked.set(job.id, `w${w}-${i} described`);
      } catch (err) {
        if (!killed) throw err;
        return; // the daemon died under this call: its outcome is unknown, nothing to check
      }
    }
  };
  try {
    const workers = [0, 1, 2, 3].map((w) => worker(w));
    const failed = Promise.race(workers).then(() => new Error('a worker ended before the kill'));
    while (acked.size < 40) {
      const early = await Promise.race([failed, new Promise<null>((r) => setTimeout(() => r(null), 5))]);
      if (early !== null) throw early;
    }
    killed = true;
    await killDaemon(daemon);
    stop = true;
    await Promise.all(workers);
    await client.close();
    daemon = await spawnDaemon(home.path);
    const after = connect({ socketPath: daemon.socketPath, autoStart: false });
    const jobs = new Map((await after.enumJobs()).map((j) => [j.id, j]));
    await after.close();
    for (const [id, what] of acked) {
      const job = jobs.get(id);
      assert.ok(job !== undefined, `acknowledged job ${what} (${id}) lost`);
      if (what.endsWith('described')) assert.equal(job.description, `described ${what.split(' ')[0]}`);
    }
    assert.ok(jobs.size >= acked.size);
  } finally {
    await stopDaemon(daemon);
    await home.remove();
  }
});

it('e2e: /addfileset of 40 files, kill -9 in the middle: no file reported transferred is fetched again, all 40 published', async () => {
  const home = await scratchDir('openbits-e2e-fileset-home-');
  const out = await scratchDir('openbits-e2e-fileset-out-');
  const files = await FileServer.start();
  const bodies: Buffer[] = [];
  const lines: string[] = ['# remote local'];
  // f16 stops half way until the kill: the kill lands mid-set however late this process sees it.
  const killed = Promise.withResolvers<void>();
  for (let i = 0; i < 40; i++) {
    const hold = i === 16 ? { hold: { at: 256 * 1024, release: killed.promise } } : {};
    bodies.push(files.add(`/f${i}.bin`, 512 * 1024 + i, { rateBps: 4 * MiB, ...hold }));
    lines.push(`${files.url(`/f${i}.bin`)} ${join(out.path, `f${i}.bin`)}`);
  }
  const list = join(home.path, 'files.txt');
  writeFileSync(list, `${lines.join('\n')}\n`);
  let daemon = await spawnDaemon(home.path);
  try {
    const job = await createJob(home.path, 'e2e-fileset');
    await cliOk(home.path, ['/addfileset', job, list]);
    assert.equal(await cliOk(home.path, ['/rawreturn', '/getfilestotal', job]), '40');
    await cliOk(home.path, ['/resume', job]);
    // Files go one after another and f16 is held: f0–f15 are reported transferred (their round
    // recorded) while f16 is asked for.
    const deadline = Date.now() + 30_000;
    const reported = async () => Number(await cliOk(home.path, ['/rawreturn', '/getfilestransferred', job]));
    while ((!files.hits.has('/f16.bin') || (await reported()) < 16) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const transferred = await reported();
    await killDaemon(daemon);
    killed.resolve();
    const started = [...files.hits.keys()].length;
    assert.ok(started >= 17 && started < 40, `the kill landed mid-set (${started} files started)`);
    assert.ok(transferred >= 16, `${transferred} files reported transferred before the kill`);
    // f16's temp file was never recorded (no checkpoint yet): it is at its derived name.
    const leftover = derivedTempName(join(out.path, 'f16.bin'), { jobId: jobIdOf(job), fileIndex: 16 });
    assert.ok(existsSync(leftover), 'the killed run left f16 at its derived temp name');
    daemon = await spawnDaemon(home.path);
    await waitForState(home.path, job, 'TRANSFERRED', { daemon, timeoutMs: 60_000 });
    await cliOk(home.path, ['/complete', job]);
    for (let i = 0; i < 40; i++) {
      assert.equal(await sha256File(join(out.path, `f${i}.bin`)), sha256(bodies[i] as Buffer), `f${i}`);
    }
    assert.deepEqual(tempFilesIn(out.path), [], 'no temp file is left behind');
    for (let i = 0; i < transferred; i++) {
      assert.equal(
        files.hits.get(`/f${i}.bin`),
        1,
        `f${i} was reported transferred before the kill: not fetched again`,
      );
    }
  } finally {
    await stopDaemon(daemon);
    await files.close();
    await home.remove();
    await out.remove();
  }
});

it('e2e: kill -9 mid-file, restart, Cancel: no temp file is left behind, recorded or not', async () => {
  const home = await scratchDir('openbits-e2e-cancel-home-');
  const out = await scratchDir('openbits-e2e-cancel-out-');
  const files = await FileServer.start();
  const killed = Promise.withResolvers<void>();
  const lines: string[] = ['# remote local'];
  for (let i = 0; i < 6; i++) {
    // f3 stops half way until after the Cancel: the restarted run is stuck there too.
    const hold = i === 3 ? { hold: { at: 256 * 1024, release: killed.promise } } : {};
    files.add(`/f${i}.bin`, 512 * 1024, { rateBps: 8 * MiB, ...hold });
    lines.push(`${files.url(`/f${i}.bin`)} ${join(out.path, `f${i}.bin`)}`);
  }
  const list = join(home.path, 'files.txt');
  writeFileSync(list, `${lines.join('\n')}\n`);
  let daemon = await spawnDaemon(home.path);
  try {
    const job = await createJob(home.path, 'e2e-cancel-leftovers');
    await cliOk(home.path, ['/addfileset', job, list]);
    await cliOk(home.path, ['/resume', job]);
    const deadline = Date.now() + 30_000;
    while (!files.hits.has('/f3.bin') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await killDaemon(daemon);
    assert.ok(tempFilesIn(out.path).length >= 1, 'the kill left temp files');
    assert.ok(existsSync(derivedTempName(join(out.path, 'f3.bin'), { jobId: jobIdOf(job), fileIndex: 3 })));
    daemon = await spawnDaemon(home.path);
    await cliOk(home.path, ['/cancel', job]);
    killed.resolve();
    assert.deepEqual(tempFilesIn(out.path), [], 'Cancel removed every temp file');
    assert.deepEqual(readdirSync(out.path), [], 'and published nothing');
  } finally {
    await stopDaemon(daemon);
    await files.close();
    await home.remove();
    await out.remove();
  }
});
