import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { it } from 'node:test';
import { spawnDaemon, stopDaemon } from '../daemon/helpers.ts';
import { serve, startOrigin } from '../helpers/origin-server.ts';
import { cliOk, createJob, MiB, scratchDir, sha256, sha256File, waitForState } from './helpers.ts';

it('e2e: bitsd keeps the mirrors a server announces (Link rel=duplicate) and fails a file whose offered Digest does not match', async () => {
  const body = randomBytes(6 * MiB + 99);
  const home = await scratchDir('openbits-e2e-offers-home-');
  const out = await scratchDir('openbits-e2e-offers-out-');
  const [origin, mirror] = await Promise.all([startOrigin(), startOrigin()]);
  const digest = `SHA-256=${createHash('sha256').update(body).digest('base64')}`;
  origin.route('/iso', (req, res) =>
    serve(req, res, body, {
      etag: '"o"',
      dripBytes: 64 * 1024,
      dripMs: 5,
      extraHeaders: { link: `<${mirror.url('/iso')}>; rel=duplicate`, digest },
    }),
  );
  mirror.route('/iso', (req, res) => serve(req, res, body, { etag: '"m"' }));
  const wrong = `sha-256=${createHash('sha256').update('not it').digest('base64')}`;
  origin.route('/bad', (req, res) => serve(req, res, body, { etag: '"b"', extraHeaders: { digest: wrong } }));
  const daemon = await spawnDaemon(home.path);
  try {
    await cliOk(home.path, ['/util', '/setpolicy', 'minSplitBytes', String(MiB)]);
    const job = await createJob(home.path, 'e2e-offers');
    await cliOk(home.path, ['/addfile', job, origin.url('/iso'), join(out.path, 'image.iso')]);
    await cliOk(home.path, ['/setmaxconnections', job, '4']);
    await cliOk(home.path, ['/resume', job]);
    await waitForState(home.path, job, 'TRANSFERRED', { daemon, timeoutMs: 120_000 });
    assert.equal(await cliOk(home.path, ['/rawreturn', '/getmirrors', job, '0']), mirror.url('/iso'));
    assert.ok(mirror.hits('/iso').length >= 1, 'the announced mirror served a part');
    await cliOk(home.path, ['/complete', job]);
    assert.equal(await sha256File(join(out.path, 'image.iso')), sha256(body));

    const bad = await createJob(home.path, 'e2e-offers-bad');
    await cliOk(home.path, ['/addfile', bad, origin.url('/bad'), join(out.path, 'bad.bin')]);
    await cliOk(home.path, ['/resume', bad]);
    await waitForState(home.path, bad, 'ERROR', { daemon });
    const error = await cliOk(home.path, ['/geterror', bad]);
    assert.match(error, /BG_E_DIGEST_MISMATCH|0xa0200001/iu, error);
    assert.match(error, /sha-256/u, error);
  } finally {
    await stopDaemon(daemon);
    await Promise.all([origin.close(), mirror.close()]);
    await home.remove();
    await out.remove();
  }
});
