import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteJobStore } from '../../src/store/index.ts';
import { jobStoreContract } from './job-store.contract.ts';

jobStoreContract('SqliteJobStore', (options) => {
  const dir = mkdtempSync(join(tmpdir(), 'openbits-store-'));
  const store = openSqliteJobStore(join(dir, 'jobs.db'), options);
  return {
    store,
    cleanup: () => {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
