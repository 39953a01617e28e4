import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { SecurityFlag } from '../../../src/core/index.ts';
import { closeUploadAgents, uploadFile } from '../../../src/transfer/upload/index.ts';
import { BitsFaultServer } from '../../helpers/bits-fault-server.ts';
import { selfSignedCert } from '../../helpers/tls-cert.ts';
import { removeFixture, startFixture } from '../../upload-server/helpers/fixture.ts';
import { failureOf, RecordedUpload, removeDir, sha256, tempUpload } from './upload-request.ts';

// Packets through a forward proxy (absolute URI, 407 answered with proxy credentials) and over
// HTTPS to our upload server, with TLS checked per the job's security flags.

after(() => closeUploadAgents());

test('forward proxy: packets carry the absolute URI; a 407 is answered with the proxy credentials', async () => {
  // The fault server plays the proxy too: absolute-URI requests need Proxy-Authorization.
  const server = await BitsFaultServer.start({ proxyAuth: { scheme: 'basic', user: 'px', password: 'pw' } });
  const { dir, file, data } = await tempUpload(400_000);
  try {
    const target = 'http://bits.invalid/upload/file.bin';
    const proxy = { usage: 'OVERRIDE', proxyList: `127.0.0.1:${server.port}`, bypassList: null } as const;
    const credentials = [{ target: 'PROXY', scheme: 'BASIC', userName: 'px', password: 'pw' }] as const;
    const rec = new RecordedUpload(target, file);
    await uploadFile(rec.request({ options: { proxy, credentials } }));
    assert.equal(sha256(server.files.get('/upload/file.bin') ?? Buffer.alloc(0)), sha256(data));
    assert.ok(server.requests.every((r) => r.target === target && r.headers.host === 'bits.invalid'));
    assert.equal(server.requests[0]?.headers['proxy-authorization'], undefined);
    assert.ok(server.requests.slice(1).every((r) => r.headers['proxy-authorization']?.startsWith('Basic ')));
    // Without proxy credentials: fatal 407.
    const err = await failureOf(uploadFile(new RecordedUpload(target, file).request({ options: { proxy } })));
    assert.deepEqual([err.failure.kind, err.failure.error.name], ['fatal', 'BG_E_HTTP_ERROR_407']);
  } finally {
    await server.close();
    await removeDir(dir);
  }
});

test('HTTPS to our upload server: an unknown CA is fatal unless BG_SSL_IGNORE_UNKNOWN_CA is set', async () => {
  const server = await startFixture({ tls: selfSignedCert('IP:127.0.0.1') });
  const { dir, file, data } = await tempUpload(2 * 1024 * 1024 + 3);
  try {
    const url = `https://127.0.0.1:${server.port}/secure/file.bin`;
    const refused = await failureOf(uploadFile(new RecordedUpload(url, file).request()));
    assert.deepEqual([refused.failure.kind, refused.failure.error.name], ['fatal', 'ERROR_INTERNET_INVALID_CA']);
    const rec = new RecordedUpload(url, file);
    await uploadFile(rec.request({ options: { securityFlags: SecurityFlag.IGNORE_UNKNOWN_CA } }));
    assert.equal(sha256(await readFile(join(server.root, 'secure', 'file.bin'))), sha256(data));
  } finally {
    await removeFixture(server);
    await removeDir(dir);
  }
});
