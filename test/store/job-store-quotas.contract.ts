import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { DEFAULT_QUOTAS, type FileRange } from '../../src/core/index.ts';
import { assertBitsError } from '../helpers/assert-bits-error.ts';
import { caller, createJob, file, jobId, type StoreFactory, type StoreHandle, snapshot } from './store-fixtures.ts';

const files = (from: number, count: number) => Array.from({ length: count }, (_, i) => file(from + i));
const ranges = (count: number): FileRange[] => Array.from({ length: count }, (_, i) => ({ offset: i * 10, length: 5 }));

/** Quotas at the store boundary, with BITS's defaults and errors (bits-client.md §9.1, §18 item 15). */
export function jobStoreQuotaContract(factory: StoreFactory): void {
  describe('quotas', () => {
    let handle: StoreHandle | undefined;
    afterEach(() => handle?.cleanup());

    test('the 61st queued job of a user is BG_E_TOO_MANY_JOBS_PER_USER; admins exempt; final jobs do not count', () => {
      handle = factory({});
      const { store } = handle;
      for (let n = 1; n <= 60; n++) createJob(store, n, 'alice');
      const before = snapshot(store, [jobId(61)]);
      assertBitsError(() => createJob(store, 61, 'alice'), 'BG_E_TOO_MANY_JOBS_PER_USER', /60/);
      assert.deepEqual(snapshot(store, [jobId(61)]), before);
      createJob(store, 62, 'bob');
      createJob(store, 63, 'root', 'DOWNLOAD', true);
      store.applyTransition(jobId(1), { expected: 'SUSPENDED', event: 'cancel', now: 1 });
      store.applyTransition(jobId(2), { expected: 'SUSPENDED', event: 'complete', now: 1 });
      createJob(store, 64, 'alice');
      createJob(store, 65, 'alice');
      assertBitsError(() => createJob(store, 66, 'alice'), 'BG_E_TOO_MANY_JOBS_PER_USER');
    });

    test('the 301st queued job on the machine is BG_E_TOO_MANY_JOBS_PER_MACHINE; admins exempt', () => {
      handle = factory({});
      const { store } = handle;
      for (let n = 0; n < DEFAULT_QUOTAS.maxJobsPerMachine; n++) createJob(store, n + 1, `user${n % 5}`);
      assertBitsError(() => createJob(store, 301, 'user9'), 'BG_E_TOO_MANY_JOBS_PER_MACHINE', /300/);
      assert.equal(store.getJob(jobId(301)), undefined);
      createJob(store, 302, 'root', 'DOWNLOAD', true);
      store.applyTransition(jobId(1), { expected: 'SUSPENDED', event: 'cancel', now: 1 });
      // 300 queued again (the admin's job counts too), so the machine is still full…
      assertBitsError(() => createJob(store, 303, 'user9'), 'BG_E_TOO_MANY_JOBS_PER_MACHINE');
      store.applyTransition(jobId(2), { expected: 'SUSPENDED', event: 'cancel', now: 1 });
      createJob(store, 304, 'user9');
      assert.equal(store.listJobs().length, 300);
    });

    test('the 201st file of a job is BG_E_TOO_MANY_FILES_IN_JOB and adds none; admins exempt', () => {
      handle = factory({});
      const { store } = handle;
      createJob(store, 1);
      createJob(store, 2);
      store.addFiles(jobId(1), files(0, 150), caller());
      store.addFiles(jobId(1), files(150, 50), caller());
      const before = snapshot(store, [jobId(1), jobId(2)]);
      assertBitsError(() => store.addFiles(jobId(1), files(200, 1), caller()), 'BG_E_TOO_MANY_FILES_IN_JOB', /200/);
      assertBitsError(() => store.addFiles(jobId(2), files(0, 201), caller()), 'BG_E_TOO_MANY_FILES_IN_JOB');
      assert.deepEqual(snapshot(store, [jobId(1), jobId(2)]), before);
      const job = store.addFiles(jobId(1), files(200, 2), caller('root', 1, true));
      assert.equal(job.files.length, 202);
      assert.equal(job.files[201]?.index, 201);
    });

    test('the 501st range of a file is BG_E_TOO_MANY_RANGES_IN_FILE; admins exempt', () => {
      handle = factory({});
      const { store } = handle;
      createJob(store, 1);
      const before = snapshot(store, [jobId(1)]);
      assertBitsError(
        () => store.addFiles(jobId(1), [file(1), file(2, { ranges: ranges(501) })], caller()),
        'BG_E_TOO_MANY_RANGES_IN_FILE',
        /500/,
      );
      assert.deepEqual(snapshot(store, [jobId(1)]), before);
      store.addFiles(jobId(1), [file(1, { ranges: ranges(500) })], caller());
      store.addFiles(jobId(1), [file(2, { ranges: ranges(501) })], caller('root', 1, true));
      assert.deepEqual(
        store.getJob(jobId(1))?.files.map((f) => f.ranges?.length),
        [500, 501],
      );
    });

    test('quotas are configurable: by the constructor option and by setQuotas', () => {
      handle = factory({ quotas: { maxJobsPerUser: 2, maxJobsPerMachine: 3, maxFilesPerJob: 1, maxRangesPerFile: 1 } });
      const { store } = handle;
      createJob(store, 1, 'alice');
      createJob(store, 2, 'alice');
      assertBitsError(() => createJob(store, 3, 'alice'), 'BG_E_TOO_MANY_JOBS_PER_USER');
      createJob(store, 4, 'bob');
      assertBitsError(() => createJob(store, 5, 'carol'), 'BG_E_TOO_MANY_JOBS_PER_MACHINE');
      assertBitsError(() => store.addFiles(jobId(1), files(0, 2), caller()), 'BG_E_TOO_MANY_FILES_IN_JOB');
      assertBitsError(
        () => store.addFiles(jobId(1), [file(0, { ranges: ranges(2) })], caller()),
        'BG_E_TOO_MANY_RANGES_IN_FILE',
      );
      store.setQuotas(DEFAULT_QUOTAS);
      createJob(store, 5, 'carol');
      store.addFiles(jobId(1), files(0, 2), caller());
      assertBitsError(() => store.setQuotas({ ...DEFAULT_QUOTAS, maxFilesPerJob: -1 }), 'E_INVALIDARG');
    });
  });
}
