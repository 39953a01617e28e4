import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { Job, WebhookDelivery } from '../../src/core/index.ts';
import type { JobStore } from '../../src/store/index.ts';
import { assertBitsError } from '../helpers/assert-bits-error.ts';
import { caller, createJob, file, jobId, type StoreFactory, type StoreHandle, snapshot, T0 } from './store-fixtures.ts';

const SECRET = 'whsec_0123456789abcdef';

function delivery(n: number, job: Job, over: Partial<WebhookDelivery> = {}): WebhookDelivery {
  return {
    id: `d-${n}`,
    jobId: job.id,
    event: 'job.cancelled',
    url: `https://hooks.example/${n}`,
    secret: SECRET,
    body: JSON.stringify({ state: job.state }),
    createdAt: T0 + n,
    attempts: 0,
    nextAttemptAt: T0 + n,
    lastError: null,
    ...over,
  };
}

/** Webhooks (docs/webhooks.md): the job's hooks as a property, and the outbox rows transitions add. */
export function jobStoreWebhookContract(factory: StoreFactory): void {
  describe('webhooks and the outbox', () => {
    let handle: StoreHandle;
    let store: JobStore;
    const id = jobId(1);
    beforeEach(() => {
      handle = factory({});
      store = handle.store;
      createJob(store, 1);
      store.addFiles(id, [file(1)], caller());
    });
    afterEach(() => handle.cleanup());

    test('SetWebhooks stores the hooks; bad ones are E_INVALIDARG and change nothing; null removes them', () => {
      const hooks = [
        { url: 'https://hooks.example/a', secret: SECRET },
        { url: 'http://127.0.0.1:9000/b', secret: SECRET },
      ];
      assert.deepEqual(store.updateJob(id, 'setWebhooks', { webhooks: hooks }, T0 + 1).webhooks, hooks);
      assert.deepEqual(store.getJob(id)?.webhooks, hooks);
      const before = snapshot(store, [id]);
      for (const bad of [
        [{ url: 'http://hooks.example/x', secret: SECRET }],
        [{ url: 'https://hooks.example/x', secret: 'short' }],
        [hooks[0], hooks[0]],
        Array.from({ length: 9 }, (_, i) => ({ url: `https://hooks.example/${i}`, secret: SECRET })),
      ]) {
        assertBitsError(() => store.updateJob(id, 'setWebhooks', { webhooks: bad as never }, T0 + 2), 'E_INVALIDARG');
      }
      assert.deepEqual(snapshot(store, [id]), before);
      assert.deepEqual(store.updateJob(id, 'setWebhooks', { webhooks: null }, T0 + 3).webhooks, []);
    });

    test('a transition adds the deliveries its callback builds from the new record, in the same commit', () => {
      let seen: Job | undefined;
      const next = store.applyTransition(id, {
        expected: 'SUSPENDED',
        event: 'cancel',
        now: T0 + 5,
        webhooks: (after) => {
          seen = after;
          return [delivery(1, after), delivery(2, after)];
        },
      });
      assert.equal(seen?.state, 'CANCELLED', 'the callback sees the job after the change');
      assert.equal(next.state, 'CANCELLED');
      const due = store.dueWebhooks(T0 + 10, 10, new Set());
      assert.deepEqual(
        due.map((d) => d.id),
        ['d-1', 'd-2'],
      );
      assert.deepEqual(due[0], delivery(1, seen as Job), 'every field comes back as written');
    });

    test('a refused transition adds no delivery; a callback that throws leaves the job unchanged', () => {
      assertBitsError(
        () =>
          store.applyTransition(id, {
            expected: 'QUEUED',
            event: 'cancel',
            now: T0 + 5,
            webhooks: (after) => [delivery(1, after)],
          }),
        'BG_E_INVALID_STATE',
      );
      const before = snapshot(store, [id]);
      assert.throws(() =>
        store.applyTransition(id, {
          expected: 'SUSPENDED',
          event: 'cancel',
          now: T0 + 6,
          webhooks: () => {
            throw new Error('payload failed');
          },
        }),
      );
      assert.deepEqual(snapshot(store, [id]), before, 'the change is all or nothing');
      assert.deepEqual(store.dueWebhooks(T0 + 100, 10, new Set()), []);
      assert.equal(store.nextWebhookAttempt(new Set()), undefined);
    });

    test('due rows: by next attempt, limited, skipping those in flight; failures move them; delivered and abandoned leave', () => {
      store.applyTransition(id, {
        expected: 'SUSPENDED',
        event: 'cancel',
        now: T0 + 5,
        webhooks: (after) => [
          delivery(1, after, { nextAttemptAt: T0 + 30 }),
          delivery(2, after, { nextAttemptAt: T0 + 10 }),
          delivery(3, after, { nextAttemptAt: T0 + 20 }),
        ],
      });
      const ids = (rows: WebhookDelivery[]) => rows.map((d) => d.id);
      assert.deepEqual(ids(store.dueWebhooks(T0 + 25, 10, new Set())), ['d-2', 'd-3']);
      assert.deepEqual(ids(store.dueWebhooks(T0 + 25, 1, new Set())), ['d-2']);
      assert.deepEqual(ids(store.dueWebhooks(T0 + 25, 1, new Set(['d-2']))), ['d-3']);
      assert.equal(store.nextWebhookAttempt(new Set()), T0 + 10);
      assert.equal(store.nextWebhookAttempt(new Set(['d-2', 'd-3'])), T0 + 30);

      store.webhookFailed('d-2', 1, T0 + 100, 'HTTP 500');
      const failed = store.dueWebhooks(T0 + 100, 10, new Set()).find((d) => d.id === 'd-2');
      assert.deepEqual([failed?.attempts, failed?.nextAttemptAt, failed?.lastError], [1, T0 + 100, 'HTTP 500']);
      assert.deepEqual(ids(store.dueWebhooks(T0 + 99, 10, new Set())), ['d-3', 'd-1'], 'd-2 waits for its back-off');

      store.webhookDelivered('d-3');
      store.webhookAbandoned('d-1');
      assert.deepEqual(ids(store.dueWebhooks(T0 + 1_000, 10, new Set())), ['d-2']);
      store.webhookDelivered('d-2');
      assert.equal(store.nextWebhookAttempt(new Set()), undefined);
    });
  });
}
