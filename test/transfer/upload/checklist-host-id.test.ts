import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { cancelUploadSession, closeUploadAgents, uploadFile } from '../../../src/transfer/upload/index.ts';
import { BitsFaultServer } from '../../helpers/bits-fault-server.ts';
import { TestClock } from '../../helpers/test-clock.ts';
import { failureOf, RecordedUpload, removeDir, sha256, tempUpload } from './upload-request.ts';

// Client checklist item 12 of bits-upload-protocol.md §14.2: BITS-Host-Id.
// The farm node named by BITS-Host-Id is 127.0.0.2 (loopback) on the origin's port.

after(() => closeUploadAgents());

const NODE = '127.0.0.2';

async function withServer(
  options: ConstructorParameters<typeof BitsFaultServer>[0],
  fn: (server: BitsFaultServer, rec: RecordedUpload, data: Buffer) => Promise<void>,
): Promise<void> {
  const server = await BitsFaultServer.start(options);
  const { dir, file, data } = await tempUpload(600_000);
  try {
    await fn(server, new RecordedUpload(server.url(), file), data);
  } finally {
    await server.close();
    await removeDir(dir);
  }
}

test('§14.2 item 12: BITS-Host-Id rewrites only the host of later packets, and the node is Pinged first', async () => {
  await withServer({ hostId: NODE, hostIdFallbackTimeoutS: 110 }, async (server, rec, data) => {
    await server.listenAlso(NODE);
    await uploadFile(rec.request({ options: { initialFragmentSize: 200_000 } }));
    const origin = `127.0.0.1:${server.port}`;
    const node = `${NODE}:${server.port}`;
    const seen = server.requests.map((r) => `${r.packetType} ${r.host}`);
    assert.deepEqual(seen.slice(0, 3), [`Ping ${origin}`, `Create-Session ${origin}`, `Ping ${node}`]);
    assert.ok(
      seen.slice(3).every((s) => s.endsWith(` ${node}`)),
      seen.join(),
    );
    assert.ok(server.packets('Fragment').length >= 2);
    assert.equal(server.requests.at(-1)?.packetType, 'Close-Session');
    assert.ok(
      server.requests.every((r) => r.path === '/upload/file.bin'),
      'path unchanged',
    );
    assert.equal(rec.state.hostId, NODE);
    assert.equal(rec.state.hostIdFallbackTimeoutS, 110);
    assert.equal(sha256(server.files.get('/upload/file.bin') ?? Buffer.alloc(0)), sha256(data));
  });
});

test('§14.2 item 12: an unreachable Host-Id node starts the fallback timer; on expiry without progress the client goes back to the origin', async () => {
  await withServer({ hostId: NODE, hostIdFallbackTimeoutS: 110 }, async (server, rec, data) => {
    const clock = new TestClock();
    const err = await failureOf(uploadFile(rec.request({ clock })));
    assert.equal(err.failure.kind, 'transient');
    const since = rec.state.hostIdFailingSinceMs;
    assert.equal(since, clock.wallMs());
    // 109 s later: the timer has not expired, the node is tried again (and the start time kept).
    clock.advance(109_000);
    await failureOf(uploadFile(rec.request({ clock })));
    assert.equal(rec.state.hostIdFailingSinceMs, since);
    assert.equal(rec.state.hostId, NODE);
    const seen = server.requests.length;
    clock.advance(1_000);
    await uploadFile(rec.request({ clock }));
    const last = server.requests.slice(seen);
    assert.ok(last.every((r) => r.host === `127.0.0.1:${server.port}`));
    assert.deepEqual(
      last.slice(0, 2).map((r) => r.packetType),
      ['Ping', 'Fragment'],
    );
    assert.equal(rec.state.hostId, null);
    assert.equal(server.packets('Create-Session').length, 1, 'the origin still knew the session');
    assert.equal(sha256(server.files.get('/upload/file.bin') ?? Buffer.alloc(0)), sha256(data));
  });
});

test('§14.2 item 12: without BITS-Host-Id-Fallback-Timeout the client never falls back', async () => {
  await withServer({ hostId: NODE }, async (server, rec) => {
    const clock = new TestClock();
    await failureOf(uploadFile(rec.request({ clock })));
    assert.equal(rec.state.hostIdFallbackTimeoutS, null);
    clock.advance(30 * 86_400_000);
    const seen = server.requests.length;
    const err = await failureOf(uploadFile(rec.request({ clock })));
    assert.equal(err.failure.kind, 'transient');
    assert.equal(rec.state.hostId, NODE);
    assert.equal(server.requests.length, seen, 'nothing reached the origin');
  });
});

test('§14.2 item 12: Cancel-Session goes to the Host-Id node, or to the origin once the fallback timer expired', async () => {
  await withServer({ hostId: NODE, hostIdFallbackTimeoutS: 60 }, async (server, rec) => {
    const clock = new TestClock();
    await failureOf(uploadFile(rec.request({ clock })));
    const req = rec.request({ clock });
    const early = await cancelUploadSession({ ...req, state: rec.state });
    assert.equal(early.outcome, 'retryLater', 'the node is unreachable');
    clock.advance(60_000);
    const late = await cancelUploadSession({ ...req, state: rec.state });
    assert.deepEqual(late, { outcome: 'done', status: 200 });
    assert.equal(server.packets('Cancel-Session')[0]?.host, `127.0.0.1:${server.port}`);
    assert.equal(server.sessions.size, 0);
  });
});
