// Runs one download job's files through runDownloadJob in its own process (for fault injection
// around it, e.g. strace) and prints what the run reported as one JSON line:
// argv = folder count. The sources are `<folder>/src<i>.bin`, the local names `<folder>/out<i>.bin`.

import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { systemClock } from '../../src/core/clock.ts';
import { MemoryJobStore } from '../../src/store/index.ts';
import { runFileJob } from './run-file-job.ts';

const [folder = '', count = '1'] = process.argv.slice(2);
/** The job's id (fdatasync-failure.test.ts derives the temp names from it). */
const JOB_ID = '00000000-0000-4000-8000-000000000001';
const store = new MemoryJobStore();
const ctx = { owner: 'alice', isAdmin: true, now: systemClock.wallMs() };
store.createJob({ ...ctx, id: JOB_ID, type: 'DOWNLOAD', displayName: 'child' });
const files = Array.from({ length: Number(count) }, (_, i) => ({
  remoteName: pathToFileURL(join(folder, `src${i}.bin`)).href,
  localName: join(folder, `out${i}.bin`),
}));
const job = store.addFiles(JOB_ID, files, ctx);
const transferred: number[] = [];
const temporaryNames: Record<number, string> = {};
const outcome = await runFileJob(job, {
  connected() {},
  file(index, patch) {
    if (patch.temporaryName != null) temporaryNames[index] = patch.temporaryName;
    if (patch.transferred === true) transferred.push(index);
  },
  files(changes) {
    for (const { index, patch } of changes) this.file(index, patch);
  },
  checkpoint() {},
  sourceDropped() {},
  progress() {},
});
process.stdout.write(`${JSON.stringify({ outcome, transferred, temporaryNames })}\n`);
