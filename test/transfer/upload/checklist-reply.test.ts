import assert from 'node:assert/strict';
import { readFileSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { closeUploadAgents, MAX_REPLY_DATA, uploadFile } from '../../../src/transfer/upload/index.ts';
import { BitsFaultServer } from '../../helpers/bits-fault-server.ts';
import { failureOf, pattern, RecordedUpload, removeDir, sha256, tempUpload } from './upload-request.ts';

// Client checklist item 14 of bits-upload-protocol.md §14.2: upload-reply.

after(() => closeUploadAgents());

async function withServer(
  options: ConstructorParameters<typeof BitsFaultServer>[0],
  size: number,
  fn: (server: BitsFaultServer, rec: RecordedUpload, data: Buffer, dir: string) => Promise<void>,
): Promise<void> {
  const server = await BitsFaultServer.start(options);
  const { dir, file, data } = await tempUpload(size);
  try {
    await fn(server, new RecordedUpload(server.url(), file), data, dir);
  } finally {
    await server.close();
    await removeDir(dir);
  }
}

const answer = (data: Buffer): Buffer => Buffer.from(`sha256=${sha256(data)}`);

test('§14.2 item 14: upload-reply downloads the reply from BITS-Reply-URL before Close-Session and exposes bytes and file', async () => {
  await withServer({ reply: answer }, 300_000, async (server, rec, data, dir) => {
    const result = await uploadFile(rec.request({ type: 'UPLOAD_REPLY' }));
    const expected = answer(data);
    assert.deepEqual(result.replyData, expected);
    assert.equal(result.replySize, expected.length);
    // No SetReplyFileName: a generated name in the local file's folder.
    assert.equal(result.replyFileName, join(dir, 'source.bin.00000000-0000-0000-0000-0000000000aa.reply'));
    assert.ok(result.replyTemporaryName !== null && dirname(result.replyTemporaryName) === dir);
    assert.deepEqual(readFileSync(result.replyTemporaryName), expected);
    const order = server.requests.map((r) => r.packetType ?? r.method);
    const get = order.indexOf('GET');
    assert.ok(get > order.lastIndexOf('Fragment') && get < order.indexOf('Close-Session'), order.join());
    assert.equal(server.requests[get]?.headers['accept-encoding'], 'identity');
    assert.deepEqual(rec.replyProgress.at(-1), { bytesTotal: expected.length, bytesTransferred: expected.length });
    assert.equal(rec.state.replyComplete, true);
    assert.equal(server.replies.size, 1);
  });
});

test('§14.2 item 14: a relative reply URL with backslashes resolves against the upload URL (braces percent-encoded)', async () => {
  await withServer({ reply: answer, replyUrlStyle: 'relative-backslash' }, 10_000, async (server, rec, data) => {
    const result = await uploadFile(rec.request({ type: 'UPLOAD_REPLY' }));
    assert.deepEqual(result.replyData, answer(data));
    const get = server.requests.find((r) => r.method === 'GET');
    assert.match(get?.path ?? '', /^\/replies\/%7B[0-9A-F-]+%7D\/responsefile\.bin$/);
    assert.equal(rec.state.replyUrl, `http://127.0.0.1:${server.port}${get?.path}`);
  });
});

test('§14.2 item 14: an empty reply is legal; a reply over 1 MiB is kept only as a file (GetReplyData: BG_E_TOO_LARGE)', async () => {
  await withServer({ reply: () => null }, 1000, async (_server, rec) => {
    const result = await uploadFile(rec.request({ type: 'UPLOAD_REPLY' }));
    assert.equal(result.replySize, 0);
    assert.deepEqual(result.replyData, Buffer.alloc(0));
  });
  const big = pattern(MAX_REPLY_DATA + 500_000, 3);
  await withServer({ reply: () => big }, 1000, async (_server, rec, _data, dir) => {
    const replyFileName = join(dir, 'my-reply.out');
    const result = await uploadFile(rec.request({ type: 'UPLOAD_REPLY', replyFileName }));
    assert.equal(result.replyData, null);
    assert.equal(result.replySize, big.length);
    assert.equal(result.replyFileName, replyFileName);
    assert.equal(sha256(readFileSync(result.replyTemporaryName ?? '')), sha256(big));
  });
});

test('§14.2 item 14: a final Ack without BITS-Reply-URL is an error; the retry resends the final fragment and gets the reply', async () => {
  await withServer({ reply: answer }, 50_000, async (server, rec, data) => {
    server.onRequest = (r) => {
      if (r.packetType !== 'Fragment') return undefined;
      server.onRequest = null;
      return { kind: 'respond', status: 200, headers: { 'BITS-Received-Content-Range': '50000' } };
    };
    const err = await failureOf(uploadFile(rec.request({ type: 'UPLOAD_REPLY' })));
    assert.equal(err.failure.error.name, 'BG_E_INVALID_SERVER_RESPONSE');
    assert.match(err.failure.error.message, /BITS-Reply-URL/);
    assert.equal(rec.state.bytesAcked, 50_000);
    assert.equal(server.packets('Close-Session').length, 0);
    const result = await uploadFile(rec.request({ type: 'UPLOAD_REPLY' }));
    assert.deepEqual(result.replyData, answer(data));
    assert.match(server.packets('Fragment')[1]?.headers['content-range'] ?? '', /\/50000$/);
  });
});

test('§14.2 item 14: an interrupted reply download resumes with a ranged GET; no fragment is resent', async () => {
  const reply = pattern(300_000, 9);
  await withServer({ reply: () => reply }, 20_000, async (server, rec) => {
    server.onRequest = (r) => (r.method === 'GET' ? { kind: 'cutResponse', bytes: 100_000 } : undefined);
    const err = await failureOf(uploadFile(rec.request({ type: 'UPLOAD_REPLY', options: { checkpointBytes: 1 } })));
    assert.equal(err.failure.kind, 'transient');
    assert.ok(rec.state.replyBytesTransferred > 0, 'partial reply checkpointed');
    const partial = rec.state.replyBytesTransferred;
    server.onRequest = null;
    const fragments = server.packets('Fragment').length;
    const result = await uploadFile(rec.request({ type: 'UPLOAD_REPLY' }));
    assert.equal(server.packets('Fragment').length, fragments);
    const gets = server.requests.filter((r) => r.method === 'GET');
    assert.equal(gets.at(-1)?.headers.range, `bytes=${partial}-`);
    assert.equal(sha256(readFileSync(result.replyTemporaryName ?? '')), sha256(reply));
    assert.equal(result.replyData?.length, reply.length);
  });
});

test('§14.2 item 14: job credentials and custom headers go to a reply on the upload server, never to another origin', async () => {
  const other = await BitsFaultServer.start();
  try {
    const base = `http://127.0.0.1:${other.port}`;
    const options = {
      customHeaders: [['X-Api-Key', 'k1']] as const,
      credentials: [{ target: 'SERVER', scheme: 'BASIC', userName: 'u', password: 'p' }] as const,
    };
    await withServer(
      { reply: answer, replyBase: base, basicAuth: { user: 'u', password: 'p' } },
      5000,
      async (server, rec, data) => {
        // The other origin serves what the upload server's back end produced.
        other.onRequest = () => {
          for (const [path, body] of server.replies) other.replies.set(path, body);
          return undefined;
        };
        const result = await uploadFile(rec.request({ type: 'UPLOAD_REPLY', options }));
        assert.deepEqual(result.replyData, answer(data));
        const get = other.requests.find((r) => r.method === 'GET');
        assert.ok(get !== undefined);
        assert.equal(get.headers.authorization, undefined);
        assert.equal(get.headers['x-api-key'], undefined);
        assert.ok(server.packets('Fragment').every((r) => r.headers['x-api-key'] === 'k1'));
      },
    );
    // Same origin: the reply request carries the custom header.
    await withServer({ reply: answer }, 5000, async (server, rec) => {
      await uploadFile(rec.request({ type: 'UPLOAD_REPLY', options: { customHeaders: options.customHeaders } }));
      assert.equal(server.requests.find((r) => r.method === 'GET')?.headers['x-api-key'], 'k1');
    });
  } finally {
    await other.close();
  }
});

test('§14.2 item 14: a stored reply that vanished before Close-Session is fetched again (the server keeps it until then)', async () => {
  await withServer({ reply: answer }, 5000, async (server, rec, data) => {
    let closes = 0;
    server.onRequest = (r) =>
      r.packetType === 'Close-Session' && ++closes === 1 ? { kind: 'respond', status: 503 } : undefined;
    await failureOf(uploadFile(rec.request({ type: 'UPLOAD_REPLY' })));
    assert.equal(rec.state.replyComplete, true);
    unlinkSync(rec.state.replyTemporaryName ?? '');
    const result = await uploadFile(rec.request({ type: 'UPLOAD_REPLY' }));
    assert.deepEqual(result.replyData, answer(data));
    assert.equal(server.requests.filter((r) => r.method === 'GET').length, 2);
    assert.deepEqual(readFileSync(result.replyTemporaryName ?? ''), answer(data));
  });
});
