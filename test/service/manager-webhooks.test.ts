// Webhooks through the manager (issue 17): a real download's transition adds the delivery in its
// commit; the sender retries a receiver that fails twice (back-off on the TestClock), and the
// third attempt verifies the signature; the policy's hooks get every job's events; secrets never
// come back out.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BitsError } from '../../src/core/index.ts';
import { ManualNetworkSource } from '../../src/scheduler/network.ts';
import { createManager } from '../../src/service/manager.ts';
import { verifyWebhook } from '../../src/service/webhooks/signature.ts';
import { FileServer } from '../helpers/file-server.ts';
import { tempDir, waitForState } from '../helpers/manager-harness.ts';
import { TestClock } from '../helpers/test-clock.ts';
import { until } from '../helpers/until.ts';
import { type ReceivedHook, startWebhookReceiver } from '../helpers/webhook-receiver.ts';

const JOB_SECRET = 'job-secret-0123456789abcdef';
const POLICY_SECRET = 'policy-secret-0123456789abcdef';

let server: FileServer;
before(async () => {
  server = await FileServer.start();
});
after(() => server.close());

const parsed = (h: ReceivedHook) => JSON.parse(h.body) as { type: string; id: string; job: Record<string, unknown> };

describe('in-process manager: webhooks', () => {
  it('transferred: a receiver failing twice gets it after 10 s and 20 s of back-off, signed; completed follows', async (t) => {
    const clock = new TestClock();
    const checks: string[] = [];
    const flaky = await startWebhookReceiver((hook, i, res) => {
      const check = verifyWebhook(
        JOB_SECRET,
        hook.body,
        hook.headers['openbits-signature'] as string,
        clock.wallMs() / 1000,
      );
      checks.push(check);
      res.statusCode = i < 2 ? 503 : check === 'ok' ? 204 : 401;
      res.end();
    });
    const steady = await startWebhookReceiver();
    t.after(() => Promise.all([flaky.close(), steady.close()]));
    const m = await createManager({
      home: tempDir(),
      clock,
      network: new ManualNetworkSource(true),
      policy: { webhooks: [{ url: `${steady.url}/all`, secret: POLICY_SECRET }] },
    });
    t.after(() => m.close());

    server.add('/w.bin', 300_000);
    const job = await m.createJob('hooked');
    await m.addFile(job.id, server.url('/w.bin'), `${tempDir()}/w.bin`);
    await m.setWebhooks(job.id, [{ url: `${flaky.url}/job`, secret: JOB_SECRET }]);
    assert.deepEqual((await m.getJob(job.id)).webhooks, [{ url: `${flaky.url}/job` }], 'no secret comes back');
    await m.resume(job.id);
    await waitForState(m, job.id, 'TRANSFERRED');

    await until(() => flaky.received.length === 1 && steady.received.length === 1, 'the first attempts');
    const first = flaky.received[0] as ReceivedHook;
    assert.equal(first.headers['openbits-event'], 'job.transferred');
    assert.equal(parsed(first).job.state, 'TRANSFERRED');
    assert.deepEqual(parsed(first).job.progress, {
      bytesTotal: 300_000,
      bytesTransferred: 300_000,
      filesTotal: 1,
      filesTransferred: 1,
    });
    assert.ok(!first.body.includes(JOB_SECRET) && !first.body.includes(POLICY_SECRET), 'no secret in a body');
    assert.equal(
      verifyWebhook(
        POLICY_SECRET,
        steady.received[0]?.body ?? '',
        steady.received[0]?.headers['openbits-signature'] as string,
        clock.wallMs() / 1000,
      ),
      'ok',
      'the policy hook signs with its own secret',
    );

    // The sender arms its back-off timer once it has read the 503: advance only after that.
    await until(() => clock.pendingWithDelay(10_000) === 1, 'the first back-off');
    clock.advance(10_000);
    await until(() => flaky.received.length === 2, 'the second attempt');
    await until(() => clock.pendingWithDelay(20_000) === 1, 'the second back-off');
    clock.advance(20_000);
    await until(() => flaky.received.length === 3, 'the third attempt');
    assert.deepEqual(checks, ['ok', 'ok', 'ok'], 'every attempt verifies at the receiver');
    assert.equal(parsed(flaky.received[2] as ReceivedHook).id, parsed(first).id, 'one delivery id throughout');

    await m.complete(job.id);
    await until(() => flaky.received.length === 4 && steady.received.length === 2, 'job.completed');
    assert.equal(flaky.received[3]?.headers['openbits-event'], 'job.completed');
    assert.equal(parsed(flaky.received[3] as ReceivedHook).job.state, 'ACKNOWLEDGED');
    clock.advance(3_600_000);
    await new Promise((r) => setImmediate(r));
    assert.equal(flaky.received.length, 4, 'a delivered one is never sent again');
  });

  it('a plain-http hook to another host is refused with E_INVALIDARG and the job keeps its hooks', async (t) => {
    const m = await createManager({ home: tempDir(), clock: new TestClock(), network: new ManualNetworkSource(true) });
    t.after(() => m.close());
    const job = await m.createJob('refused');
    await assert.rejects(
      m.setWebhooks(job.id, [{ url: 'http://hooks.example/x', secret: JOB_SECRET }]),
      (err: unknown) => err instanceof BitsError && err.name === 'E_INVALIDARG' && /use https/u.test(err.message),
    );
    assert.deepEqual((await m.getJob(job.id)).webhooks, []);
  });
});
