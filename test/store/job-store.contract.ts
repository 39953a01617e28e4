import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { BitsError, type Job } from '../../src/core/index.ts';
import type { JobStore } from '../../src/store/index.ts';
import { assertBitsError } from '../helpers/assert-bits-error.ts';
import { jobStoreFileContract } from './job-store-files.contract.ts';
import { jobStoreQuotaContract } from './job-store-quotas.contract.ts';
import { jobStoreSegmentContract } from './job-store-segments.contract.ts';
import { jobStoreTransitionContract } from './job-store-transitions.contract.ts';
import { jobStoreWebhookContract } from './job-store-webhooks.contract.ts';
import { caller, createJob, file, jobId, type StoreFactory, type StoreHandle, snapshot, T0 } from './store-fixtures.ts';

/**
 * THE JobStore contract: every implementation's test file calls this with its factory, and
 * must pass all of it. Sections live in job-store-*.contract.ts to keep files small.
 */
export function jobStoreContract(name: string, factory: StoreFactory): void {
  describe(`JobStore contract: ${name}`, () => {
    jobStoreBasicContract(factory);
    jobStoreFileContract(factory);
    jobStoreTransitionContract(factory);
    jobStoreQuotaContract(factory);
    jobStoreWebhookContract(factory);
    jobStoreSegmentContract(factory);
  });
}

