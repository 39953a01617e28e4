import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { spawnDaemon, stopDaemon } from '../daemon/helpers.ts';
import { serve, startOrigin } from '../helpers/origin-server.ts';
import { cli, cliOk, createJob, MiB, scratchDir, sha256, sha256File, waitForState } from './helpers.ts';

const OPENBITS = fileURLToPath(new URL('../../bin/openbits.js', import.meta.url));
const PIECE = 256 * 1024;

function meta4(name: string, body: Buffer, urls: readonly string[]): string {
  const pieces: string[] = [];
  for (let at = 0; at < body.length; at += PIECE) {
    pieces.push(
      `<hash>${createHash('sha256')
        .update(body.subarray(at, at + PIECE))
        .digest('hex')}</hash>`,
    );
  }
  return `<?xml version="1.0" encoding="UTF-8"?>
<metalink xmlns="urn:ietf:params:xml:ns:metalink">
  <file name="${name}">
    <size>${body.length}</size>
    <hash type="sha-256">${sha256(body)}</hash>
    <pieces length="${PIECE}" type="sha-256">${pieces.join('')}</pieces>
    ${urls.map((u, i) => `<url priority="${i + 1}">${u}</url>`).join('\n    ')}
  </file>
</metalink>`;
}

it('e2e: /importmetalink with a mirror that corrupts a piece: the file ends right and bitsd names the liar', async () => {
  const body = randomBytes(12 * MiB + 777);
  const home = await scratchDir('openbits-e2e-meta-home-');
  const out = await scratchDir('openbits-e2e-meta-out-');
  const [good, liar] = await Promise.all([startOrigin(), startOrigin()]);
  good.route('/iso', (req, res) => serve(req, res, body, { etag: '"g"', dripBytes: 64 * 1024, dripMs: 3 }));
  // Flips one byte in the first piece of every range it is asked for.
  liar.route('/iso', (req, res) => {
    const first = Number(/^bytes=(\d+)-/u.exec(req.headers.range ?? '')?.[1] ?? 0);
    const bad = Buffer.from(body);
    bad[first + 100] = (bad[first + 100] ?? 0) ^ 1;
    return serve(req, res, bad, { etag: '"l"' });
  });
  const daemon = await spawnDaemon(home.path);
  try {
    await cliOk(home.path, ['/util', '/setpolicy', 'minSplitBytes', String(MiB)]);
    const doc = join(out.path, 'iso.meta4');
    await writeFile(doc, meta4('image.iso', body, [good.url('/iso'), liar.url('/iso')]));
    const job = await createJob(home.path, 'e2e-meta4');
    await cliOk(home.path, ['/importmetalink', job, doc, out.path]);
    assert.equal(await cliOk(home.path, ['/rawreturn', '/getmirrors', job, '0']), liar.url('/iso'));
    const digests = await cliOk(home.path, ['/rawreturn', '/getdigests', job, '0']);
    assert.equal(
      digests,
      `sha-256=${sha256(body)}\npieces: ${Math.ceil(body.length / PIECE)} × ${PIECE} bytes, sha-256`,
    );
    await cliOk(home.path, ['/setmaxconnections', job, '4']);
    await cliOk(home.path, ['/resume', job]);
    await waitForState(home.path, job, 'TRANSFERRED', { daemon, timeoutMs: 120_000 });
    await cliOk(home.path, ['/complete', job]);
    assert.equal(await sha256File(join(out.path, 'image.iso')), sha256(body));
    assert.ok(liar.hits('/iso').length >= 1, 'the liar served a part');
    const log = daemon.stderr();
    assert.match(log, /which failed the sha-256 check/u);
    assert.ok(log.includes(liar.url('/iso')), 'the log names the lying mirror');

    const bad = await cli(home.path, ['/importmetalink', job, join(out.path, 'nope.meta4'), out.path]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /BG_E_INVALID_METALINK|0xA0200002/iu);
  } finally {
    await stopDaemon(daemon);
    await Promise.all([good.close(), liar.close()]);
    await home.remove();
    await out.remove();
  }
});

it('e2e: a file that never matches its digest ends in ERROR with BG_E_DIGEST_MISMATCH; openbits get --checksum', async () => {
  const body = randomBytes(2 * MiB);
  const home = await scratchDir('openbits-e2e-digest-home-');
  const out = await scratchDir('openbits-e2e-digest-out-');
  const origin = await startOrigin();
  origin.route('/f', (req, res) => serve(req, res, body, { etag: '"f"' }));
  const daemon = await spawnDaemon(home.path);
  try {
    const job = await createJob(home.path, 'e2e-digest');
    await cliOk(home.path, ['/addfile', job, origin.url('/f'), join(out.path, 'f.bin')]);
    await cliOk(home.path, ['/setdigests', job, '0', `sha256=${'0'.repeat(64)}`]);
    await cliOk(home.path, ['/resume', job]);
    const deadline = Date.now() + 60_000;
    while ((await cliOk(home.path, ['/rawreturn', '/getstate', job])) !== 'ERROR') {
      assert.ok(Date.now() < deadline, 'the job reaches ERROR');
      await new Promise((r) => setTimeout(r, 100));
    }
    const error = await cliOk(home.path, ['/geterror', job]);
    assert.match(error, /BG_E_DIGEST_MISMATCH|0xA0200001/iu);
    assert.match(error, /failed its sha-256 digest/u);

    // openbits get --checksum with the right digest: done, published.
    const child = spawn(
      process.execPath,
      [OPENBITS, 'get', '-q', '--checksum', `sha-256=${sha256(body)}`, '-o', 'g.bin', origin.url('/f')],
      { cwd: out.path, env: { ...process.env, OPENBITS_HOME: home.path, OPENBITS_NO_AUTOSTART: '1' } },
    );
    let stderr = '';
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    const [code] = await once(child, 'exit');
    assert.equal(code, 0, stderr);
    assert.equal(await sha256File(join(out.path, 'g.bin')), sha256(body));
  } finally {
    await stopDaemon(daemon);
    await origin.close();
    await home.remove();
    await out.remove();
  }
});
