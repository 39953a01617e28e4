// Issue 12 item 1 (authentication) and item 10 (server half): the command line authenticates
// with HTTP Basic against an htpasswd-style file (scrypt or bcrypt) and bearer tokens; NTLM and
// Negotiate are refused with E_NOTIMPL; anonymous service is only on loopback with a warning,
// or when --anonymous asks for it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readPasswordFile } from '../../src/upload-server/auth/credential-files.ts';
import { hashPassword, isSupportedHash, verifyPassword } from '../../src/upload-server/auth/password-hash.ts';
import { main } from '../../src/upload-server/cli.ts';
import { assertAck, assertBitsError, assertOk, E_ACCESSDENIED } from './helpers/assertions.ts';
import { createSession, fragment, payload } from './helpers/fixture.ts';
import { bitsPost, RawClient } from './helpers/raw-client.ts';
import { captureStderr, startServerProcess } from './helpers/server-process.ts';

const BIN = path.resolve(import.meta.dirname, '../../bin/bits-upload-server.js');
/** The OpenWall crypt_blowfish test vector: bcrypt("U*U", cost 5). */
const BCRYPT_VECTOR = '$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW';
/** bcrypt("s3cret-pw") as libxcrypt (Debian's crypt(3)) makes it, in htpasswd -B's $2y$ form. */
const BCRYPT_2Y = '$2y$05$abcdefghijklmnopqrstuuzSvhclVSvY9ufOheOOhcPviTPFJlqIC';

let base: string;
before(async () => {
  base = await fs.mkdtemp(path.join(os.tmpdir(), 'bits-auth-'));
});
after(async () => {
  await fs.rm(base, { recursive: true, force: true });
});

/** Run `bits-upload-server <sub>` with `input` on stdin; its stdout. */
async function runHash(sub: string, input: string): Promise<string> {
  const child = spawn(process.execPath, [BIN, sub], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stdin.end(input);
  const code = await new Promise((r) => child.once('exit', r));
  assert.equal(code, 0);
  return out.trim();
}

const basic = (user: string, pw: string) => `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`;

describe('authentication', () => {
  test('password hashes: bcrypt against known hashes (pure JS), scrypt round trip, anything else refused', async () => {
    assert.equal(await verifyPassword('U*U', BCRYPT_VECTOR), true);
    assert.equal(await verifyPassword('U*V', BCRYPT_VECTOR), false);
    assert.equal(await verifyPassword('s3cret-pw', BCRYPT_2Y), true);
    assert.equal(await verifyPassword('s3cret-pW', BCRYPT_2Y), false);
    const h = await hashPassword('pässwörd');
    assert.match(h, /^\$scrypt\$N=16384,r=8,p=1\$/);
    assert.equal(await verifyPassword('pässwörd', h), true);
    assert.equal(await verifyPassword('passwörd', h), false);
    // A hostile file cannot ask scrypt for gigabytes.
    assert.equal(await verifyPassword('x', h.replace('N=16384', 'N=1073741824')), false);
    for (const bad of ['plain', '{SHA}abc', '$apr1$xyz$abc', '']) assert.equal(isSupportedHash(bad), false, bad);
    const file = path.join(base, 'bad.htpasswd');
    await fs.writeFile(file, `# users\nalice:${h}\nbob:plaintext\n`);
    await assert.rejects(readPasswordFile(file), /bad\.htpasswd:3: expected user:/);
  });

  test('--htpasswd (scrypt and bcrypt) and --bearer-tokens; NTLM/Negotiate → 401 + E_NOTIMPL', async () => {
    const root = path.join(base, 'root');
    await fs.mkdir(root);
    const htpasswd = path.join(base, 'users');
    await fs.writeFile(htpasswd, `alice:${await runHash('hash-password', 'alice-pw\n')}\nbob:${BCRYPT_2Y}\n`);
    const tokens = path.join(base, 'tokens');
    await fs.writeFile(tokens, `carol:${await runHash('hash-token', 'carol-token-123\n')}\n`);
    const server = await startServerProcess(['--root', root, '--htpasswd', htpasswd, '--bearer-tokens', tokens]);
    try {
      assert.doesNotMatch(server.stderr(), /WARNING/);
      const c = await RawClient.connect(server.port);
      const none = (await createSession(c, '/a.bin')).res;
      assertBitsError(none, 401, E_ACCESSDENIED);
      const challenges = none.rawHeaders.filter(([k]) => k.toLowerCase() === 'www-authenticate').map(([, v]) => v);
      assert.deepEqual(challenges, ['Basic realm="BITS uploads", charset="UTF-8"', 'Bearer realm="BITS uploads"']);
      assertBitsError(
        (await createSession(c, '/a.bin', { Authorization: basic('alice', 'wrong') })).res,
        401,
        E_ACCESSDENIED,
      );
      assertBitsError((await createSession(c, '/a.bin', { Authorization: 'Bearer nope' })).res, 401, E_ACCESSDENIED);
      for (const scheme of ['NTLM TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAGFKAAAADw==', 'Negotiate YIIx']) {
        const res = (await createSession(c, '/a.bin', { Authorization: scheme })).res;
        assertBitsError(res, 401, '0x80004001');
        assert.ok(res.has('WWW-Authenticate'), 'the schemes we do support are offered');
      }
      const alice = await createSession(c, '/a.bin', { Authorization: basic('alice', 'alice-pw') });
      assertOk(alice.res);
      assertOk((await createSession(c, '/b.bin', { Authorization: basic('bob', 's3cret-pw') })).res);
      assertOk((await createSession(c, '/c.bin', { Authorization: 'Bearer carol-token-123' })).res);
      // Bob cannot drive alice's session; alice can.
      const headers = { 'BITS-Packet-Type': 'Fragment', 'BITS-Session-Id': alice.id, 'Content-Range': 'bytes 0-9/10' };
      const asBob = await c.request(
        bitsPost('/a.bin', { ...headers, Authorization: basic('bob', 's3cret-pw') }, payload(10)),
      );
      assertAck(asBob, 403);
      const asAlice = await c.request(
        bitsPost('/a.bin', { ...headers, Authorization: basic('alice', 'alice-pw') }, payload(10)),
      );
      assertOk(asAlice);
      // Without credentials even a valid session id gets nowhere.
      assertBitsError(await fragment(c, '/a.bin', alice.id, 0, payload(10), 10), 401, E_ACCESSDENIED);
      c.destroy();
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });

  test('anonymous: on loopback with a loud warning; elsewhere only with --anonymous', async () => {
    const root = path.join(base, 'anon');
    await fs.mkdir(root);
    const server = await startServerProcess(['--root', root]);
    try {
      assert.match(server.stderr(), /WARNING: no authentication configured/);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
    const quiet = await startServerProcess(['--root', root, '--anonymous']);
    try {
      assert.doesNotMatch(quiet.stderr(), /WARNING/);
    } finally {
      quiet.child.kill('SIGTERM');
      await quiet.exited;
    }
    const errors = await captureStderr(async () => {
      // Refused before anything is bound: the address never opens.
      assert.equal(await main(['--root', root, '--host', '0.0.0.0', '--port', '0']), 2);
      const users = path.join(base, 'empty.htpasswd');
      await fs.writeFile(users, '');
      assert.equal(await main(['--root', root, '--anonymous', '--htpasswd', users, '--port', '0']), 2);
    });
    assert.match(errors, /no authentication configured for 0\.0\.0\.0/);
    assert.match(errors, /--anonymous cannot be combined/);
  });
});
