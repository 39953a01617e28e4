// Prometheus metrics of bits-upload-server (issue 17): scraped over HTTP from the metrics
// listener while real uploads run; one registry per server instance; never in the upload URL space.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { metricNames, metricValue, scrape } from '../helpers/prometheus.ts';
import { assertAck, assertBitsError, assertOk, E_INVALIDARG } from './helpers/assertions.ts';
import {
  createSession,
  type Fixture,
  fragment,
  packet,
  payload,
  removeFixture,
  sha256,
  sha256File,
  startFixture,
  uploadWhole,
} from './helpers/fixture.ts';
import { RawClient } from './helpers/raw-client.ts';
import { startServerProcess } from './helpers/server-process.ts';

const fixtures: Fixture[] = [];
after(async () => {
  for (const f of fixtures) await removeFixture(f);
});

async function fixture(): Promise<Fixture> {
  const f = await startFixture({ metricsListen: { port: 0 } });
  fixtures.push(f);
  return f;
}

function metricsUrl(f: Fixture): string {
  const url = f.server.metricsUrl;
  assert.ok(url !== undefined, 'metricsListen gives a metrics URL');
  return url;
}

describe('bits-upload-server metrics', () => {
  test('sessions, fragments, bytes and rejections by code move with a real upload; two servers keep their own counts', async () => {
    const a = await fixture();
    const b = await fixture();
    assert.notEqual(metricsUrl(a), metricsUrl(b));
    const before = await scrape(metricsUrl(a));
    assert.deepEqual(
      metricNames(before).sort(),
      [
        'bits_upload_files_committed_total',
        'bits_upload_fragment_seconds',
        'bits_upload_fragments_total',
        'bits_upload_packets_total',
        'bits_upload_received_bytes_total',
        'bits_upload_rejections_total',
        'bits_upload_sessions_created_total',
        'bits_upload_sessions_ended_total',
      ],
      'only the upload server metrics: nothing from a global registry',
    );

    const c = await RawClient.connect(a.port);
    try {
      const data = payload(300 * 1024, 5);
      const { res, id } = await createSession(c, '/one.bin');
      assertOk(res);
      const piece = 100 * 1024;
      assertOk(await fragment(c, '/one.bin', id, 0, data.subarray(0, piece), data.length));
      // Resent (its Ack was "lost"): acknowledged again, no new bytes.
      assertOk(await fragment(c, '/one.bin', id, 0, data.subarray(0, piece), data.length));
      // A gap: 416 + BG_E_INVALID_RANGE, nothing written.
      assertAck(await fragment(c, '/one.bin', id, 2 * piece, data.subarray(2 * piece), data.length), 416);
      assertOk(await fragment(c, '/one.bin', id, piece, data.subarray(piece), data.length));
      assertOk(await packet(c, '/one.bin', 'Close-Session', id));
      // A packet of no known type: 400 + E_INVALIDARG.
      assertBitsError(await packet(c, '/two.bin', 'Bogus'), 400, E_INVALIDARG);
      const cancelled = await createSession(c, '/two.bin');
      assertOk(await packet(c, '/two.bin', 'Cancel-Session', cancelled.id));
      assert.equal(await sha256File(path.join(a.root, 'one.bin')), sha256(data));
    } finally {
      c.destroy();
    }

    const text = await scrape(metricsUrl(a));
    assert.equal(metricValue(text, 'bits_upload_sessions_created_total'), 2);
    assert.equal(metricValue(text, 'bits_upload_sessions_ended_total', { how: 'closed' }), 1);
    assert.equal(metricValue(text, 'bits_upload_sessions_ended_total', { how: 'cancelled' }), 1);
    assert.equal(metricValue(text, 'bits_upload_files_committed_total'), 1);
    assert.equal(metricValue(text, 'bits_upload_fragments_total'), 3, 'the 416 is a rejection, not a fragment');
    assert.equal(metricValue(text, 'bits_upload_received_bytes_total'), 300 * 1024, 'the resent fragment counts once');
    assert.equal(metricValue(text, 'bits_upload_fragment_seconds_count'), 3);
    assert.equal(metricValue(text, 'bits_upload_packets_total', { type: 'Fragment' }), 4);
    assert.equal(metricValue(text, 'bits_upload_packets_total', { type: 'Create-Session' }), 2);
    assert.equal(metricValue(text, 'bits_upload_rejections_total', { code: 'BG_E_INVALID_RANGE', status: '416' }), 1);
    assert.equal(metricValue(text, 'bits_upload_rejections_total', { code: 'E_INVALIDARG', status: '400' }), 1);

    const other = await scrape(metricsUrl(b));
    assert.equal(metricValue(other, 'bits_upload_sessions_created_total'), 0, 'the second server counted nothing');
    assert.equal(metricValue(other, 'bits_upload_received_bytes_total'), 0);
  });

  test('evicted and expired sessions are counted', async () => {
    const f = await startFixture({ metricsListen: { port: 0 }, maxSessionsPerAddress: 1 });
    fixtures.push(f);
    const c = await RawClient.connect(f.port);
    try {
      assertOk((await createSession(c, '/a.bin')).res);
      // The cap is one session per address: the idle first one makes room.
      assertOk((await createSession(c, '/b.bin')).res);
    } finally {
      c.destroy();
    }
    f.clock.advance(301_000); // past the empty-session timeout
    assert.equal(await f.server.handler.cleanup(), 1);
    const text = await scrape(metricsUrl(f));
    assert.equal(metricValue(text, 'bits_upload_sessions_ended_total', { how: 'evicted' }), 1);
    assert.equal(metricValue(text, 'bits_upload_sessions_ended_total', { how: 'expired' }), 1);
  });

  test('/metrics on the upload port is an upload name like any other; the metrics listener serves nothing else', async () => {
    const f = await fixture();
    const c = await RawClient.connect(f.port);
    try {
      await uploadWhole(c, '/metrics', payload(1000, 9));
    } finally {
      c.destroy();
    }
    assert.equal((await fs.stat(path.join(f.root, 'metrics'))).size, 1000);
    const url = new URL(metricsUrl(f));
    assert.equal((await fetch(new URL('/', url))).status, 404);
    assert.equal((await fetch(new URL('/one.bin', url))).status, 404);
    assert.equal((await fetch(url, { method: 'POST' })).status, 405);
  });

  test('the CLI serves metrics with --metrics-port and prints where', async (t) => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'bits-metrics-cli-'));
    const server = await startServerProcess(['--root', root, '--anonymous', '--metrics-port', '0']);
    t.after(async () => {
      server.child.kill('SIGTERM');
      await server.exited;
      await fs.rm(root, { recursive: true, force: true });
    });
    const deadline = Date.now() + 30_000;
    while (!/metrics on \S+/.test(server.stdout()) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const url = /metrics on (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(server.stdout())?.[1] ?? '';
    assert.notEqual(url, '', server.stdout());
    const c = await RawClient.connect(server.port);
    try {
      await uploadWhole(c, '/cli.bin', payload(200 * 1024, 3));
    } finally {
      c.destroy();
    }
    const text = await scrape(url);
    assert.equal(metricValue(text, 'bits_upload_received_bytes_total'), 200 * 1024);
    assert.equal(metricValue(text, 'bits_upload_files_committed_total'), 1);
  });
});
