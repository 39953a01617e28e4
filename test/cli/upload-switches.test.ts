import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type BitsUploadServer, startBitsUploadServer } from '../../src/upload-server/server.ts';
import { waitForState } from '../helpers/manager-harness.ts';
import { startBackEnd } from '../upload-server/helpers/back-end.ts';
import { bitsadmin, body, makeManager } from './helpers.ts';

// Upload and upload-reply jobs through the CLI, against openbits's own BITS upload server (for
// upload-reply with a back-end application that answers each upload with a reply).

let dir: string;
let root: string;
let server: BitsUploadServer;
let plain: BitsUploadServer;
let app: Awaited<ReturnType<typeof startBackEnd>>;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bitsadmin-upload-'));
  root = await mkdtemp(join(tmpdir(), 'bitsadmin-upload-root-'));
  app = await startBackEnd((n, res) => {
    const reply = Buffer.from(`got ${n.body.length} bytes`);
    res.writeHead(200, { 'content-length': String(reply.length) }).end(reply);
  });
  server = await startBitsUploadServer({ root, notificationType: 'by-value', notificationUrl: app.url });
  plain = await startBitsUploadServer({ root });
});
after(async () => {
  await server.close();
  await plain.close();
  await app.close();
  await rm(dir, { recursive: true, force: true });
  await rm(root, { recursive: true, force: true });
});

describe('upload switches', () => {
  it('/transfer /upload sends the file and completes', async () => {
    const m = await makeManager();
    const src = join(dir, 'up.bin');
    const data = randomBytes(200_000);
    await writeFile(src, data);
    const url = `http://127.0.0.1:${plain.port}/incoming/up.bin`;
    const r = await bitsadmin(m, ['/transfer', 'up', '/upload', url, src]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /TYPE: UPLOAD /u);
    assert.match(r.stdout, /Transfer complete\.\n$/u);
    assert.deepEqual(await readFile(join(root, 'incoming', 'up.bin')), data);
  });

  it('/transfer /upload with two pairs is BG_E_TOO_MANY_FILES and leaves no job', async () => {
    const m = await makeManager();
    const src = join(dir, 'two.bin');
    await writeFile(src, 'x');
    const url = `http://127.0.0.1:${server.port}/incoming/two.bin`;
    const r = await bitsadmin(m, ['/transfer', 'two', '/upload', url, src, url, src]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^ERROR: BG_E_TOO_MANY_FILES \(0x8020001c\)/mu);
    assert.deepEqual(await m.enumJobs(), []);
  });

  it('upload-reply: /setreplyfilename, /getreplyprogress, /getreplydata, then /complete publishes the reply', async () => {
    const m = await makeManager();
    const src = join(dir, 'form.bin');
    await writeFile(src, randomBytes(300_000));
    const replyFile = join(dir, 'reply.txt');
    const created = await bitsadmin(m, ['/rawreturn', '/create', '/upload-reply', 'form']);
    const id = created.stdout;
    const url = `http://127.0.0.1:${server.port}/forms/form.bin`;
    assert.equal((await bitsadmin(m, ['/addfile', 'form', url, src])).code, 0);
    assert.equal((await bitsadmin(m, ['/setreplyfilename', 'form', replyFile])).code, 0);
    assert.equal((await bitsadmin(m, ['/rawreturn', '/getreplyfilename', 'form'])).stdout, replyFile);
    assert.equal((await bitsadmin(m, ['/rawreturn', '/getreplyprogress', 'form'])).stdout, '0 / UNKNOWN');
    assert.equal((await bitsadmin(m, ['/resume', id])).code, 0);
    await waitForState(m, id.slice(1, -1).toLowerCase(), 'TRANSFERRED');

    const expected = Buffer.from('got 300000 bytes');
    const dump = await bitsadmin(m, ['/getreplydata', 'form']);
    assert.equal(dump.code, 0, dump.stderr);
    assert.equal(body(dump.stdout), '00000000  67 6f 74 20 33 30 30 30 30 30 20 62 79 74 65 73  got 300000 bytes\n');
    assert.equal((await bitsadmin(m, ['/rawreturn', '/getreplydata', 'form'])).stdout, expected.toString('hex'));
    assert.deepEqual(JSON.parse((await bitsadmin(m, ['--json', '/getreplydata', 'form'])).stdout), {
      length: expected.length,
      base64: expected.toString('base64'),
    });
    assert.equal((await bitsadmin(m, ['/rawreturn', '/getreplyprogress', 'form'])).stdout, '16 / 16');
    assert.equal((await bitsadmin(m, ['/complete', 'form'])).code, 0);
    assert.equal(await readFile(replyFile, 'utf8'), expected.toString());
  });
});
