import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { startBitsUploadServer } from '../../src/upload-server/server.ts';
import { spawnDaemon, stopDaemon } from '../daemon/helpers.ts';
import { startBackEnd } from '../upload-server/helpers/back-end.ts';
import {
  cli,
  cliOk,
  createJob,
  killDaemon,
  MiB,
  scratchDir,
  sha256,
  sha256File,
  waitForState,
  writeRandomFile,
} from './helpers.ts';

// Upload-reply jobs through the CLI and bitsd, to our upload server notifying a back end (a small
// node:http app) by value: the app's answer is the reply the job downloads.

it('e2e: an upload-reply job gets the back end reply: /getreplydata, /getreplyprogress, the reply file after /complete', async () => {
  const app = await startBackEnd((n, res) => {
    res.end(`stored ${n.body.length} bytes, sha256 ${createHash('sha256').update(n.body).digest('hex')}`);
  });
  const home = await scratchDir('openbits-e2e-reply-home-');
  const work = await scratchDir('openbits-e2e-reply-');
  const root = join(work.path, 'root');
  await mkdir(root);
  const server = await startBitsUploadServer({
    root,
    notificationType: 'by-value',
    notificationUrl: `${app.url}/notify`,
  });
  const daemon = await spawnDaemon(home.path);
  try {
    const source = join(work.path, 'form.bin');
    const digest = await writeRandomFile(source, 3 * MiB + 99);
    const replyFile = join(work.path, 'reply.txt');
    const expected = `stored ${3 * MiB + 99} bytes, sha256 ${digest}`;

    const job = await createJob(home.path, 'e2e-reply', '/upload-reply');
    assert.equal(await cliOk(home.path, ['/rawreturn', '/gettype', job]), 'UPLOAD_REPLY');
    await cliOk(home.path, ['/addfile', job, `${server.url}/forms/form.bin`, source]);
    await cliOk(home.path, ['/setreplyfilename', job, replyFile]);
    assert.equal(await cliOk(home.path, ['/rawreturn', '/getreplyfilename', job]), replyFile);
    await cliOk(home.path, ['/resume', job]);
    await waitForState(home.path, job, 'TRANSFERRED', { daemon });

    assert.equal(app.received.length, 1);
    assert.equal(
      createHash('sha256')
        .update(app.received[0]?.body ?? '')
        .digest('hex'),
      digest,
      'by value',
    );
    const length = Buffer.byteLength(expected);
    assert.equal(await cliOk(home.path, ['/rawreturn', '/getreplyprogress', job]), `${length} / ${length}`);
    // Regression: getJob never carried the reply's progress, so /info /verbose said UNKNOWN.
    assert.match(
      await cliOk(home.path, ['/info', job, '/verbose']),
      new RegExp(`REPLY BYTES: ${length} / ${length}$`, 'mu'),
    );
    assert.equal(await cliOk(home.path, ['/rawreturn', '/getreplydata', job]), Buffer.from(expected).toString('hex'));
    assert.deepEqual(JSON.parse(await cliOk(home.path, ['--json', '/getreplydata', job])), {
      length,
      base64: Buffer.from(expected).toString('base64'),
    });
    const dump = await cliOk(home.path, ['/getreplydata', job]);
    assert.match(
      dump,
      /^00000000 {2}73 74 6f 72 65 64 20 33 31 34 35 38 32 37 20 62 {2}stored 3145827 b$/mu,
      'hex dump',
    );

    assert.equal(existsSync(replyFile), false, 'the reply file is published on Complete');
    await cliOk(home.path, ['/complete', job]);
    assert.equal(await readFile(replyFile, 'utf8'), expected);
    // As with IIS, a notified upload goes to the app only (no BITS-Copy-File-To-Destination).
    assert.equal(existsSync(join(root, 'forms', 'form.bin')), false);
  } finally {
    await stopDaemon(daemon);
    await server.close();
    await app.close();
    await home.remove();
    await work.remove();
  }
});

