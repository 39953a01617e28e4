// Webhooks (issue 17): the signature scheme, the URL rule, and the sender against a real local
// receiver over HTTP, with back-off and deadlines on a TestClock (no sleeping).
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, describe, it } from 'node:test';
import { validateWebhookSecret, validateWebhookUrl, type WebhookDelivery } from '../../src/core/index.ts';
import { WebhookSender } from '../../src/service/webhooks/sender.ts';
import { signWebhook, verifyWebhook } from '../../src/service/webhooks/signature.ts';
import { httpWebhookTransport } from '../../src/service/webhooks/transport.ts';
import { MemoryWebhookOutbox } from '../../src/store/webhook-outbox.ts';
import { assertBitsError } from '../helpers/assert-bits-error.ts';
import { TestClock } from '../helpers/test-clock.ts';
import { until } from '../helpers/until.ts';
import { startWebhookReceiver } from '../helpers/webhook-receiver.ts';

const SECRET = 'whsec_0123456789abcdef0123456789abcdef';
const transport = httpWebhookTransport();
after(() => transport.close());

function delivery(url: string, clock: TestClock, over: Partial<WebhookDelivery> = {}): WebhookDelivery {
  return {
    id: 'd3b07384-d9a0-4c9b-8f3e-1c2b3a4d5e6f',
    jobId: '6e0faea9-2a2c-4b4a-a77b-108aadb6d944',
    event: 'job.transferred',
    url,
    secret: SECRET,
    body: JSON.stringify({ id: 'd3b07384', type: 'job.transferred', job: { displayName: 'nightly ✓' } }),
    createdAt: clock.wallMs(),
    attempts: 0,
    nextAttemptAt: clock.wallMs(),
    lastError: null,
    ...over,
  };
}

function only(outbox: MemoryWebhookOutbox): WebhookDelivery {
  const [row, ...rest] = outbox.all();
  assert.ok(row !== undefined && rest.length === 0, `one delivery waiting, not ${outbox.all().length}`);
  return row;
}

describe('webhook signature', () => {
  it('verifies what it signs, and refuses a changed body, another secret, an old timestamp, a malformed header', () => {
    const body = '{"type":"job.error"}';
    const header = signWebhook(SECRET, body, 1_800_000_000);
    assert.match(header, /^t=1800000000,v1=[0-9a-f]{64}$/u);
    assert.equal(verifyWebhook(SECRET, body, header, 1_800_000_100), 'ok');
    assert.equal(verifyWebhook(SECRET, `${body} `, header, 1_800_000_100), 'mismatch');
    assert.equal(verifyWebhook(`${SECRET}x`, body, header, 1_800_000_100), 'mismatch');
    assert.equal(verifyWebhook(SECRET, body, header, 1_800_000_301), 'stale', 'five minutes is the window');
    assert.equal(verifyWebhook(SECRET, body, header, 1_799_999_699), 'stale');
    assert.equal(verifyWebhook(SECRET, body, 'v1=abc', 1_800_000_000), 'malformed');
    assert.equal(verifyWebhook(SECRET, body, undefined, 1_800_000_000), 'malformed');
    // Known answer (printf '1.{}' | openssl dgst -sha256 -hmac key), so a receiver written in
    // another language can check itself against docs/webhooks.md.
    assert.equal(
      signWebhook('key', '{}', 1),
      't=1,v1=1ba6b8171186efc613e8bcc0cbdab2748f24984d7c5a84faa2637afa0e40d224',
    );
  });
});

