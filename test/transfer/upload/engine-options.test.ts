import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, test } from 'node:test';
import type { RateLimiter } from '../../../src/transfer/download-request.ts';
import { closeUploadAgents, uploadFile } from '../../../src/transfer/upload/index.ts';
import { BitsFaultServer } from '../../helpers/bits-fault-server.ts';
import { failureOf, RecordedUpload, removeDir, sha256, tempUpload } from './upload-request.ts';

// Job options the upload engine honours: custom headers, the bandwidth limiter, bad input,
// and the empty-file edge case (a gap of bits-upload-protocol.md §15).

after(() => closeUploadAgents());

async function withServer(
  size: number,
  fn: (server: BitsFaultServer, rec: RecordedUpload, data: Buffer, file: string) => Promise<void>,
): Promise<void> {
  const server = await BitsFaultServer.start();
  const { dir, file, data } = await tempUpload(size);
  try {
    await fn(server, new RecordedUpload(server.url(), file), data, file);
  } finally {
    await server.close();
    await removeDir(dir);
  }
}

test('custom headers go on every packet but cannot replace the protocol headers', async () => {
  await withServer(2000, async (server, rec) => {
    const customHeaders = [
      ['X-Tenant', 'blue'],
      ['BITS-Packet-Type', 'Fragment'],
    ] as const;
    await uploadFile(rec.request({ options: { customHeaders } }));
    for (const r of server.requests) {
      assert.equal(r.headers['x-tenant'], 'blue');
      assert.equal(r.rawHeaders.filter(([n]) => n.toLowerCase() === 'bits-packet-type').length, 1);
    }
    assert.equal(server.requests[0]?.packetType, 'Ping');
    assert.equal(server.requests[0]?.headers['content-length'], '0');
  });
  await withServer(10, async (server, rec) => {
    for (const header of [
      ['X-Bad', 'a\r\nb'],
      ['Content-Length', '5'],
    ] as const) {
      const err = await failureOf(uploadFile(rec.request({ options: { customHeaders: [header] } })));
      assert.equal(err.failure.kind, 'fatal');
      assert.equal(err.failure.error.name, 'E_INVALIDARG');
    }
    assert.equal(server.requests.length, 0);
  });
});

test('fragment bytes are taken from the rate limiter before they are sent', async () => {
  await withServer(3 * 1024 * 1024 + 1, async (server, rec, data) => {
    let taken = 0;
    const limiter: RateLimiter = {
      take: async (bytes) => {
        taken += bytes;
      },
    };
    await uploadFile(rec.request({ limiter }));
    const sent = server.packets('Fragment').reduce((n, r) => n + r.body.length, 0);
    assert.equal(taken, sent);
    assert.equal(sha256(server.files.get('/upload/file.bin') ?? Buffer.alloc(0)), sha256(data));
  });
});

test('bad input: a non-http URL and a missing local file are fatal with their BITS codes', async () => {
  await withServer(10, async (server, rec) => {
    const ftp = await failureOf(uploadFile(rec.request({ remoteName: 'ftp://127.0.0.1/x' })));
    assert.deepEqual([ftp.failure.kind, ftp.failure.error.name], ['fatal', 'E_INVALIDARG']);
    const missing = await failureOf(uploadFile(rec.request({ localName: `${rec.localName}.nope` })));
    assert.deepEqual(
      [missing.failure.error.name, missing.failure.error.context],
      ['ERROR_FILE_NOT_FOUND', 'LOCAL_FILE'],
    );
    assert.equal(server.requests.length, 0);
  });
});

test('an empty file: a plain upload opens and closes a session without fragments; upload-reply is refused', async () => {
  await withServer(0, async (server, rec, _data, file) => {
    writeFileSync(file, '');
    await uploadFile(rec.request());
    assert.deepEqual(
      server.requests.map((r) => r.packetType),
      ['Ping', 'Create-Session', 'Close-Session'],
    );
    const err = await failureOf(uploadFile(new RecordedUpload(server.url(), file).request({ type: 'UPLOAD_REPLY' })));
    assert.deepEqual([err.failure.kind, err.failure.error.name], ['fatal', 'E_INVALIDARG']);
  });
});