function jobStoreBasicContract(factory: StoreFactory): void {
  describe('create, get, list, setters, timers', () => {
    let handle: StoreHandle;
    let store: JobStore;
    beforeEach(() => {
      handle = factory({});
      store = handle.store;
    });
    afterEach(() => handle.cleanup());

    test('a new job has BITS defaults (bits-client.md §18 item 1)', () => {
      const job = store.createJob({ ...caller('alice', T0), id: jobId(1), type: 'DOWNLOAD', displayName: 'nightly' });
      const expected: Job = {
        id: jobId(1),
        type: 'DOWNLOAD',
        displayName: 'nightly',
        description: '',
        owner: 'alice',
        state: 'SUSPENDED',
        priority: 'NORMAL',
        minimumRetryDelay: 600,
        noProgressTimeout: 1_209_600,
        maximumDownloadTime: 7_776_000,
        notifyFlags: 3,
        notifyCmdLine: null,
        proxy: { usage: 'PRECONFIG', proxyList: null, bypassList: null },
        securityFlags: 0,
        customHeaders: null,
        customHeadersWriteOnly: false,
        credentials: [],
        dynamicContent: false,
        highPerformance: false,
        maxDownloadSize: null,
        maxBandwidth: 0,
        fileMode: null,
        maxConnections: 1,
        // Not set: the policy's default for the job's priority applies (BITS: transfer always).
        costFlags: null,
        replyFileName: null,
        errorCount: 0,
        error: null,
        times: { creationTime: T0, modificationTime: T0, transferCompletionTime: null },
        everResumed: false,
        webhooks: [],
        files: [],
      };
      assert.deepEqual(job, expected);
      assert.deepEqual(store.getJob(jobId(1)), expected);
    });

    test('duplicate display names are allowed; a duplicate id is refused and changes nothing', () => {
      createJob(store, 1);
      const second = store.createJob({ ...caller(), id: jobId(2), type: 'UPLOAD', displayName: 'job 1' });
      assert.equal(second.displayName, 'job 1');
      const before = snapshot(store, [jobId(1), jobId(2)]);
      assertBitsError(
        () => store.createJob({ ...caller('bob'), id: jobId(1), type: 'UPLOAD', displayName: 'x' }),
        'E_INVALIDARG',
      );
      assert.deepEqual(snapshot(store, [jobId(1), jobId(2)]), before);
    });

    test('bad create input is refused with E_INVALIDARG and nothing is created', () => {
      const base = { ...caller(), id: jobId(1), type: 'DOWNLOAD' as const, displayName: 'ok' };
      assertBitsError(() => store.createJob({ ...base, displayName: 'x'.repeat(257) }), 'E_INVALIDARG');
      assertBitsError(() => store.createJob({ ...base, id: 'not-a-guid' }), 'E_INVALIDARG');
      assertBitsError(() => store.createJob({ ...base, id: `{${jobId(1)}}` }), 'E_INVALIDARG');
      assertBitsError(() => store.createJob({ ...base, type: 'SIDEWAYS' as never }), 'E_INVALIDARG');
      assertBitsError(() => store.createJob({ ...base, owner: '' }), 'E_INVALIDARG');
      assertBitsError(() => store.createJob({ ...base, now: -1 }), 'E_INVALIDARG');
      assert.equal(store.getJob(jobId(1)), undefined);
      assert.deepEqual(store.listJobs(), []);
      assert.equal(store.createJob({ ...base, displayName: 'x'.repeat(256) }).displayName.length, 256);
    });

    test('getJob of an unknown id is undefined; verbs on it throw BG_E_NOT_FOUND and change nothing', () => {
      createJob(store, 1);
      const ghost = jobId(99);
      const before = snapshot(store, [jobId(1), ghost]);
      assert.equal(store.getJob(ghost), undefined);
      assert.equal(store.getTimers(ghost), undefined);
      assertBitsError(() => store.addFiles(ghost, [file(1)], caller()), 'BG_E_NOT_FOUND');
      assertBitsError(
        () => store.applyTransition(ghost, { expected: 'SUSPENDED', event: 'resume', now: T0 }),
        'BG_E_NOT_FOUND',
      );
      assertBitsError(() => store.updateJob(ghost, 'setDescription', { description: 'x' }, T0), 'BG_E_NOT_FOUND');
      assertBitsError(() => store.updateFile(ghost, 0, { bytesTotal: 1 }, T0), 'BG_E_NOT_FOUND');
      assertBitsError(() => store.saveCheckpoint(ghost, 0, 1, T0), 'BG_E_NOT_FOUND');
      assertBitsError(
        () => store.saveTimers(ghost, { activeMs: 0, noProgressMs: null, retryRemainingMs: null, inactiveMs: 0 }),
        'BG_E_NOT_FOUND',
      );
      assert.deepEqual(snapshot(store, [jobId(1), ghost]), before);
    });

    test('listJobs: queue order (oldest first) and the owner filter', () => {
      createJob(store, 3, 'alice');
      createJob(store, 1, 'bob');
      createJob(store, 2, 'alice');
      assert.deepEqual(
        store.listJobs().map((j) => j.id),
        [jobId(3), jobId(1), jobId(2)],
      );
      assert.deepEqual(
        store.listJobs({ owner: 'alice' }).map((j) => j.id),
        [jobId(3), jobId(2)],
      );
      assert.deepEqual(store.listJobs({ owner: 'carol' }), []);
    });

    test('records handed out are copies or frozen: mutating one changes nothing stored', () => {
      createJob(store, 1);
      const copy = store.getJob(jobId(1)) as { -readonly [K in keyof Job]: Job[K] };
      // A frozen record refuses the change (TypeError in strict code); a copy takes it alone.
      assert.doesNotThrow(() => {
        try {
          copy.state = 'CANCELLED';
        } catch (err) {
          assert.ok(err instanceof TypeError && Object.isFrozen(copy));
        }
        try {
          (copy.proxy as { usage: string }).usage = 'NO_PROXY';
        } catch (err) {
          assert.ok(err instanceof TypeError && Object.isFrozen(copy.proxy));
        }
      });
      assert.equal(store.getJob(jobId(1))?.state, 'SUSPENDED');
      assert.equal(store.getJob(jobId(1))?.proxy.usage, 'PRECONFIG');
    });

    test('setters store each property (credentials, headers, notify command line included)', () => {
      createJob(store, 1);
      const id = jobId(1);
      store.updateJob(id, 'setDescription', { description: 'd'.repeat(1024) }, T0 + 1);
      store.updateJob(id, 'setPriority', { priority: 'FOREGROUND' }, T0 + 2);
      store.updateJob(id, 'setMinimumRetryDelay', { minimumRetryDelay: 1 }, T0 + 3);
      store.updateJob(id, 'setCustomHeaders', { customHeaders: 'X-Token: abc\r\nAccept: */*\r\n' }, T0 + 4);
      const creds = [
        { target: 'SERVER', scheme: 'BASIC', userName: 'u', password: 'p\u00e9ss' },
        { target: 'PROXY', scheme: 'DIGEST', userName: 'v', password: 'q' },
      ] as const;
      store.updateJob(id, 'setCredentials', { credentials: creds }, T0 + 5);
      // Schemes the engines do not answer are refused, not stored (issue 12 item 10).
      for (const scheme of ['NTLM', 'NEGOTIATE', 'PASSPORT'] as const) {
        const credentials = [...creds, { target: 'SERVER' as const, scheme, userName: null, password: null }];
        assertBitsError(() => store.updateJob(id, 'setCredentials', { credentials }, T0 + 5), 'E_NOTIMPL');
      }
      store.updateJob(
        id,
        'setNotifyCmdLine',
        { notifyCmdLine: { program: '/bin/echo', parameters: 'echo hi' } },
        T0 + 6,
      );
      store.updateJob(
        id,
        'setProxySettings',
        { proxy: { usage: 'OVERRIDE', proxyList: 'http://p:3128', bypassList: '<local>' } },
        T0 + 7,
      );
      store.updateJob(id, 'setCostFlags', { costFlags: 0x80000021 }, T0 + 7);
      const job = store.getJob(id);
      assert.equal(job?.description, 'd'.repeat(1024));
      assert.equal(job?.priority, 'FOREGROUND');
      assert.equal(job?.minimumRetryDelay, 5, 'MinimumRetryDelay under 5 s is clamped to 5 s');
      assert.equal(job?.customHeaders, 'X-Token: abc\r\nAccept: */*\r\n');
      assert.deepEqual(job?.credentials, creds);
      assert.deepEqual(job?.notifyCmdLine, { program: '/bin/echo', parameters: 'echo hi' });
      assert.deepEqual(job?.proxy, { usage: 'OVERRIDE', proxyList: 'http://p:3128', bypassList: '<local>' });
      assert.equal(job?.costFlags, 0x80000021, 'BITS_JOB_TRANSFER_POLICY_UNRESTRICTED, above 2^31, kept whole');
      store.updateJob(id, 'setCostFlags', { costFlags: null }, T0 + 7);
      assert.equal(store.getJob(id)?.costFlags, null, 'null goes back to the policy default');
      assert.equal(job?.times.modificationTime, T0 + 7);
      assert.equal(job?.times.creationTime, T0 + 1);
    });

    test('bad setter input is refused with its BITS code and changes nothing', () => {
      createJob(store, 1);
      const id = jobId(1);
      const before = snapshot(store, [id]);
      assertBitsError(
        () => store.updateJob(id, 'setDescription', { description: 'd'.repeat(1025) }, T0),
        'BG_E_STRING_TOO_LONG',
      );
      assertBitsError(
        () => store.updateJob(id, 'setDisplayName', { displayName: 'n'.repeat(257) }, T0),
        'E_INVALIDARG',
      );
      assertBitsError(
        () => store.updateJob(id, 'setCustomHeaders', { customHeaders: 'X-A: 1\r\nX-B: 2\nEvil: 1' }, T0),
        'E_INVALIDARG',
      );
      assertBitsError(() => store.updateJob(id, 'setPriority', { priority: 'URGENT' as never }, T0), 'E_NOTIMPL');
      assertBitsError(() => store.updateJob(id, 'setNotifyFlags', { notifyFlags: 0x40 }, T0), 'E_NOTIMPL');
      assertBitsError(() => store.updateJob(id, 'setDescription', { priority: 'LOW' }, T0), 'E_INVALIDARG');
      assertBitsError(() => store.updateJob(id, 'setDescription', {}, T0), 'E_INVALIDARG');
      assertBitsError(() => store.updateJob(id, 'resume', { description: 'x' }, T0), 'E_INVALIDARG');
      assertBitsError(
        () =>
          store.updateJob(
            id,
            'setCredentials',
            { credentials: [{ target: 'SERVER', scheme: 'BASIC', userName: null, password: 'p' }] },
            T0,
          ),
        'E_INVALIDARG',
      );
      assertBitsError(
        () =>
          store.updateJob(
            id,
            'setProxySettings',
            { proxy: { usage: 'OVERRIDE', proxyList: null, bypassList: null } },
            T0,
          ),
        'E_INVALIDARG',
      );
      assertBitsError(
        () => store.updateJob(id, 'setNotifyCmdLine', { notifyCmdLine: { program: 'echo', parameters: null } }, T0),
        'E_INVALIDARG',
      );
      assertBitsError(
        () => store.updateJob(id, 'setMaxDownloadSize', { maxDownloadSize: 0 }, T0),
        'BG_E_MAX_DOWNLOAD_SIZE_INVALID_VALUE',
      );
      for (const costFlags of [0, 0x100, 0x80000000, -1, 2 ** 32, 1.5, '0x21']) {
        assertBitsError(
          () => store.updateJob(id, 'setCostFlags', { costFlags: costFlags as number }, T0),
          'E_INVALIDARG',
        );
      }
      assert.deepEqual(snapshot(store, [id]), before);
    });

    test('setter legality is checked in the store (types, after AddFile, after Resume, final)', () => {
      createJob(store, 1);
      createJob(store, 2, 'alice', 'UPLOAD');
      const [dl, up] = [jobId(1), jobId(2)];
      assertBitsError(
        () => store.updateJob(up, 'setDynamicContent', { dynamicContent: true }, T0),
        'BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY',
      );
      assertBitsError(() => store.updateJob(dl, 'setReplyFileName', { replyFileName: '/srv/r' }, T0), 'E_NOTIMPL');
      store.updateJob(dl, 'setHighPerformance', { highPerformance: true }, T0);
      store.addFiles(dl, [file(1)], caller());
      assertBitsError(
        () => store.updateJob(dl, 'setHighPerformance', { highPerformance: false }, T0),
        'BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE',
      );
      store.updateJob(dl, 'setDynamicContent', { dynamicContent: true }, T0);
      store.applyTransition(dl, { expected: 'SUSPENDED', event: 'resume', now: T0 });
      assertBitsError(
        () => store.updateJob(dl, 'setDynamicContent', { dynamicContent: false }, T0),
        'BG_E_READ_ONLY_PROPERTY_AFTER_RESUME',
      );
      assertBitsError(
        () => store.updateJob(dl, 'setMaxDownloadSize', { maxDownloadSize: 10 }, T0),
        'BG_E_READ_ONLY_PROPERTY_AFTER_RESUME',
      );
      store.applyTransition(dl, { expected: 'QUEUED', event: 'cancel', now: T0 });
      assertBitsError(() => store.updateJob(dl, 'setDescription', { description: 'late' }, T0), 'BG_E_INVALID_STATE');
      assert.equal(store.getJob(dl)?.highPerformance, true);
      assert.equal(store.getJob(dl)?.dynamicContent, true);
      assert.equal(store.getJob(dl)?.description, '');
    });

    test('MakeCustomHeadersWriteOnly is irreversible; TakeOwnership strips what was the old owner’s', () => {
      createJob(store, 1);
      const id = jobId(1);
      store.updateJob(id, 'setCustomHeaders', { customHeaders: 'X-A: 1\r\n' }, T0);
      store.updateJob(id, 'makeCustomHeadersWriteOnly', { customHeadersWriteOnly: true }, T0);
      assertBitsError(
        () => store.updateJob(id, 'makeCustomHeadersWriteOnly', { customHeadersWriteOnly: false }, T0),
        'E_INVALIDARG',
      );
      store.updateJob(
        id,
        'setCredentials',
        { credentials: [{ target: 'SERVER', scheme: 'BASIC', userName: 'u', password: 'p' }] },
        T0,
      );
      const job = store.updateJob(
        id,
        'takeOwnership',
        { owner: 'root', credentials: [], customHeaders: null, notifyCmdLine: null },
        T0 + 9,
      );
      assert.equal(job.owner, 'root');
      assert.deepEqual(store.getJob(id)?.credentials, []);
      assert.equal(store.getJob(id)?.customHeaders, null);
      assert.equal(store.getJob(id)?.customHeadersWriteOnly, true);
    });

    test('changes that keep the state and the owner keep the job where state and owner find it; others move it', () => {
      createJob(store, 1, 'alice');
      createJob(store, 2, 'bob');
      createJob(store, 3, 'alice');
      const [one, two, three] = [jobId(1), jobId(2), jobId(3)];
      // Same state, same owner: a setter, AddFile, a setter on a QUEUED job.
      store.updateJob(one, 'setDescription', { description: 'kept in place' }, T0 + 10);
      store.addFiles(one, [file(1)], caller('alice', T0 + 11));
      store.addFiles(three, [file(3)], caller('alice', T0 + 12));
      store.applyTransition(three, { expected: 'SUSPENDED', event: 'resume', now: T0 + 12 });
      store.updateJob(three, 'setPriority', { priority: 'HIGH' }, T0 + 13);
      assert.deepEqual(
        store.listJobs().map((j) => j.id),
        [one, two, three],
      );
      assert.deepEqual(
        store.listJobs({ owner: 'alice' }).map((j) => [j.id, j.state]),
        [
          [one, 'SUSPENDED'],
          [three, 'QUEUED'],
        ],
      );
      const kept = store.getJob(one);
      assert.equal(kept?.description, 'kept in place');
      assert.equal(kept?.files.length, 1);
      assert.equal(kept?.times.modificationTime, T0 + 11);
      assert.equal(store.getJob(three)?.priority, 'HIGH');
      // A new owner moves it to that owner; a final state takes it out of the queue.
      store.updateJob(
        three,
        'takeOwnership',
        { owner: 'bob', credentials: [], customHeaders: null, notifyCmdLine: null },
        T0 + 14,
      );
      store.applyTransition(one, { expected: 'SUSPENDED', event: 'cancel', now: T0 + 15 });
      assert.deepEqual(
        store.listJobs({ owner: 'bob' }).map((j) => j.id),
        [two, three],
      );
      assert.deepEqual(store.listJobs({ owner: 'alice' }), []);
      assert.equal(store.getJob(one)?.state, 'CANCELLED');
      assert.equal(store.getJob(three)?.owner, 'bob');
      assert.equal(store.getJob(three)?.state, 'QUEUED');
    });

    test('timers round-trip, are replaced by the next save, and go with their job', () => {
      createJob(store, 1);
      const id = jobId(1);
      assert.equal(store.getTimers(id), undefined);
      const timers = { activeMs: 1234.5, noProgressMs: 60_000, retryRemainingMs: null, inactiveMs: 7 };
      store.saveTimers(id, timers);
      assert.deepEqual(store.getTimers(id), timers);
      const next = { activeMs: 2000, noProgressMs: null, retryRemainingMs: 5000, inactiveMs: 0 };
      store.saveTimers(id, next);
      assert.deepEqual(store.getTimers(id), next);
      assertBitsError(() => store.saveTimers(id, { ...next, activeMs: -1 }), 'E_INVALIDARG');
      assertBitsError(() => store.saveTimers(id, { ...next, inactiveMs: Number.NaN }), 'E_INVALIDARG');
      assert.deepEqual(store.getTimers(id), next);
      store.applyTransition(id, { expected: 'SUSPENDED', event: 'cancel', now: T0 + 10 });
      assert.equal(store.purgeFinal(T0 + 11), 1);
      assert.equal(store.getTimers(id), undefined);
    });

    test('SetReplyFileName is refused once the stored upload session says the reply download began', () => {
      // The legality rule needs replyStarted; the store used to assume false and let it through.
      createJob(store, 1, 'alice', 'UPLOAD_REPLY');
      const id = jobId(1);
      store.saveTransferState(id, { sessionId: null, replyBytesTotal: -1 });
      store.updateJob(id, 'setReplyFileName', { replyFileName: '/srv/reply-a' }, T0);
      store.saveTransferState(id, { sessionId: null, replyBytesTotal: 12 });
      const err = assertBitsError(
        () => store.updateJob(id, 'setReplyFileName', { replyFileName: '/srv/reply-b' }, T0),
        'BG_E_INVALID_STATE',
      );
      assert.match(err.message, /setReplyFileName/);
      assert.equal(store.getJob(id)?.replyFileName, '/srv/reply-a');
    });

    test('createJob saves the first timers with the row; bad timers refuse the job', () => {
      const timers = { activeMs: 0, noProgressMs: null, retryRemainingMs: null, inactiveMs: 0 };
      store.createJob({ ...caller(), id: jobId(1), type: 'DOWNLOAD', displayName: 'a', timers });
      assert.deepEqual(store.getTimers(jobId(1)), timers);
      assertBitsError(
        () =>
          store.createJob({
            ...caller(),
            id: jobId(2),
            type: 'DOWNLOAD',
            displayName: 'b',
            timers: { ...timers, activeMs: -5 },
          }),
        'E_INVALIDARG',
      );
      assert.equal(store.getJob(jobId(2)), undefined);
      assert.equal(store.getTimers(jobId(2)), undefined);
    });

    test('durable() resolves once the verbs returned so far are committed', async () => {
      createJob(store, 1);
      store.updateJob(jobId(1), 'setDescription', { description: 'kept' }, T0 + 1);
      await store.durable();
      assert.equal(store.getJob(jobId(1))?.description, 'kept');
      store.close();
      await assert.rejects(store.durable(), BitsError);
    });

    test('transfer state round-trips as JSON, is replaced by the next save, and goes with its job', () => {
      createJob(store, 1);
      const id = jobId(1);
      assert.equal(store.getTransferState(id), undefined);
      const state = { sessionId: '{A0FF5911-4144-45B3-BF27-27AFC8EC8A67}', bytesAcked: 4096, snapshot: null };
      store.saveTransferState(id, state);
      assert.deepEqual(store.getTransferState(id), state);
      store.saveTransferState(id, { ...state, bytesAcked: 8192 });
      assert.deepEqual(store.getTransferState(id), { ...state, bytesAcked: 8192 });
      assertBitsError(() => store.saveTransferState(jobId(99), state), 'BG_E_NOT_FOUND');
      store.applyTransition(id, { expected: 'SUSPENDED', event: 'cancel', now: T0 + 10 });
      assert.equal(store.purgeFinal(T0 + 11), 1);
      assert.equal(store.getTransferState(id), undefined);
    });

    test('purgeFinal removes only final jobs last changed before the cut-off', () => {
      for (const n of [1, 2, 3, 4]) createJob(store, n);
      store.applyTransition(jobId(1), { expected: 'SUSPENDED', event: 'cancel', now: T0 + 100 });
      store.applyTransition(jobId(2), { expected: 'SUSPENDED', event: 'complete', now: T0 + 200 });
      store.applyTransition(jobId(3), { expected: 'SUSPENDED', event: 'cancel', now: T0 + 300 });
      assert.equal(store.purgeFinal(T0 + 250), 2);
      assert.equal(store.getJob(jobId(1)), undefined);
      assert.equal(store.getJob(jobId(2)), undefined);
      assert.equal(store.getJob(jobId(3))?.state, 'CANCELLED');
      assert.equal(store.getJob(jobId(4))?.state, 'SUSPENDED');
      assert.equal(store.purgeFinal(T0 + 250), 0);
    });

    test('a closed store refuses every verb', () => {
      createJob(store, 1);
      store.close();
      assert.throws(() => store.getJob(jobId(1)), BitsError);
      assert.throws(() => store.listJobs(), BitsError);
      assert.throws(() => createJob(store, 2), BitsError);
    });
  });
}
