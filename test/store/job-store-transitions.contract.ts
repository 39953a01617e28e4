import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { BitsError } from '../../src/core/index.ts';
import type { JobStore, TransitionInput } from '../../src/store/index.ts';
import { assertBitsError } from '../helpers/assert-bits-error.ts';
import { caller, createJob, file, jobId, type StoreFactory, type StoreHandle, snapshot, T0 } from './store-fixtures.ts';

const http503 = (fileIndex: number | null = 0): NonNullable<TransitionInput['error']> => ({
  ...new BitsError('BG_E_HTTP_ERROR_503', 'Service Unavailable', { context: 'REMOTE_FILE' }).toJSON(),
  fileIndex,
});
const disconnected = (): NonNullable<TransitionInput['error']> => ({
  ...new BitsError('BG_E_NETWORK_DISCONNECTED', undefined, { context: 'GENERAL_TRANSPORT' }).toJSON(),
  fileIndex: null,
});

/** State changes: compare-and-set, legality, and what each row does to the record. */
export function jobStoreTransitionContract(factory: StoreFactory): void {
  describe('transitions', () => {
    let handle: StoreHandle;
    let store: JobStore;
    const id = jobId(1);
    const go = (change: TransitionInput) => store.applyTransition(id, change);
    beforeEach(() => {
      handle = factory({});
      store = handle.store;
      createJob(store, 1);
    });
    afterEach(() => handle.cleanup());

    test('Resume on an empty job is BG_E_EMPTY and the job stays SUSPENDED (§18 item 2)', () => {
      assertBitsError(() => go({ expected: 'SUSPENDED', event: 'resume', now: T0 + 1 }), 'BG_E_EMPTY');
      assert.equal(store.getJob(id)?.state, 'SUSPENDED');
      assert.equal(store.getJob(id)?.everResumed, false);
    });

    test('a stale expected state is BG_E_INVALID_STATE naming both states, and nothing changes', () => {
      store.addFiles(id, [file(1)], caller());
      go({ expected: 'SUSPENDED', event: 'resume', now: T0 + 1 });
      const before = snapshot(store, [id]);
      const err = assertBitsError(
        () => go({ expected: 'SUSPENDED', event: 'cancel', now: T0 + 2 }),
        'BG_E_INVALID_STATE',
      );
      assert.match(err.message, /QUEUED/);
      assert.match(err.message, /SUSPENDED/);
      assert.deepEqual(snapshot(store, [id]), before);
    });

    test('an event the table does not allow is BG_E_INVALID_STATE and changes nothing', () => {
      store.addFiles(id, [file(1)], caller());
      const before = snapshot(store, [id]);
      for (const event of ['pick', 'connected', 'all_files_done', 'retry_timer', 'transient_failure'] as const) {
        assertBitsError(
          () => go({ expected: 'SUSPENDED', event, error: http503(), now: T0 + 9 }),
          'BG_E_INVALID_STATE',
        );
      }
      assertBitsError(
        () => go({ expected: 'SUSPENDED', event: 'nonsense' as never, now: T0 + 9 }),
        'BG_E_INVALID_STATE',
      );
      assert.deepEqual(snapshot(store, [id]), before);
    });

    test('a full download: every row sets ModificationTime; Resume sets everResumed; TRANSFERRED its time', () => {
      store.addFiles(id, [file(1)], caller());
      const steps: Array<[TransitionInput, string]> = [
        [{ expected: 'SUSPENDED', event: 'resume', now: T0 + 1 }, 'QUEUED'],
        [{ expected: 'QUEUED', event: 'resume', now: T0 + 2 }, 'QUEUED'],
        [{ expected: 'QUEUED', event: 'pick', now: T0 + 3 }, 'CONNECTING'],
        [{ expected: 'CONNECTING', event: 'connected', now: T0 + 4 }, 'TRANSFERRING'],
        [{ expected: 'TRANSFERRING', event: 'all_files_done', now: T0 + 5 }, 'TRANSFERRED'],
        [{ expected: 'TRANSFERRED', event: 'suspend', now: T0 + 6 }, 'TRANSFERRED'],
        [{ expected: 'TRANSFERRED', event: 'complete', now: T0 + 7 }, 'ACKNOWLEDGED'],
      ];
      for (const [change, state] of steps) {
        const job = go(change);
        assert.equal(job.state, state);
        assert.equal(job.times.modificationTime, change.now);
        assert.deepEqual(store.getJob(id), job);
      }
      const job = store.getJob(id);
      assert.equal(job?.everResumed, true);
      assert.equal(job?.times.transferCompletionTime, T0 + 5);
      assert.equal(job?.times.creationTime, T0 + 1);
    });

    test('ErrorCount: transient and fatal failures count, network loss does not, and it is never reset', () => {
      store.addFiles(id, [file(1)], caller());
      go({ expected: 'SUSPENDED', event: 'resume', now: T0 + 1 });
      go({ expected: 'QUEUED', event: 'pick', now: T0 + 2 });
      let job = go({ expected: 'CONNECTING', event: 'transient_failure', error: http503(), now: T0 + 3 });
      assert.equal(job.state, 'TRANSIENT_ERROR');
      assert.equal(job.errorCount, 1);
      assert.deepEqual(job.error, http503());
      job = go({ expected: 'TRANSIENT_ERROR', event: 'retry_timer', now: T0 + 4 });
      assert.deepEqual(job.error, http503(), 'retry keeps the error until the connection succeeds');
      go({ expected: 'QUEUED', event: 'pick', now: T0 + 5 });
      job = go({ expected: 'CONNECTING', event: 'connected', now: T0 + 6 });
      assert.equal(job.error, null);
      job = go({ expected: 'TRANSFERRING', event: 'network_lost', error: disconnected(), now: T0 + 7 });
      assert.equal(job.state, 'TRANSIENT_ERROR');
      assert.equal(job.errorCount, 1, 'network loss does not count');
      assert.equal(job.error?.name, 'BG_E_NETWORK_DISCONNECTED');
      go({ expected: 'TRANSIENT_ERROR', event: 'network_restored', now: T0 + 8 });
      go({ expected: 'QUEUED', event: 'pick', now: T0 + 9 });
      job = go({ expected: 'CONNECTING', event: 'fatal_failure', error: http503(null), now: T0 + 10 });
      assert.equal(job.state, 'ERROR');
      assert.equal(job.errorCount, 2);
      job = go({ expected: 'ERROR', event: 'resume', now: T0 + 11 });
      assert.equal(job.state, 'QUEUED');
      assert.equal(job.error, null);
      assert.equal(job.errorCount, 2, 'ErrorCount is never reset');
      assert.equal(store.getJob(id)?.errorCount, 2);
    });

    test('a row that records an error needs a valid one; without it nothing changes', () => {
      store.addFiles(id, [file(1)], caller());
      go({ expected: 'SUSPENDED', event: 'resume', now: T0 + 1 });
      go({ expected: 'QUEUED', event: 'pick', now: T0 + 2 });
      const before = snapshot(store, [id]);
      assertBitsError(() => go({ expected: 'CONNECTING', event: 'transient_failure', now: T0 + 3 }), 'E_INVALIDARG');
      assertBitsError(
        () => go({ expected: 'CONNECTING', event: 'fatal_failure', error: http503(7), now: T0 + 3 }),
        'E_INVALIDARG',
      );
      assertBitsError(
        () =>
          go({
            expected: 'CONNECTING',
            event: 'fatal_failure',
            error: { ...http503(), name: 'NOT_A_CODE' as never },
            now: T0 + 3,
          }),
        'E_INVALIDARG',
      );
      assert.deepEqual(snapshot(store, [id]), before);
    });

    test('final jobs leave the queue: not listed, still readable, every change refused', () => {
      createJob(store, 2);
      store.addFiles(id, [file(1)], caller());
      go({ expected: 'SUSPENDED', event: 'cancel', now: T0 + 5 });
      assert.deepEqual(
        store.listJobs().map((j) => j.id),
        [jobId(2)],
      );
      assert.equal(store.getJob(id)?.state, 'CANCELLED');
      const before = snapshot(store, [id]);
      for (const event of ['resume', 'suspend', 'cancel', 'complete', 'inactivity_timeout'] as const) {
        assertBitsError(() => go({ expected: 'CANCELLED', event, now: T0 + 6 }), 'BG_E_INVALID_STATE');
      }
      assertBitsError(() => store.addFiles(id, [file(2)], caller()), 'BG_E_INVALID_STATE');
      assert.deepEqual(snapshot(store, [id]), before);
    });

    test('a transition saves the row and the timers it carries in one verb; a refused one saves neither', () => {
      store.addFiles(id, [file(1)], caller());
      const first = { activeMs: 0, noProgressMs: null, retryRemainingMs: null, inactiveMs: 0 };
      store.saveTimers(id, first);
      const queued = { activeMs: 0, noProgressMs: null, retryRemainingMs: null, inactiveMs: 5 };
      assert.equal(go({ expected: 'SUSPENDED', event: 'resume', now: T0 + 1, timers: queued }).state, 'QUEUED');
      assert.deepEqual(store.getTimers(id), queued);
      const before = snapshot(store, [id]);
      const waiting = { activeMs: 10, noProgressMs: 0, retryRemainingMs: 600_000, inactiveMs: 0 };
      // Stale state, then bad timers: the row and the timers stay as they were.
      assertBitsError(
        () => go({ expected: 'SUSPENDED', event: 'cancel', now: T0 + 2, timers: waiting }),
        'BG_E_INVALID_STATE',
      );
      assertBitsError(
        () => go({ expected: 'QUEUED', event: 'suspend', now: T0 + 2, timers: { ...waiting, noProgressMs: -1 } }),
        'E_INVALIDARG',
      );
      assert.deepEqual(snapshot(store, [id]), before);
      // Without timers the stored ones are left alone.
      go({ expected: 'QUEUED', event: 'suspend', now: T0 + 3 });
      assert.deepEqual(store.getTimers(id), queued);
    });

    test('upload Complete only from TRANSFERRED', () => {
      createJob(store, 2, 'alice', 'UPLOAD');
      const up = jobId(2);
      store.addFiles(up, [file(1)], caller());
      assertBitsError(
        () => store.applyTransition(up, { expected: 'SUSPENDED', event: 'complete', now: T0 }),
        'BG_E_INVALID_STATE',
      );
      assert.equal(store.getJob(up)?.state, 'SUSPENDED');
    });
  });
}
