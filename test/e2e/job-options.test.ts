import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startBitsUploadServer } from '../../src/upload-server/server.ts';
import { type DaemonProcess, spawnDaemon, stopDaemon } from '../daemon/helpers.ts';
import { AuthChecker } from '../helpers/http-auth.ts';
import { startProxy } from '../helpers/http-proxy.ts';
import { requireAuth, serving, startOrigin } from '../helpers/origin-server.ts';
import { selfSignedCert } from '../helpers/tls-cert.ts';
import {
  cli,
  cliOk,
  createJob,
  MiB,
  scratchDir,
  sha256,
  sha256File,
  stateOf,
  waitForState,
  writeRandomFile,
} from './helpers.ts';

// Job options set with the CLI reach the transfer through bitsd's API: certificates, proxies,
// credentials and custom headers, against real servers on 127.0.0.1.

describe('e2e: job options through bitsd', () => {
  let home: { path: string; remove(): Promise<void> };
  let out: { path: string; remove(): Promise<void> };
  let daemon: DaemonProcess;
  const body = randomBytes(MiB + 17);

  before(async () => {
    home = await scratchDir('openbits-e2e-options-home-');
    out = await scratchDir('openbits-e2e-options-out-');
    daemon = await spawnDaemon(home.path);
  });

  after(async () => {
    assert.equal(await stopDaemon(daemon), 0, daemon.stderr());
    await home.remove();
    await out.remove();
  });

  /** Create a job for `url`, apply `setup` switches, resume; returns the job and its destination. */
  async function job(name: string, url: string, setup: string[][]): Promise<{ id: string; dest: string }> {
    const id = await createJob(home.path, name);
    const dest = join(out.path, `${name}.bin`);
    await cliOk(home.path, ['/addfile', id, url, dest]);
    for (const args of setup) await cliOk(home.path, [args[0] ?? '', id, ...args.slice(1)]);
    await cliOk(home.path, ['/resume', id]);
    return { id, dest };
  }

  async function finish(id: string, dest: string): Promise<void> {
    await waitForState(home.path, id, 'TRANSFERRED', { daemon });
    await cliOk(home.path, ['/complete', id]);
    assert.equal(await sha256File(dest), sha256(body));
  }

  it('HTTPS with a self-signed certificate: ERROR without /setsecurityflags, done with IGNORE_UNKNOWN_CA', async () => {
    const origin = await startOrigin(selfSignedCert('IP:127.0.0.1'));
    origin.route('/tls.bin', serving(body));
    try {
      const strict = await job('e2e-tls-strict', origin.url('/tls.bin'), [['/setnoprogresstimeout', '0']]);
      await waitForState(home.path, strict.id, 'ERROR', { daemon });
      const error = await cliOk(home.path, ['/geterror', strict.id]);
      assert.match(error, /ERROR CODE: +0x80072f0d - ERROR_INTERNET_INVALID_CA/iu, error);
      await cliOk(home.path, ['/cancel', strict.id]);

      const relaxed = await job('e2e-tls-relaxed', origin.url('/tls.bin'), [['/setsecurityflags', '0x0008']]);
      await finish(relaxed.id, relaxed.dest);
    } finally {
      await origin.close();
    }
  });

  it('/setproxysettings OVERRIDE sends the request through the proxy; /setcredentials answers Basic auth', async () => {
    const origin = await startOrigin();
    const checker = new AuthChecker({ scheme: 'basic', user: 'alice', password: 's3cret' });
    origin.route('/auth.bin', requireAuth(checker, serving(body)));
    const proxy = await startProxy();
    try {
      const url = origin.url('/auth.bin');
      const { id, dest } = await job('e2e-proxy-auth', url, [
        ['/setproxysettings', 'OVERRIDE', proxy.url, 'NULL'],
        ['/setcredentials', 'SERVER', 'BASIC', 'alice', 's3cret'],
        ['/setcustomheaders', 'X-E2e: through the daemon'],
      ]);
      await finish(id, dest);
      assert.ok(proxy.forwarded.includes(url), `proxied: ${proxy.forwarded.join(', ')}`);
      const answered = origin.hits('/auth.bin').filter((r) => r.headers.authorization !== undefined);
      assert.ok(answered.length >= 1);
      assert.ok(answered.every((r) => r.headers['x-e2e'] === 'through the daemon'));
    } finally {
      await proxy.close();
      await origin.close();
    }
  });

  it('a wrong password ends in ERROR with HTTP 401 as its HRESULT; the password never shows in /info', async () => {
    const origin = await startOrigin();
    const checker = new AuthChecker({ scheme: 'basic', user: 'alice', password: 's3cret' });
    origin.route('/auth.bin', requireAuth(checker, serving(body)));
    try {
      const { id } = await job('e2e-bad-password', origin.url('/auth.bin'), [
        ['/setcredentials', 'SERVER', 'BASIC', 'alice', 'wrong-horse'],
      ]);
      await waitForState(home.path, id, 'ERROR', { daemon });
      assert.equal(await stateOf(home.path, id), 'ERROR');
      assert.match(await cliOk(home.path, ['/geterror', id]), /0x80190191/iu);
      const info = await cli(home.path, ['--json', '/info', id]);
      assert.ok(!info.stdout.includes('wrong-horse'), 'no password in the job document');
      await cliOk(home.path, ['/cancel', id]);
    } finally {
      await origin.close();
    }
  });

  it('an upload to an HTTPS upload server with a self-signed certificate: ERROR without the flag, done with 0x0008', async () => {
    const work = await scratchDir('openbits-e2e-tlsup-');
    const root = join(work.path, 'root');
    await mkdir(root);
    const server = await startBitsUploadServer({ root, tls: selfSignedCert('IP:127.0.0.1') });
    try {
      const source = join(work.path, 'up.bin');
      const digest = await writeRandomFile(source, 3 * MiB);
      const strict = await createJob(home.path, 'e2e-tls-upload-strict', '/upload');
      await cliOk(home.path, ['/addfile', strict, `${server.url}/in/strict.bin`, source]);
      await cliOk(home.path, ['/setnoprogresstimeout', strict, '0']);
      await cliOk(home.path, ['/resume', strict]);
      await waitForState(home.path, strict, 'ERROR', { daemon });
      assert.match(await cliOk(home.path, ['/geterror', strict]), /0x80072f0d - ERROR_INTERNET_INVALID_CA/iu);
      await cliOk(home.path, ['/cancel', strict]);

      const relaxed = await createJob(home.path, 'e2e-tls-upload', '/upload');
      await cliOk(home.path, ['/addfile', relaxed, `${server.url}/in/up.bin`, source]);
      await cliOk(home.path, ['/setsecurityflags', relaxed, '0x0008']);
      await cliOk(home.path, ['/resume', relaxed]);
      await waitForState(home.path, relaxed, 'TRANSFERRED', { daemon });
      await cliOk(home.path, ['/complete', relaxed]);
      assert.equal(await sha256File(join(root, 'in', 'up.bin')), digest);
      assert.equal(existsSync(join(root, 'in', 'strict.bin')), false);
    } finally {
      await server.close();
      await work.remove();
    }
  });
});
