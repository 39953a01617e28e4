// Webhooks end to end (issue 17): `bitsadmin /setnotifyurl` on a real bitsd; the receiver
// verifies the signature with the secret the CLI printed; a delivery that fails while the
// receiver is down stays in the outbox across a restart of bitsd and arrives afterwards.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, it } from 'node:test';
import { verifyWebhook } from '../../src/service/webhooks/signature.ts';
import { type DaemonProcess, spawnDaemon, stopDaemon } from '../daemon/helpers.ts';
import { FileServer } from '../helpers/file-server.ts';
import { getOnSocket, metricValue } from '../helpers/prometheus.ts';
import { until } from '../helpers/until.ts';
import { type ReceivedHook, startWebhookReceiver } from '../helpers/webhook-receiver.ts';
import { cli, cliOk, createJob, scratchDir, waitForState } from './helpers.ts';

/** The outbox rows bitsd holds (read beside it: WAL lets a reader in). */
function outbox(home: string): Array<{ event: string; attempts: number; last_error: string | null }> {
  const db = new DatabaseSync(join(home, 'jobs.db'), { readOnly: true });
  try {
    return db.prepare('SELECT event, attempts, last_error FROM webhook_outbox').all() as never;
  } finally {
    db.close();
  }
}

describe('e2e: webhooks from bitsd', () => {
  let home: { path: string; remove(): Promise<void> };
  let daemon: DaemonProcess;
  let files: FileServer;

  before(async () => {
    home = await scratchDir('openbits-hooks-');
    daemon = await spawnDaemon(home.path);
    files = await FileServer.start();
  });
  after(async () => {
    await files?.close();
    if (daemon !== undefined) await stopDaemon(daemon);
    await home?.remove();
  });

  it('/setnotifyurl prints a secret; transferred arrives signed; completed waits out a receiver that is down, across a restart', async () => {
    const received: ReceivedHook[] = [];
    let receiver = await startWebhookReceiver((hook, _i, res) => {
      received.push(hook);
      res.writeHead(204).end();
    });
    const url = `${receiver.url}/hooks/openbits`;
    files.add('/e.bin', 200_000);
    const job = await createJob(home.path, 'hooked');
    await cliOk(home.path, ['/addfile', job, files.url('/e.bin'), join(home.path, 'e.bin')]);

    const refused = await cli(home.path, ['/setnotifyurl', job, 'http://hooks.example/x', 'whsec_0123456789abcdef']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stdout + refused.stderr, /E_INVALIDARG|0x80070057/u);
    assert.match(refused.stdout + refused.stderr, /use https/u);

    const set = await cliOk(home.path, ['/setnotifyurl', job, url]);
    const secret = /Webhook secret \(shown once[^)]*\): ([0-9a-f]{64})/u.exec(set)?.[1];
    assert.ok(secret !== undefined, set);
    assert.equal(await cliOk(home.path, ['/rawreturn', '/getnotifyurl', job]), url);
    const info = JSON.parse(await cliOk(home.path, ['--json', '/info', job])) as { webhooks?: unknown };
    assert.ok(!JSON.stringify(info).includes(secret), 'the secret never comes back out');

    await cliOk(home.path, ['/resume', job]);
    await waitForState(home.path, job, 'TRANSFERRED', { daemon });
    await until(() => received.length === 1, 'job.transferred', 30_000);
    const first = received[0] as ReceivedHook;
    assert.equal(first.url, '/hooks/openbits');
    assert.equal(first.headers['openbits-event'], 'job.transferred');
    assert.equal(
      verifyWebhook(secret, first.body, first.headers['openbits-signature'] as string, Date.now() / 1000),
      'ok',
    );

    // The receiver goes away; Complete's delivery fails and waits in the outbox.
    const port = receiver.port;
    await receiver.close();
    await cliOk(home.path, ['/complete', job]);
    await until(
      () => outbox(home.path).some((r) => r.event === 'job.completed' && r.attempts >= 1),
      'a failed attempt',
      30_000,
    );
    assert.equal(outbox(home.path)[0]?.last_error, 'ECONNREFUSED');
    const metrics = (await getOnSocket(daemon.socketPath, '/metrics')).body;
    assert.equal(metricValue(metrics, 'openbits_webhook_attempts_total', { outcome: 'delivered' }), 1);
    assert.ok(metricValue(metrics, 'openbits_webhook_attempts_total', { outcome: 'failed' }) >= 1, metrics);

    assert.equal(await stopDaemon(daemon), 0, daemon.stderr());
    receiver = await startWebhookReceiver((hook, _i, res) => {
      received.push(hook);
      res.writeHead(200).end('thanks');
    }, port);
    try {
      daemon = await spawnDaemon(home.path);
      // The back-off (10 s after the first failure) is kept across the restart.
      await until(() => received.length === 2, 'job.completed after the restart', 60_000);
      const completed = received[1] as ReceivedHook;
      assert.equal(completed.headers['openbits-event'], 'job.completed');
      assert.equal(
        verifyWebhook(secret, completed.body, completed.headers['openbits-signature'] as string, Date.now() / 1000),
        'ok',
      );
      assert.equal((JSON.parse(completed.body) as { job: { state: string } }).job.state, 'ACKNOWLEDGED');
      await until(() => outbox(home.path).length === 0, 'the outbox to empty', 30_000);
    } finally {
      await receiver.close();
    }
  });
});
