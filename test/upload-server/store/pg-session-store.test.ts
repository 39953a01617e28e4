import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import pg from 'pg';
import { PgSessionStore } from '../../../src/upload-server/pg/pg-session-store.ts';
import { SessionFiles } from '../../../src/upload-server/session-files.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.ts';
import { sessionStoreContract } from './session-store.contract.ts';

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase('bits_store');
});
after(() => db.drop());

sessionStoreContract('PgSessionStore', async () => {
  // One database per file; a clean table per test.
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bits-pgstore-'));
  const files = new SessionFiles(path.join(dir, 'BITS-Sessions'));
  const open = async () => {
    const s = new PgSessionStore(files, { connectionString: db.url, poolSize: 5 });
    await s.open();
    return s;
  };
  const store = await open();
  const stores = [store];
  return {
    store,
    files,
    async another() {
      // A second instance of the farm, on the same database and shared folder.
      const s = await open();
      stores.push(s);
      return s;
    },
    async cleanup() {
      for (const s of stores) await s.close();
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      await c.query('TRUNCATE bits_upload_sessions');
      await c.end();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
});
