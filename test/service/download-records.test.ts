import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { systemClock } from '../../src/core/clock.ts';
import type { RunReports } from '../../src/service/download-runner.ts';
import { MemoryJobStore } from '../../src/store/index.ts';
import type { FileChange, FilePatch } from '../../src/store/job-store.ts';
import { derivedTempName } from '../../src/transfer/temp-file.ts';
import { runFileJob } from '../helpers/run-file-job.ts';

// What a run of small files writes to the store: a file's facts travel with its TRANSFERRED
// record (one commit per round of files), unless its temp file has a random name.

const JOB = '00000000-0000-4000-8000-00000000000a';
const made: string[] = [];
after(() => {
  for (const path of made) rmSync(path, { recursive: true, force: true });
});

async function run(count: number, prepare: (folder: string) => void = () => undefined) {
  const folder = mkdtempSync(join(tmpdir(), 'openbits-records-'));
  made.push(folder);
  const bodies = Array.from({ length: count }, () => randomBytes(64 * 1024));
  for (const [i, body] of bodies.entries()) writeFileSync(join(folder, `src${i}.bin`), body);
  prepare(folder);
  const store = new MemoryJobStore();
  const ctx = { owner: 'alice', isAdmin: true, now: systemClock.wallMs() };
  store.createJob({ ...ctx, id: JOB, type: 'DOWNLOAD', displayName: 'records' });
  const files = bodies.map((_, i) => ({
    remoteName: pathToFileURL(join(folder, `src${i}.bin`)).href,
    localName: join(folder, `out${i}.bin`),
  }));
  const job = store.addFiles(JOB, files, ctx);
  const log: Array<{ kind: 'file'; index: number; patch: FilePatch } | { kind: 'files'; changes: FileChange[] }> = [];
  const report: RunReports = {
    connected() {},
    file(index, patch) {
      log.push({ kind: 'file', index, patch });
    },
    files(changes) {
      log.push({ kind: 'files', changes: [...changes] });
    },
    checkpoint() {},
    sourceDropped() {},
    progress() {},
  };
  const outcome = await runFileJob(job, report);
  return { folder, bodies, log, outcome };
}

it('small files: no commit of their own for the temp name, size and validators; all of it comes with TRANSFERRED', async () => {
  const { folder, bodies, log, outcome } = await run(12);
  assert.deepEqual(outcome, { kind: 'done' });
  assert.deepEqual(
    log.filter((e) => e.kind === 'file'),
    [],
  );
  const changes = log.flatMap((e) => (e.kind === 'files' ? e.changes : []));
  assert.deepEqual(
    changes.map((c) => c.index),
    bodies.map((_, i) => i),
    'every file recorded once, in order',
  );
  assert.ok(log.length <= bodies.length);
  for (const { index, patch } of changes) {
    const temp = derivedTempName(join(folder, `out${index}.bin`), { jobId: JOB, fileIndex: index });
    assert.equal(patch.temporaryName, temp);
    assert.equal(patch.transferred, true);
    assert.equal(patch.bytesTotal, 64 * 1024);
    assert.equal(typeof patch.temporaryFileId, 'string');
    assert.ok(readFileSync(temp).equals(bodies[index] as Buffer));
  }
});

it('a temp file at a random name (its derived name taken by a symlink) is recorded before anything else of the file', async () => {
  const canary = join(tmpdir(), `openbits-records-canary-${process.pid}`);
  writeFileSync(canary, 'do not touch');
  made.push(canary);
  const { folder, log, outcome } = await run(2, (dir) =>
    symlinkSync(canary, derivedTempName(join(dir, 'out0.bin'), { jobId: JOB, fileIndex: 0 })),
  );
  assert.deepEqual(outcome, { kind: 'done' });
  const first = log[0];
  assert.equal(first?.kind, 'file');
  assert.equal(first.kind === 'file' && first.index, 0);
  const random = first.kind === 'file' ? first.patch.temporaryName : null;
  assert.match(random ?? '', /\.out0\.bin\.[0-9a-f]{16}\.bits-tmp$/u);
  assert.notEqual(random, derivedTempName(join(folder, 'out0.bin'), { jobId: JOB, fileIndex: 0 }));
  assert.equal(readFileSync(canary, 'utf8'), 'do not touch');
});
