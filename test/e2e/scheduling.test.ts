import assert from 'node:assert/strict';
import { join } from 'node:path';
import { it } from 'node:test';
import { spawnDaemon, stopDaemon } from '../daemon/helpers.ts';
import { FileServer, sha256 } from '../helpers/file-server.ts';
import { cliOk, createJob, MiB, scratchDir, sha256File, waitForState } from './helpers.ts';

// The scheduler as a user sees it through the CLI (docs/scheduling.md): one background job at a
// time by priority, a higher one preempts a running lower one, FOREGROUND runs beside them.

type Listed = { id: string; displayName: string; state: string };

it('e2e: HIGH preempts a running LOW job; FOREGROUND runs beside; LOW resumes from its offset afterwards', async () => {
  const home = await scratchDir('openbits-e2e-sched-home-');
  const out = await scratchDir('openbits-e2e-sched-out-');
  const server = await FileServer.start();
  const daemon = await spawnDaemon(home.path);
  const lowSeen = Promise.withResolvers<void>();
  const highSeen = Promise.withResolvers<void>();
  const states = async (): Promise<Record<string, string>> => {
    const jobs = JSON.parse(await cliOk(home.path, ['--json', '/list'])) as Listed[];
    return Object.fromEntries(jobs.map((j) => [j.displayName, j.state]));
  };
  const until = async (what: string, ok: (s: Record<string, string>) => boolean): Promise<Record<string, string>> => {
    const deadline = Date.now() + 40_000;
    let s = await states();
    while (!ok(s) && Date.now() < deadline) s = await states();
    assert.ok(ok(s), `${what}: ${JSON.stringify(s)}`);
    return s;
  };
  try {
    // Dripped at 1 MiB/s and held part way until the test has seen what it waits for: each job
    // is still transferring when looked at, however slow the CLI polls are (unheld, HIGH could
    // finish before FOREGROUND and let LOW run again).
    const low = server.add('/low.bin', 6 * MiB, { rateBps: MiB, hold: { at: MiB, release: lowSeen.promise } });
    const high = server.add('/high.bin', 10 * MiB, { rateBps: MiB, hold: { at: MiB, release: highSeen.promise } });
    const fg = server.add('/fg.bin', 2 * MiB);
    const add = async (name: string, path: string, priority: string): Promise<string> => {
      const job = await createJob(home.path, name);
      await cliOk(home.path, ['/addfile', job, server.url(path), join(out.path, `${name}.bin`)]);
      await cliOk(home.path, ['/setpriority', job, priority]);
      return job;
    };
    const lowJob = await add('low', '/low.bin', 'LOW');
    const highJob = await add('high', '/high.bin', 'HIGH');
    const fgJob = await add('fg', '/fg.bin', 'FOREGROUND');

    await cliOk(home.path, ['/resume', lowJob]);
    await until('LOW transfers', (s) => s.low === 'TRANSFERRING');
    await cliOk(home.path, ['/resume', highJob]);
    await until('HIGH preempts LOW', (s) => s.high === 'TRANSFERRING' && s.low === 'QUEUED');
    lowSeen.resolve();
    await cliOk(home.path, ['/resume', fgJob]);
    const seen = await until('FOREGROUND done while HIGH runs', (s) => s.fg === 'TRANSFERRED');
    assert.equal(seen.low, 'QUEUED', 'LOW still waits for HIGH');
    assert.equal(seen.high, 'TRANSFERRING', JSON.stringify(seen));
    highSeen.resolve();

    await waitForState(home.path, highJob, 'TRANSFERRED', { daemon });
    await waitForState(home.path, lowJob, 'TRANSFERRED', { daemon });
    for (const job of [lowJob, highJob, fgJob]) await cliOk(home.path, ['/complete', job]);
    assert.equal(await sha256File(join(out.path, 'low.bin')), sha256(low));
    assert.equal(await sha256File(join(out.path, 'high.bin')), sha256(high));
    assert.equal(await sha256File(join(out.path, 'fg.bin')), sha256(fg));
    const lowRequests = server.requests.filter((r) => r.path === '/low.bin');
    assert.ok(lowRequests.length >= 2, 'LOW was preempted and asked again');
    assert.match(lowRequests.at(-1)?.range ?? '', /^bytes=[1-9]\d*-$/u, 'and continued where it stopped');
  } finally {
    lowSeen.resolve();
    highSeen.resolve();
    await stopDaemon(daemon);
    await server.close();
    await home.remove();
    await out.remove();
  }
});
