import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { startBitsUploadServer } from '../../src/upload-server/server.ts';
import { spawnDaemon, stopDaemon } from '../daemon/helpers.ts';
import { startCuttingProxy } from '../helpers/cutting-proxy.ts';
import { startBackEnd } from '../upload-server/helpers/back-end.ts';
import { cliOk, createJob, MiB, scratchDir, sha256, sha256File, waitForState, writeRandomFile } from './helpers.ts';

// Issue 12 item 9: an upload-reply job with no reply file name (BITS generates one and
// GetReplyFileName returns it) whose reply download is cut mid-body twice.

it('e2e: /getreplyfilename names the generated reply file; a reply cut mid-body resumes with Range and If-Range; /complete leaves only the upload and the reply', async () => {
  const reply = randomBytes(8 * MiB);
  const app = await startBackEnd((_n, res) => {
    res.end(reply);
  });
  const home = await scratchDir('openbits-e2e-replyresume-home-');
  const work = await scratchDir('openbits-e2e-replyresume-');
  const root = join(work.path, 'root');
  await mkdir(root);
  const gets: Array<{ range: string | undefined; ifRange: string | undefined }> = [];
  const server = await startBitsUploadServer({
    root,
    notificationType: 'by-value',
    notificationUrl: `${app.url}/notify`,
    // The hook sees every request: it records the reply GETs.
    authorize: (req) => {
      if (req.method === 'GET') {
        gets.push({ range: req.headers.get('range')?.[0], ifRange: req.headers.get('if-range')?.[0] });
      }
      return { allow: true };
    },
  });
  // Every connection is reset after 3 MiB of answers: the packets' Acks fit, the reply does not.
  const proxy = await startCuttingProxy(Number(new URL(server.url).port), [3 * MiB, 3 * MiB, 3 * MiB, 3 * MiB]);
  const daemon = await spawnDaemon(home.path);
  try {
    const source = join(work.path, 'small.bin');
    await writeRandomFile(source, 64 * 1024);
    const job = await createJob(home.path, 'e2e-reply-resume', '/upload-reply');
    const id = job.replace(/[{}]/gu, '').toLowerCase();
    // No file yet: BITS returns NULL.
    assert.equal(await cliOk(home.path, ['/rawreturn', '/getreplyfilename', job]), 'NULL');
    await cliOk(home.path, ['/addfile', job, proxy.url('/r/small.bin'), source]);
    const generated = join(work.path, `small.bin.${id}.reply`);
    assert.equal(await cliOk(home.path, ['/rawreturn', '/getreplyfilename', job]), generated);
    await cliOk(home.path, ['/setminretrydelay', job, '5']);
    await cliOk(home.path, ['/resume', job]);
    await waitForState(home.path, job, 'TRANSFERRED', { daemon, timeoutMs: 120_000 });

    assert.ok(proxy.cuts >= 2, `the reply was cut (${proxy.cuts} cuts)`);
    assert.equal(gets[0]?.range, undefined, 'the first GET asks for the whole reply');
    const resumed = gets.slice(1);
    assert.ok(resumed.length >= 2, JSON.stringify(gets));
    let last = 0;
    for (const g of resumed) {
      const from = Number(/^bytes=(\d+)-$/u.exec(g.range ?? '')?.[1]);
      assert.ok(from > last && from < reply.length, `resumed from its checkpoint: ${JSON.stringify(gets)}`);
      assert.ok(g.ifRange !== undefined, 'with the validator the first answer gave');
      last = from;
    }
    assert.equal(await cliOk(home.path, ['/rawreturn', '/getreplyprogress', job]), `${reply.length} / ${reply.length}`);

    await cliOk(home.path, ['/complete', job]);
    assert.equal(await sha256File(generated), sha256(reply));
    assert.deepEqual((await readdir(work.path)).sort(), ['root', 'small.bin', `small.bin.${id}.reply`]);
  } finally {
    await stopDaemon(daemon);
    await proxy.close();
    await server.close();
    await app.close();
    await home.remove();
    await work.remove();
  }
});
