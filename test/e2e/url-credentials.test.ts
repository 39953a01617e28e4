// Issue 12 item 3 end to end: `bitsadmin /addfile job http://user:pw@host/x` on a real bitsd.
// The password reaches the origin as a Basic answer and nowhere else: not in /v1/jobs,
// /list /verbose, /listfiles, /info, the event stream, bitsd's debug log, /metrics or a webhook.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ManagerEvent } from '../../src/api/bits-manager.ts';
import { type BitsClient, connect } from '../../src/client/connect.ts';
import { type DaemonProcess, spawnDaemon, stopDaemon } from '../daemon/helpers.ts';
import { AuthChecker } from '../helpers/http-auth.ts';
import { requireAuth, serving, startOrigin } from '../helpers/origin-server.ts';
import { getOnSocket } from '../helpers/prometheus.ts';
import { until } from '../helpers/until.ts';
import { startWebhookReceiver } from '../helpers/webhook-receiver.ts';
import { cliOk, createJob, scratchDir, sha256, sha256File, waitForState } from './helpers.ts';

const SECRET = 'Sw0rdfish-e2e-91c';

describe('e2e: a password inside a URL is never shown back', () => {
  let home: { path: string; remove(): Promise<void> };
  let daemon: DaemonProcess;
  let client: BitsClient;

  before(async () => {
    home = await scratchDir('openbits-urlcreds-');
    daemon = await spawnDaemon(home.path, { OPENBITS_LOG_LEVEL: 'debug' });
    client = connect({ socketPath: daemon.socketPath, autoStart: false });
  });
  after(async () => {
    await client?.close();
    if (daemon !== undefined) await stopDaemon(daemon);
    await home?.remove();
  });

  it('/addfile with user:pw@ downloads through Basic; every view of the job shows the URL without them', async () => {
    const origin = await startOrigin();
    const body = randomBytes(200_000);
    const checker = new AuthChecker({ scheme: 'basic', user: 'alice', password: SECRET });
    origin.route('/secret.bin', requireAuth(checker, serving(body)));
    const receiver = await startWebhookReceiver((_h, _i, res) => res.writeHead(204).end());
    const events: ManagerEvent[] = [];
    const off = client.subscribe((e) => events.push(e));
    try {
      await off.ready;
      const job = await createJob(home.path, 'url-creds');
      const dest = join(home.path, 'secret.bin');
      const bare = origin.url('/secret.bin');
      await cliOk(home.path, ['/setnotifyurl', job, `${receiver.url}/hook`, 'whsec_0123456789abcdef0123']);
      await cliOk(home.path, ['/addfile', job, bare.replace('http://', `http://alice:${SECRET}@`), dest]);
      await cliOk(home.path, ['/resume', job]);
      await waitForState(home.path, job, 'TRANSFERRED', { daemon });
      await until(() => receiver.received.length > 0, 'the transferred webhook');

      const views: Record<string, string> = {
        '/list /verbose': await cliOk(home.path, ['/list', '/verbose']),
        '/listfiles': await cliOk(home.path, ['/listfiles', job]),
        '/info /verbose': await cliOk(home.path, ['/info', job, '/verbose']),
        '--json /info': await cliOk(home.path, ['--json', '/info', job]),
        'GET /v1/jobs': (await getOnSocket(daemon.socketPath, '/v1/jobs')).body,
        'GET /metrics': (await getOnSocket(daemon.socketPath, '/metrics')).body,
        events: JSON.stringify(events),
        webhooks: JSON.stringify(receiver.received.map((h) => [h.url, h.body])),
        'bitsd log (debug)': daemon.stderr(),
      };
      assert.ok(views['/listfiles']?.includes(bare), views['/listfiles']);
      assert.ok(views['GET /v1/jobs']?.includes(`"remoteName":"${bare}"`), views['GET /v1/jobs']);
      const shown = JSON.parse(views['--json /info'] ?? '{}') as { credentials?: unknown };
      assert.deepEqual(shown.credentials, [{ target: 'SERVER', scheme: 'BASIC', userName: 'alice' }]);
      for (const [where, text] of Object.entries(views)) {
        assert.ok(!text.includes(SECRET), `${where} shows the password:\n${text}`);
      }
      await cliOk(home.path, ['/complete', job]);
      assert.equal(await sha256File(dest), sha256(body));
    } finally {
      off();
      await receiver.close();
      await origin.close();
    }
  });
});
