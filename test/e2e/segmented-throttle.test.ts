import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { it } from 'node:test';
import { spawnDaemon, stopDaemon } from '../daemon/helpers.ts';
import { serve, startOrigin } from '../helpers/origin-server.ts';
import { cliOk, createJob, MiB, scratchDir, sha256, sha256File, waitForState } from './helpers.ts';

it('e2e: /setmaxbandwidth caps a 4-connection download as a whole (every part takes from the job’s one limiter)', async (t) => {
  const body = randomBytes(6 * MiB);
  const home = await scratchDir('openbits-e2e-segbw-home-');
  const out = await scratchDir('openbits-e2e-segbw-out-');
  const origin = await startOrigin();
  origin.route('/f', (req, res) => serve(req, res, body, { etag: '"f"' }));
  const daemon = await spawnDaemon(home.path);
  try {
    await cliOk(home.path, ['/util', '/setpolicy', 'minSplitBytes', String(MiB)]);
    const job = await createJob(home.path, 'e2e-segbw');
    await cliOk(home.path, ['/addfile', job, origin.url('/f'), join(out.path, 'f.bin')]);
    await cliOk(home.path, ['/setmaxconnections', job, '4']);
    await cliOk(home.path, ['/setmaxbandwidth', job, '2M']);
    const started = Date.now();
    await cliOk(home.path, ['/resume', job]);
    await waitForState(home.path, job, 'TRANSFERRED', { daemon, timeoutMs: 120_000 });
    const seconds = (Date.now() - started) / 1000;
    await cliOk(home.path, ['/complete', job]);
    assert.equal(await sha256File(join(out.path, 'f.bin')), sha256(body));
    assert.ok(origin.hits('/f').length >= 4, 'the file came over 4 connections');
    t.diagnostic(`6 MiB at a 2 MiB/s cap over 4 connections: ${seconds.toFixed(1)} s`);
    // 4 connections each at the cap would take 0.75 s; the cap over all of them, 3 s (less a burst).
    assert.ok(seconds >= 1.5, `${seconds} s: the cap holds for the parts together`);
  } finally {
    await stopDaemon(daemon);
    await origin.close();
    await home.remove();
    await out.remove();
  }
});