it('e2e: /transfer /upload-reply without a reply name; kill -9 of bitsd during a 48 MiB reply download', async () => {
  const reply = randomBytes(48 * MiB);
  const app = await startBackEnd((_n, res) => {
    res.end(reply);
  });
  const home = await scratchDir('openbits-e2e-reply2-home-');
  const work = await scratchDir('openbits-e2e-reply2-');
  const root = join(work.path, 'root');
  await mkdir(root);
  const server = await startBitsUploadServer({
    root,
    notificationType: 'by-value',
    notificationUrl: `${app.url}/notify`,
  });
  let daemon = await spawnDaemon(home.path);
  try {
    const source = join(work.path, 'form.bin');
    await writeRandomFile(source, MiB);

    // No reply file name: BITS names one beside the upload file.
    const r = await cli(home.path, [
      '/transfer',
      'e2e-reply-default',
      '/upload-reply',
      `${server.url}/a/f.bin`,
      source,
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const id = /JOB: \{([0-9A-F-]{36})\}/u.exec(r.stdout)?.[1]?.toLowerCase();
    const named = join(work.path, `form.bin.${id}.reply`);
    assert.deepEqual((await readdir(work.path)).sort(), ['form.bin', `form.bin.${id}.reply`, 'root']);
    assert.equal(await sha256File(named), sha256(reply));

    // Capped at 1 MiB/s, the reply takes 48 s to come down: the kill lands in it however slow
    // each CLI poll is on a loaded machine (at 16 MiB/s a poll could first see it whole).
    const job = await createJob(home.path, 'e2e-reply-kill', '/upload-reply');
    const replyFile = join(work.path, 'reply.bin');
    await cliOk(home.path, ['/addfile', job, `${server.url}/b/f.bin`, source]);
    await cliOk(home.path, ['/setreplyfilename', job, replyFile]);
    await cliOk(home.path, ['/setmaxbandwidth', job, '1M']);
    await cliOk(home.path, ['/resume', job]);
    let done = 0;
    for (let i = 0; i < 200 && done === 0; i++) {
      const progress = await cliOk(home.path, ['/rawreturn', '/getreplyprogress', job]);
      done = Number(progress.split(' / ')[0]);
    }
    assert.ok(done > 0 && done < reply.length, `mid-reply: ${done}`);
    await killDaemon(daemon);
    daemon = await spawnDaemon(home.path);
    await cliOk(home.path, ['/setmaxbandwidth', job, '0']);
    await waitForState(home.path, job, 'TRANSFERRED', { daemon });
    assert.equal(await cliOk(home.path, ['/rawreturn', '/getreplyprogress', job]), `${reply.length} / ${reply.length}`);
    await cliOk(home.path, ['/complete', job]);
    assert.equal(await sha256File(replyFile), sha256(reply));
    assert.equal(app.received.length, 2, 'one notification per job: the restart did not upload again');
  } finally {
    await stopDaemon(daemon);
    await server.close();
    await app.close();
    await home.remove();
    await work.remove();
  }
});

it('e2e: an upload-reply job to a server that demands Basic auth: /setcredentials and /setcustomheaders reach every request, the reply GET too', async () => {
  const app = await startBackEnd((n, res) => {
    res.end(`hello ${n.body.length}`);
  });
  const home = await scratchDir('openbits-e2e-upauth-home-');
  const work = await scratchDir('openbits-e2e-upauth-');
  const root = join(work.path, 'root');
  await mkdir(root);
  const good = `Basic ${Buffer.from('alice:s3cret').toString('base64')}`;
  const seen: Array<{ kind: string; authorized: boolean; tenant: string | undefined }> = [];
  const server = await startBitsUploadServer({
    root,
    notificationType: 'by-value',
    notificationUrl: `${app.url}/notify`,
    authorize: (req) => {
      const authorized = req.headers.get('authorization')?.[0] === good;
      seen.push({ kind: req.packetType ?? req.method, authorized, tenant: req.headers.get('x-tenant')?.[0] });
      return authorized
        ? { allow: true, user: 'alice' }
        : { allow: false, status: 401, headers: [['WWW-Authenticate', 'Basic realm="uploads"']] };
    },
  });
  const daemon = await spawnDaemon(home.path);
  try {
    const source = join(work.path, 'form.bin');
    await writeRandomFile(source, 2 * MiB);
    const replyFile = join(work.path, 'reply.txt');
    const job = await createJob(home.path, 'e2e-upload-auth', '/upload-reply');
    await cliOk(home.path, ['/addfile', job, `${server.url}/secure/form.bin`, source]);
    await cliOk(home.path, ['/setreplyfilename', job, replyFile]);
    await cliOk(home.path, ['/setcredentials', job, 'SERVER', 'BASIC', 'alice', 's3cret']);
    await cliOk(home.path, ['/setcustomheaders', job, 'X-Tenant: blue']);
    await cliOk(home.path, ['/resume', job]);
    await waitForState(home.path, job, 'TRANSFERRED', { daemon });
    await cliOk(home.path, ['/complete', job]);
    assert.equal(await readFile(replyFile, 'utf8'), `hello ${2 * MiB}`);
    const allowed = seen.filter((s) => s.authorized);
    assert.ok(
      allowed.some((s) => s.kind === 'Create-Session'),
      JSON.stringify(seen),
    );
    assert.ok(allowed.some((s) => s.kind === 'Fragment'));
    assert.ok(
      allowed.some((s) => s.kind === 'GET'),
      `the reply download authenticated: ${JSON.stringify(seen)}`,
    );
    assert.ok(
      seen.every((s) => s.tenant === 'blue'),
      'custom headers on every request',
    );
  } finally {
    await stopDaemon(daemon);
    await server.close();
    await app.close();
    await home.remove();
    await work.remove();
  }
});
