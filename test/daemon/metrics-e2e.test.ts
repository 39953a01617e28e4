// Prometheus metrics of a real bitsd (issue 17), scraped the way Prometheus would: GET /metrics
// on the socket and on the TCP address of the policy's `metrics.listen`, before and after real
// transfers — a download from a local origin, an upload to a real bits-upload-server (whose own
// metrics listener is scraped too) and a download that fails with a 404.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type BitsClient, connect } from '../../src/client/connect.ts';
import { startBitsUploadServer } from '../../src/upload-server/server.ts';
import { tempDir } from '../api/helpers.ts';
import { sha256, sha256File } from '../helpers/digest.ts';
import { waitForState } from '../helpers/manager-harness.ts';
import { serving, startOrigin } from '../helpers/origin-server.ts';
import { getOnSocket, metricValue, scrape } from '../helpers/prometheus.ts';
import { type DaemonProcess, spawnDaemon, stopDaemon } from './helpers.ts';

describe('bitsd metrics end to end', () => {
  let home: Awaited<ReturnType<typeof tempDir>>;
  let daemon: DaemonProcess;
  let client: BitsClient;
  let tcpUrl: string;

  before(async () => {
    home = await tempDir('openbits-metrics-');
    // Small checkpoints, so a few MiB make several of them; metrics on any free loopback port.
    writeFileSync(
      join(home.path, 'config.json'),
      JSON.stringify({ checkpointBytes: 1024 * 1024, metrics: { listen: '127.0.0.1:0' } }),
    );
    daemon = await spawnDaemon(home.path);
    client = connect({ socketPath: daemon.socketPath, autoStart: false });
    const status = await client.status();
    assert.match(status.metricsUrl ?? '', /^http:\/\/127\.0\.0\.1:\d+\/metrics$/u, 'status names the TCP metrics URL');
    tcpUrl = status.metricsUrl as string;
  });
  after(async () => {
    await client?.close();
    if (daemon !== undefined) assert.equal(await stopDaemon(daemon), 0, daemon.stderr());
    await home?.remove();
  });

  async function both(): Promise<[string, string]> {
    const onSocket = await getOnSocket(daemon.socketPath, '/metrics');
    assert.equal(onSocket.status, 200, onSocket.body);
    assert.match(onSocket.type, /^text\/plain; version=0\.0\.4/u);
    return [onSocket.body, await scrape(tcpUrl)];
  }

  it('a download, an upload and a failure move the numbers on the socket and on TCP alike', async () => {
    const [before] = await both();
    assert.equal(metricValue(before, 'openbits_transferred_bytes_total'), 0);
    assert.ok(metricValue(before, 'process_resident_memory_bytes') > 0);

    const origin = await startOrigin();
    const uploads = await tempDir('openbits-metrics-up-');
    const server = await startBitsUploadServer({ root: uploads.path, metricsListen: { port: 0 } });
    try {
      // A download of 6 MiB + a bit.
      const body = randomBytes(6 * 1024 * 1024 + 777);
      origin.route('/d.bin', serving(body, { etag: '"d1"' }));
      const down = await client.createJob('metrics-down');
      const dest = join(home.path, 'd.bin');
      await client.addFile(down.id, origin.url('/d.bin'), dest);
      await client.resume(down.id);
      await waitForState(client, down.id, 'TRANSFERRED', 60_000);
      const [mid] = await both();
      assert.equal(metricValue(mid, 'openbits_jobs', { state: 'TRANSFERRED', priority: 'NORMAL' }), 1);
      await client.complete(down.id);
      assert.equal(await sha256File(dest), sha256(body));

      // An upload of 3 MiB to the upload server.
      const up = randomBytes(3 * 1024 * 1024);
      const src = join(home.path, 'u.bin');
      writeFileSync(src, up);
      const upJob = await client.createJob('metrics-up', 'UPLOAD');
      await client.addFile(upJob.id, `${server.url}/u.bin`, src);
      await client.resume(upJob.id);
      await waitForState(client, upJob.id, 'TRANSFERRED', 60_000);
      await client.complete(upJob.id);
      assert.equal(await sha256File(join(uploads.path, 'u.bin')), sha256(up));

      // A 404: ERROR, counted by its BITS name.
      const bad = await client.createJob('metrics-404');
      await client.addFile(bad.id, origin.url('/missing.bin'), join(home.path, 'missing.bin'));
      await client.resume(bad.id);
      await waitForState(client, bad.id, 'ERROR', 60_000);

      for (const text of await both()) {
        assert.equal(metricValue(text, 'openbits_transferred_bytes_total', { direction: 'download' }), body.length);
        assert.equal(metricValue(text, 'openbits_transferred_bytes_total', { direction: 'upload' }), up.length);
        assert.equal(metricValue(text, 'openbits_job_state_changes_total', { state: 'CREATED' }), 3);
        assert.equal(metricValue(text, 'openbits_job_state_changes_total', { state: 'ACKNOWLEDGED' }), 2);
        assert.equal(
          metricValue(text, 'openbits_job_errors_total', { code: 'BG_E_HTTP_ERROR_404', kind: 'fatal' }),
          1,
          text,
        );
        assert.equal(metricValue(text, 'openbits_jobs', { state: 'ERROR', priority: 'NORMAL' }), 1);
        assert.equal(metricValue(text, 'openbits_jobs', { state: 'TRANSFERRED' }), 0);
        assert.ok(metricValue(text, 'openbits_checkpoint_seconds_count') >= 5, 'a checkpoint per MiB of the download');
        assert.ok(metricValue(text, 'openbits_store_commit_seconds_count') >= 9, 'every transition is a commit');
      }
      const serverSide = await scrape(server.metricsUrl as string);
      assert.equal(metricValue(serverSide, 'bits_upload_received_bytes_total'), up.length);
      assert.equal(metricValue(serverSide, 'bits_upload_files_committed_total'), 1);
      await client.cancel(bad.id);
    } finally {
      await server.close();
      await origin.close();
      await uploads.remove();
    }
  });

  it('event-stream subscribers are counted while they listen', async () => {
    const listening = client.subscribe(() => undefined);
    await listening.ready;
    try {
      const [text] = await both();
      assert.ok(metricValue(text, 'openbits_event_subscribers') >= 1, text);
    } finally {
      listening();
    }
  });
});
