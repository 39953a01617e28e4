import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { systemClock } from '../../src/core/clock.ts';
import type { Job } from '../../src/core/index.ts';
import { type RunOutcome, type RunReports, runDownloadJob } from '../../src/service/download-runner.ts';
import { transferOptionsOf } from '../../src/service/transfer-options.ts';
import { MemoryJobStore } from '../../src/store/index.ts';

// The runner's side of "written, not synced" (docs/durability.md): an earlier run's record that
// is not kept is removed before the file's first write, and a run that cannot remove it does
// not write; records go forward in steps, and back (removed) after a restart or rollback.

const JOB = '00000000-0000-4000-8000-00000000000b';
const MiB = 1024 * 1024;
const made: string[] = [];
after(() => {
  for (const path of made) rmSync(path, { recursive: true, force: true });
});

function job(size: number): { job: Job; body: Buffer; out: string } {
  const folder = mkdtempSync(join(tmpdir(), 'openbits-written-runs-'));
  made.push(folder);
  const body = randomBytes(size);
  writeFileSync(join(folder, 'src.bin'), body);
  const store = new MemoryJobStore();
  const ctx = { owner: 'alice', isAdmin: true, now: systemClock.wallMs() };
  store.createJob({ ...ctx, id: JOB, type: 'DOWNLOAD', displayName: 'written' });
  const out = join(folder, 'out.bin');
  const added = store.addFiles(JOB, [{ remoteName: pathToFileURL(join(folder, 'src.bin')).href, localName: out }], ctx);
  return { job: added, body, out };
}

/** Every report, in order, as one word each (written with its argument). */
function logReports(log: string[], written: (bytes: number | null) => void = () => undefined): RunReports {
  return {
    connected: () => log.push('connected'),
    file: () => log.push('file'),
    files: () => log.push('files'),
    checkpoint: (_i, bytes) => log.push(`checkpoint ${bytes}`),
    sourceDropped: () => log.push('dropped'),
    progress: () => log.push('progress'),
    written: (_i, bytes) => {
      log.push(`written ${bytes}`);
      written(bytes);
    },
  };
}

function run(j: Job, report: RunReports, written: ReadonlyMap<number, number | null>): Promise<RunOutcome> {
  return runDownloadJob({
    job: j,
    options: transferOptionsOf(j, { checkpointBytes: 4 * MiB, checkpointMs: 60_000 }),
    clock: systemClock,
    signal: new AbortController().signal,
    limiter: null,
    report,
    written,
  });
}

for (const [what, earlier] of [
  ['another boot’s record', null],
  ['this boot’s record for a temp file that is gone', 6 * MiB],
] as const) {
  it(`${what} is removed before the file’s first byte is written`, async () => {
    const { job: j, body, out } = job(8 * MiB);
    const log: string[] = [];
    const outcome = await run(j, logReports(log), new Map([[0, earlier]]));
    assert.deepEqual(outcome, { kind: 'done' });
    assert.equal(log[0], 'written null', log.join(', '));
    // Nothing to keep (no temp file): the file was fetched afresh, and a run publishes nothing.
    assert.equal(log.filter((l) => l === 'written null').length, 1, log.join(', '));
    assert.equal(existsSync(out), false);
    assert.equal(body.length, 8 * MiB);
  });
}

it('a run that cannot remove an earlier record fails the file without writing a byte', async () => {
  const { job: j } = job(8 * MiB);
  const log: string[] = [];
  const outcome = await run(
    j,
    logReports(log, (bytes) => {
      if (bytes === null) throw new Error('disk full (the job database)');
    }),
    new Map([[0, null]]),
  );
  assert.equal(outcome.kind, 'failed');
  assert.deepEqual(log, ['written null'], 'no progress, checkpoint or record after it');
});

it('records go forward a quarter interval at a time while the file is named in a record, never to its size', async () => {
  const { job: j } = job(24 * MiB);
  const log: string[] = [];
  const outcome = await run(j, logReports(log), new Map());
  assert.deepEqual(outcome, { kind: 'done' });
  // 4 MiB checkpoints: a record each MiB (a quarter) of written bytes, each past the last
  // checkpoint recorded before it, in whole steps, never the whole file.
  let durable = 0;
  let records = 0;
  for (const line of log) {
    const [kind, value] = line.split(' ');
    if (kind === 'checkpoint') durable = Number(value);
    if (kind !== 'written') continue;
    const bytes = Number(value);
    records++;
    assert.ok(bytes > durable && bytes % MiB === 0 && bytes < 24 * MiB, `${line} after checkpoint ${durable}`);
  }
  assert.ok(records >= 3, log.join(', '));
  // A checkpoint's record removes the written one: when the writes had gone a step past it
  // during its sync, the written record is put back at once (else a kill -9 while the next sync
  // runs finds none: S5 lost a whole interval in 3 of 5 runs).
  let ahead = 0;
  for (const [i, line] of log.entries()) {
    const [kind, value] = line.split(' ');
    if (kind === 'written') ahead = Math.max(ahead, Number(value));
    if (kind !== 'checkpoint') continue;
    // The last checkpoint may come once every byte is written: the whole file is never recorded.
    const rest = log.slice(i + 1).filter((l) => l !== 'progress');
    if (rest[0] === 'files' || rest.length === 0) continue;
    if (ahead - Number(value) >= MiB)
      assert.match(log[i + 1] ?? '', /^written \d+$/u, `after ${line}: ${log.join(', ')}`);
  }
});
