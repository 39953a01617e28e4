import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FileSessionStore } from '../../../src/upload-server/file-session-store.ts';
import { SessionFiles } from '../../../src/upload-server/session-files.ts';
import { sessionStoreContract } from './session-store.contract.ts';

sessionStoreContract('FileSessionStore', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bits-store-'));
  const files = new SessionFiles(path.join(dir, 'BITS-Sessions'));
  const store = new FileSessionStore(files);
  await store.open();
  return {
    store,
    files,
    async another() {
      // A restart on the same folder.
      const next = new FileSessionStore(files);
      await next.open();
      return next;
    },
    cleanup: () => fs.rm(dir, { recursive: true, force: true }),
  };
});
