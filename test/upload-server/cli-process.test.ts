// The real `bin/bits-upload-server.js` process: kill -9 mid-upload and restart (fault table
// row 27: the server fsyncs before acking, the client resends from BITS-Received-Content-Range),
// the notification flags end to end, and HTTPS with a certificate made by openssl at test time.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { main, parseSize } from '../../src/upload-server/cli.ts';
import { assertOk } from './helpers/assertions.ts';
import { startBackEnd } from './helpers/back-end.ts';
import { createSession, fragment, packet, payload, sha256, sha256File, uploadWhole } from './helpers/fixture.ts';
import { bitsPost, RawClient } from './helpers/raw-client.ts';
import { captureStderr, startServerProcess } from './helpers/server-process.ts';

let base: string;
before(async () => {
  base = await fs.mkdtemp(path.join(os.tmpdir(), 'bits-cli-'));
});
after(async () => {
  await fs.rm(base, { recursive: true, force: true });
});

describe('bits-upload-server process', () => {
  test('kill -9 mid-fragment, restart: the session survives and the upload completes with the right sha256', async () => {
    const root = path.join(base, 'restart');
    await fs.mkdir(root);
    const data = payload(6 * 1024 * 1024, 77);
    const size = 1024 * 1024;
    let server = await startServerProcess(['--root', root]);
    let c = await RawClient.connect(server.port);
    const { id } = await createSession(c, '/big.bin');
    for (let off = 0; off < 3 * size; off += size) {
      assertOk(await fragment(c, '/big.bin', id, off, data.subarray(off, off + size), data.length));
    }
    // Half of the fourth fragment is on the wire when the server dies.
    const head = bitsPost(
      '/big.bin',
      {
        'BITS-Packet-Type': 'Fragment',
        'BITS-Session-Id': id,
        'Content-Range': `bytes ${3 * size}-${4 * size - 1}/${data.length}`,
      },
      data.subarray(3 * size, 3 * size + size / 2),
      { contentLength: size },
    );
    await c.write(head);
    server.child.kill('SIGKILL');
    assert.equal(await server.exited, 'SIGKILL');
    c.destroy();

    server = await startServerProcess(['--root', root]);
    try {
      c = await RawClient.connect(server.port);
      assertOk(await packet(c, '/big.bin', 'Ping'));
      // The client resends from its last acknowledged offset; the server's R decides.
      let off = 3 * size;
      while (off < data.length) {
        const res = await fragment(c, '/big.bin', id, off, data.subarray(off, off + size), data.length);
        assertOk(res);
        off = Number(res.get('BITS-Received-Content-Range'));
      }
      assertOk(await packet(c, '/big.bin', 'Close-Session', id));
      assert.equal(await sha256File(path.join(root, 'big.bin')), sha256(data));
      c.destroy();
    } finally {
      server.child.kill('SIGTERM');
      assert.equal(await server.exited, 0, 'SIGTERM stops the server cleanly');
    }
  });

  test('--notify-url/--notify-type by-value: the app reply comes back through BITS-Reply-URL and a GET', async () => {
    const root = path.join(base, 'notify');
    await fs.mkdir(root);
    const app = await startBackEnd((n, res) => res.end(`app saw ${n.body.length} bytes at ${n.url}`));
    const server = await startServerProcess([
      '--root',
      root,
      '--notify-url',
      `${app.url}/receive`,
      '--notify-type',
      'by-value',
      '--max-upload-size',
      '1M',
    ]);
    try {
      const c = await RawClient.connect(server.port);
      const data = payload(5000, 5);
      const { id } = await createSession(c, '/form.dat?ticket=7');
      const ack = await fragment(c, '/form.dat?ticket=7', id, 0, data, data.length);
      assertOk(ack);
      const reply = await fetch(new URL(ack.get('BITS-Reply-URL') ?? '', server.url));
      assert.equal(reply.status, 200);
      assert.equal(await reply.text(), 'app saw 5000 bytes at /receive?ticket=7');
      assertOk(await packet(c, '/form.dat', 'Close-Session', id));
      await assert.rejects(fs.stat(path.join(root, 'form.dat')), { code: 'ENOENT' });
      const tooBig = await createSession(c, '/big.dat');
      const res = await fragment(c, '/big.dat', tooBig.id, 0, payload(10), 2 * 1024 * 1024);
      assert.equal(res.get('BITS-Error-Code'), '0x80200020');
      c.destroy();
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
      await app.close();
    }
  });

  test('HTTPS with --cert/--key (self-signed by openssl at test time)', async () => {
    const root = path.join(base, 'tls');
    await fs.mkdir(root);
    const cert = path.join(base, 'cert.pem');
    const key = path.join(base, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    const server = await startServerProcess(['--root', root, '--cert', cert, '--key', key]);
    try {
      assert.match(server.url, /^https:\/\//);
      const ca = await fs.readFile(cert, 'utf8');
      const c = await RawClient.connect(server.port, { tls: true, ca });
      const data = payload(300_000, 443);
      await uploadWhole(c, '/secure.bin', data, 100_000);
      assert.equal(await sha256File(path.join(root, 'secure.bin')), sha256(data));
      c.destroy();
      // Plain HTTP on the TLS port gets nowhere, and the server keeps serving TLS clients.
      const plain = await RawClient.connect(server.port);
      await plain.write('BITS_POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n');
      assert.ok(await plain.closed());
      const c2 = await RawClient.connect(server.port, { tls: true, ca });
      assertOk(await packet(c2, '/x', 'Ping'));
      c2.destroy();
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });

  test('argument errors exit 2; sizes parse with units', async () => {
    assert.equal(parseSize('13M'), 13 * 1024 * 1024);
    assert.equal(parseSize('2GiB'), 2 * 1024 ** 3);
    assert.equal(parseSize('4096'), 4096);
    assert.throws(() => parseSize('-1'));
    assert.throws(() => parseSize('12q'));
    const errors = await captureStderr(async () => {
      assert.equal(await main(['--port', '1']), 2, 'missing --root');
      assert.equal(await main(['--root', base, '--notify-type', 'sideways']), 2);
      assert.equal(await main(['--root', base, '--cert', 'x.pem']), 2, '--cert without --key');
      assert.equal(await main(['--root', path.join(base, 'nope'), '--port', '0']), 1, 'missing root folder');
    });
    assert.ok(errors.includes('--root'));
  });
});
