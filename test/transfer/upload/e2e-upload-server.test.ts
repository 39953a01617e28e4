import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { type AddressInfo, createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { closeUploadAgents, uploadFile } from '../../../src/transfer/upload/index.ts';
import { startBackEnd } from '../../upload-server/helpers/back-end.ts';
import { removeFixture, startFixture } from '../../upload-server/helpers/fixture.ts';
import { failureOf, RecordedUpload, removeDir, sha256, tempUpload } from './upload-request.ts';

// End to end: our client against OUR upload server (src/upload-server), through a TCP proxy
// that can reset the connection in the middle of a fragment.

after(() => closeUploadAgents());

const MiB = 1024 * 1024;

/** A TCP relay to a movable target; `cutAfter(n)` resets the connection after n more request bytes. */
class CutProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  target = 0;
  #cutIn = Number.POSITIVE_INFINITY;
  cuts = 0;
  port = 0;

  constructor() {
    this.#server = createServer((client) => {
      const upstream = netConnect(this.target, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.on('data', (chunk: Buffer) => {
        if (chunk.length >= this.#cutIn) {
          upstream.write(chunk.subarray(0, this.#cutIn));
          this.#cutIn = Number.POSITIVE_INFINITY;
          this.cuts++;
          client.resetAndDestroy();
          upstream.destroy();
          return;
        }
        this.#cutIn -= chunk.length;
        upstream.write(chunk);
      });
      upstream.on('data', (chunk: Buffer) => client.write(chunk));
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((r) => this.#server.listen(0, '127.0.0.1', r));
    this.port = (this.#server.address() as AddressInfo).port;
  }

  cutAfter(bytes: number): void {
    this.#cutIn = bytes;
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }
}

test('e2e: a 64 MiB upload to our server survives a connection reset mid-fragment and a server restart (sha256 on the server)', async () => {
  const { dir, file, data } = await tempUpload(64 * MiB, 64);
  const proxy = new CutProxy();
  await proxy.start();
  let server = await startFixture();
  proxy.target = server.port;
  try {
    const rec = new RecordedUpload(`http://127.0.0.1:${proxy.port}/big/upload.bin`, file);
    // 1. Reset after 20 MiB of request bytes: in the middle of a fragment.
    proxy.cutAfter(20 * MiB + 12_345);
    const first = await failureOf(uploadFile(rec.request()));
    assert.equal(first.failure.kind, 'transient');
    assert.equal(proxy.cuts, 1);
    const acked = rec.state.bytesAcked;
    const session = rec.state.sessionId;
    assert.ok(acked > 0 && acked < 20 * MiB, `acked ${acked}`);

    // 2. Resume; reset again, then restart the server (sessions persist on disk) while it is down.
    proxy.cutAfter(16 * MiB + 777);
    await failureOf(uploadFile(rec.request()));
    assert.equal(proxy.cuts, 2);
    assert.ok(rec.state.bytesAcked > acked, 'the resumed call made progress');
    await server.close();
    server = await startFixture({}, { base: server.base, clock: server.clock });
    proxy.target = server.port;

    // 3. A restarted process resumes from the persisted state and finishes.
    rec.state = JSON.parse(JSON.stringify(rec.state));
    const resumedFrom = rec.state.bytesAcked;
    const progressBefore = rec.progress.length;
    await uploadFile(rec.request());
    assert.equal(rec.state.sessionId, session, 'the same session all along');
    assert.ok((rec.progress[progressBefore] ?? 0) > resumedFrom, 'continued, not restarted');
    const stored = await readFile(join(server.root, 'big', 'upload.bin'));
    assert.equal(stored.length, data.length);
    assert.equal(createHash('sha256').update(stored).digest('hex'), sha256(data));
  } finally {
    await proxy.close();
    await removeFixture(server);
    await removeDir(dir);
  }
});

test('e2e: upload-reply against our server — the back end answers, the client stores the reply, then closes', async () => {
  const app = await startBackEnd((n, res) => {
    res.end(`received ${n.body.length} bytes, sha256 ${createHash('sha256').update(n.body).digest('hex')}`);
  });
  const server = await startFixture({ notificationType: 'by-value', notificationUrl: `${app.url}/notify` });
  const { dir, file, data } = await tempUpload(3 * MiB + 99, 5);
  try {
    const rec = new RecordedUpload(`http://127.0.0.1:${server.port}/reply/job.bin`, file);
    const result = await uploadFile(rec.request({ type: 'UPLOAD_REPLY', options: { initialFragmentSize: MiB } }));
    const expected = `received ${data.length} bytes, sha256 ${sha256(data)}`;
    assert.equal(result.replyData?.toString(), expected);
    assert.equal(result.replySize, expected.length);
    assert.equal((await readFile(result.replyTemporaryName ?? '')).toString(), expected);
    assert.equal(app.received.length, 1);
    assert.equal(sha256(app.received[0]?.body ?? Buffer.alloc(0)), sha256(data));
    assert.ok(rec.state.replyUrl?.startsWith(`http://127.0.0.1:${server.port}/`), rec.state.replyUrl ?? '');
    // Close-Session came after the reply: the server has dropped it now.
    const gone = await fetch(rec.state.replyUrl ?? '');
    assert.equal(gone.status, 404);
  } finally {
    await removeFixture(server);
    await app.close();
    await removeDir(dir);
  }
});

/** Packets of `type` our server counted; rejections by status. */
async function serverCounts(f: {
  server: { handler: { metrics: { registry: { getMetricsAsJSON(): Promise<unknown> } } } };
}) {
  const all = (await f.server.handler.metrics.registry.getMetricsAsJSON()) as Array<{
    name: string;
    values: Array<{ value: number; labels: Record<string, string> }>;
  }>;
  const values = (name: string) => all.find((m) => m.name === name)?.values ?? [];
  return {
    fragments: values('bits_upload_packets_total').find((v) => v.labels.type === 'Fragment')?.value ?? 0,
    refused413: values('bits_upload_rejections_total').filter((v) => v.labels.status === '413').length,
  };
}

test('e2e: our server advertises its fragment limit (X-Bits-Max-Fragment-Size); the client sends up to it, past the 13 MiB Windows ceiling, and never draws a 413', async () => {
  const { dir, file, data } = await tempUpload(40 * MiB, 12);
  const big = await startFixture();
  const small = await startFixture({ maxFragmentSize: 300_000 });
  try {
    const rec = new RecordedUpload(`http://127.0.0.1:${big.port}/big/file.bin`, file);
    await uploadFile(rec.request());
    assert.equal(sha256(await readFile(join(big.root, 'big', 'file.bin'))), sha256(data));
    const steps = rec.progress.map((n, i) => n - (rec.progress[i - 1] ?? 0)).filter((n) => n > 0);
    assert.ok(Math.max(...steps) > 13 * MiB, `fragments ${steps.join(', ')}`);
    assert.ok((await serverCounts(big)).fragments <= 4, 'a few large fragments, not 1, 2, 4, 8, 13, 13 MiB');

    const limited = new RecordedUpload(`http://127.0.0.1:${small.port}/small/file.bin`, file);
    // Even a 13 MiB first fragment is shrunk to the limit the Ping Ack named, before it is sent.
    await uploadFile(limited.request({ options: { initialFragmentSize: 13 * MiB } }));
    assert.equal(sha256(await readFile(join(small.root, 'small', 'file.bin'))), sha256(data));
    const counts = await serverCounts(small);
    assert.equal(counts.refused413, 0);
    assert.equal(counts.fragments, Math.ceil(data.length / 300_000));
  } finally {
    await removeFixture(big);
    await removeFixture(small);
    await removeDir(dir);
  }
});
