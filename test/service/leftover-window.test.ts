import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { systemClock } from '../../src/core/clock.ts';
import { MAX_PENDING } from '../../src/service/file-sync-rounds.ts';
import { discardFiles } from '../../src/service/finish-job.ts';
import { localIo, type OwnerIo } from '../../src/service/owner-io.ts';
import { MemoryJobStore } from '../../src/store/index.ts';
import { derivedTempName } from '../../src/transfer/temp-file.ts';

// A killed run can leave unrecorded temp files for MAX_PENDING files waiting for their sync round,
// one waiting to hand its sync over (the file before it still being checked) and one downloading:
// Cancel sweeps the derived names of exactly that many untransferred files, the first ones.
test('Cancel sweeps the derived names of the first MAX_PENDING + 2 files not yet transferred', async () => {
  const store = new MemoryJobStore();
  const ctx = { owner: 'alice', isAdmin: true, now: systemClock.wallMs() };
  const id = '00000000-0000-4000-8000-0000000000c1';
  store.createJob({ ...ctx, id, type: 'DOWNLOAD', displayName: 'window' });
  const files = Array.from({ length: 40 }, (_, i) => ({
    remoteName: `https://example.org/f${i}`,
    localName: join('/nonexistent-openbits-folder', `f${i}.bin`),
  }));
  store.addFiles(id, files, ctx);
  store.updateFiles(
    id,
    [0, 1].map((index) => ({ index, patch: { transferred: true, bytesTotal: 0, bytesTransferred: 0 } })),
    ctx.now,
  );
  const swept: string[] = [];
  const io: OwnerIo = {
    ...localIo(systemClock),
    removeLeftovers: async (_owner, paths) => {
      swept.push(...paths);
      return true;
    },
  };
  assert.equal(await discardFiles(store.getJob(id) as NonNullable<ReturnType<typeof store.getJob>>, io), 'S_OK');
  const expected = Array.from({ length: MAX_PENDING + 2 }, (_, i) => i + 2).map((fileIndex) =>
    derivedTempName(files[fileIndex]?.localName as string, { jobId: id, fileIndex }),
  );
  assert.deepEqual(swept, expected);
});