describe('webhook URL and secret', () => {
  it('https anywhere, http only to loopback; everything else is E_INVALIDARG naming the rule', () => {
    for (const ok of [
      'https://hooks.example/openbits',
      'https://10.0.0.5:8443/x?y=1',
      'http://127.0.0.1:9000/hook',
      'http://127.8.9.10/hook',
      'http://localhost:3000/',
      'http://[::1]:3000/x',
    ]) {
      assert.equal(validateWebhookUrl(ok), ok);
    }
    const refused: Array<[unknown, RegExp]> = [
      ['http://hooks.example/x', /plain http:\/\/ to a host that is not loopback: use https/u],
      ['http://192.168.1.2/x', /not loopback/u],
      ['http://127.0.0.1.evil.example/x', /not loopback/u],
      ['ftp://127.0.0.1/x', /must be https/u],
      ['file:///etc/passwd', /must be https/u],
      ['https://user:pw@hooks.example/x', /user name or password/u],
      ['https://hooks.example/x#frag', /fragment/u],
      ['https:///nohost', /no host/u],
      ['not a url', /spaces or control/u],
      ['https://hooks.example/\r\nX: y', /control/u],
      [42, /must be a string/u],
    ];
    for (const [url, message] of refused) {
      assertBitsError(() => validateWebhookUrl(url), 'E_INVALIDARG', message);
    }
    assertBitsError(() => validateWebhookSecret('short'), 'E_INVALIDARG', /16–256 characters/u);
    assertBitsError(() => validateWebhookSecret(`${SECRET} with space`), 'E_INVALIDARG', /printable/u);
    assert.equal(validateWebhookSecret(SECRET), SECRET);
  });
});

describe('WebhookSender against a real receiver', () => {
  it('a receiver that fails twice: retried after 10 s and 20 s of back-off, then delivered; each attempt verifies', async (t) => {
    const clock = new TestClock();
    const receiver = await startWebhookReceiver((hook, i, res) => {
      // The receiver's side: the signature over the raw body, at the receiver's clock.
      const check = verifyWebhook(
        SECRET,
        hook.body,
        hook.headers['openbits-signature'] as string,
        clock.wallMs() / 1000,
      );
      res.statusCode = i < 2 ? 500 : check === 'ok' ? 204 : 400;
      res.end();
    });
    t.after(() => receiver.close());
    const outbox = new MemoryWebhookOutbox();
    const outcomes: string[] = [];
    const sender = new WebhookSender({ outbox, transport, clock, onAttempt: (o) => outcomes.push(o) });
    t.after(() => sender.close());
    outbox.add(delivery(`${receiver.url}/hook`, clock));

    sender.kick();
    await until(() => outcomes.length === 1, 'the first attempt');
    assert.equal(only(outbox).attempts, 1);
    assert.equal(only(outbox).lastError, 'HTTP 500');
    assert.equal(only(outbox).nextAttemptAt, clock.wallMs() + 10_000);

    clock.advance(9_999);
    assert.equal(receiver.received.length, 1, 'not before the back-off is over');
    clock.advance(1);
    await until(() => outcomes.length === 2, 'the second attempt');
    assert.equal(only(outbox).attempts, 2);
    assert.equal(only(outbox).nextAttemptAt, clock.wallMs() + 20_000, 'the delay doubles');

    clock.advance(20_000);
    await until(() => outcomes.length === 3, 'the third attempt');
    assert.deepEqual(outcomes, ['failed', 'failed', 'delivered']);
    assert.deepEqual(outbox.all(), [], 'a 2xx removes the delivery');

    const [first, , third] = receiver.received;
    assert.ok(first !== undefined && third !== undefined);
    assert.equal(third.url, '/hook');
    assert.equal(third.headers['content-type'], 'application/json');
    assert.equal(third.headers['openbits-event'], 'job.transferred');
    assert.equal(third.headers['openbits-delivery'], first.headers['openbits-delivery'], 'one id across retries');
    assert.equal(third.body, first.body, 'the same body, byte for byte');
    assert.notEqual(third.headers['openbits-signature'], first.headers['openbits-signature'], 're-signed at each send');
  });

  it('a receiver that never answers: the attempt fails at the deadline (10 s on the clock)', async (t) => {
    const clock = new TestClock();
    const receiver = await startWebhookReceiver(() => {
      // no answer
    });
    t.after(() => receiver.close());
    const outbox = new MemoryWebhookOutbox();
    const sender = new WebhookSender({ outbox, transport, clock });
    t.after(() => sender.close());
    outbox.add(delivery(receiver.url, clock));
    sender.kick();
    assert.equal(sender.busy, 1, 'kick() returns while the POST is in flight: nothing waits for a receiver');
    await until(() => receiver.received.length === 1, 'the request to arrive');
    clock.advance(10_000);
    await until(() => sender.busy === 0, 'the attempt to end');
    assert.equal(only(outbox).lastError, 'timeout');
    assert.equal(only(outbox).attempts, 1);
  });

  it('a redirect is not followed; a refused connection is a failed attempt; the last attempt abandons', async (t) => {
    const clock = new TestClock();
    const elsewhere = await startWebhookReceiver();
    const redirecting = await startWebhookReceiver((_h, _i, res) => {
      res.writeHead(302, { location: `${elsewhere.url}/moved` }).end();
    });
    t.after(() => Promise.all([elsewhere.close(), redirecting.close()]));
    const free = createServer();
    await new Promise<void>((resolve) => free.listen(0, '127.0.0.1', resolve));
    const closedPort = (free.address() as { port: number }).port;
    await new Promise((resolve) => free.close(resolve));

    const outbox = new MemoryWebhookOutbox();
    const outcomes: string[] = [];
    const sender = new WebhookSender({
      outbox,
      transport,
      clock,
      retry: { maxAttempts: 2 },
      onAttempt: (o, d) => outcomes.push(`${d.url.includes(String(closedPort)) ? 'refused' : 'redirect'}:${o}`),
    });
    t.after(() => sender.close());
    outbox.add(delivery(redirecting.url, clock, { id: 'a' }));
    outbox.add(delivery(`http://127.0.0.1:${closedPort}/`, clock, { id: 'b' }));
    sender.kick();
    await until(() => outcomes.length === 2, 'two attempts');
    const byId = new Map(outbox.all().map((d) => [d.id, d]));
    assert.equal(byId.get('a')?.lastError, 'HTTP 302');
    assert.equal(byId.get('b')?.lastError, 'ECONNREFUSED');
    assert.equal(elsewhere.received.length, 0, 'the redirect target never heard of it');
    clock.advance(10_000);
    await until(() => outcomes.length === 4, 'the second attempts');
    assert.deepEqual(outcomes.slice(2).sort(), ['redirect:abandoned', 'refused:abandoned']);
    assert.deepEqual(outbox.all(), []);
  });
});

describe('WebhookSender and the store’s sync', () => {
  it('reads the outbox only after the commits so far are durable; a failed sync sends nothing', async (t) => {
    const clock = new TestClock();
    const receiver = await startWebhookReceiver((_hook, _i, res) => {
      res.statusCode = 204;
      res.end();
    });
    t.after(() => receiver.close());
    const outbox = new MemoryWebhookOutbox();
    let synced = (): void => {};
    let failed = (_err: Error): void => {};
    let syncs = 0;
    const outcomes: string[] = [];
    const sender = new WebhookSender({
      outbox,
      transport,
      clock,
      onAttempt: (o) => outcomes.push(o),
      durable: () => {
        syncs++;
        return new Promise<void>((resolve, reject) => {
          synced = resolve;
          failed = reject;
        });
      },
    });
    t.after(() => sender.close());
    outbox.add(delivery(`${receiver.url}/hook`, clock));
    sender.kick();
    assert.equal(syncs, 1);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(sender.busy, 0, 'nothing is read while the sync runs');
    failed(new Error('EIO'));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(sender.busy, 0, 'a failed sync sends nothing');
    assert.equal(receiver.received.length, 0);
    sender.kick();
    synced();
    await until(() => outcomes.length === 1, 'the attempt after the sync');
    assert.deepEqual(outcomes, ['delivered']);
    assert.equal(receiver.received.length, 1);
  });
});
