import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { downloadFile } from '../../src/transfer/index.ts';
import { derivedTempName } from '../../src/transfer/temp-file.ts';
import { RecordedFile, sha256 } from '../helpers/download-request.ts';

// fsyncgate (reliability-security-performance.md §1.2): an fdatasync error loses the bytes since
// the last good checkpoint, so the temp file goes back to it. EIO injected with strace.

const MiB = 1024 * 1024;
const BODY = randomBytes(8 * MiB);
let dir: string;

function strace(): string {
  if (!existsSync('/usr/bin/strace')) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env });
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'strace'], { stdio: 'ignore', env });
  }
  return '/usr/bin/strace';
}

/**
 * Run a child script under strace with every fdatasync and fsync after a thread's first failing
 * with EIO (strace counts per thread: libuv's pool); its last stdout line, parsed. A job's files
 * end with an fsync (their published mode and time ride on it), a checkpoint with an fdatasync.
 */
function withFailingSyncs(child: string, args: readonly string[]) {
  const syncs = 'fdatasync,fsync';
  const inject = ['-f', '-qq', '-o', '/dev/null', '-e', `trace=${syncs}`, '-e', `inject=${syncs}:error=EIO:when=2+`];
  const r = spawnSync(strace(), [...inject, process.execPath, child, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}');
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'openbits-fsync-'));
  await writeFile(join(dir, 'source.bin'), BODY);
});
after(() => rm(dir, { recursive: true, force: true }));

test('EIO from fdatasync (second call per thread on): LOCAL_FILE failure, temp file back at the last good checkpoint', async () => {
  const child = new URL('../helpers/download-child.ts', import.meta.url).pathname;
  const src = pathToFileURL(join(dir, 'source.bin')).href;
  const local = join(dir, 'out.bin');
  const out = withFailingSyncs(child, [src, local, String(MiB)]);
  assert.equal(out.failure.kind, 'transient');
  assert.equal(out.failure.error.name, 'E_FAIL');
  assert.equal(out.failure.error.context, 'LOCAL_FILE');
  assert.match(out.failure.error.message, /EIO/u);
  // strace counts calls per thread (libuv's pool), so which checkpoint fails varies; the rule
  // does not: only fdatasync'ed offsets are reported, and the file goes back to the last one.
  const last: number = out.checkpoints.at(-1) ?? 0;
  assert.ok(last < BODY.length, `the failed fdatasync was not reported (last ${last})`);
  assert.deepEqual(
    out.checkpoints,
    [...out.checkpoints].sort((a: number, b: number) => a - b),
  );
  assert.equal((await stat(out.temporaryName)).size, last, 'truncated to the last good checkpoint');
  // The manager's record lets the next attempt resume from there.
  const f = new RecordedFile(src, local);
  Object.assign(f, {
    bytesTransferred: last,
    bytesTotal: out.bytesTotal,
    validators: out.validators,
    temporaryName: out.temporaryName,
    temporaryFileId: out.temporaryFileId,
  });
  await downloadFile(f.request());
  assert.equal(f.restarts, 0);
  assert.equal(await f.tempSha256(), sha256(BODY));
});

/** download-job-child.ts's job. */
const JOB_ID = '00000000-0000-4000-8000-000000000001';

test('a job of many files: a file whose background sync fails is never reported transferred, and fails the job', async () => {
  const child = new URL('../helpers/download-job-child.ts', import.meta.url).pathname;
  const folder = await mkdtemp(join(dir, 'job-'));
  const COUNT = 24;
  const bodies = Array.from({ length: COUNT }, () => randomBytes(64 * 1024));
  for (const [i, body] of bodies.entries()) await writeFile(join(folder, `src${i}.bin`), body);
  const out = withFailingSyncs(child, [folder, String(COUNT)]);
  // Which sync fails depends on the pool thread it ran on (strace counts per thread); the rule
  // does not: the job fails on the lowest file whose sync failed, and that file is not transferred.
  assert.equal(out.outcome.kind, 'failed', JSON.stringify(out));
  assert.equal(out.outcome.failure.error.context, 'LOCAL_FILE');
  assert.match(out.outcome.failure.error.message, /EIO/u);
  const failed: number = out.outcome.fileIndex;
  assert.ok(!out.transferred.includes(failed), `file ${failed} failed its sync but was reported transferred`);
  for (let i = 0; i < failed; i++)
    assert.ok(out.transferred.includes(i), `file ${i} before the failure was transferred`);
  for (const i of out.transferred as number[]) {
    assert.equal(sha256(await readFile(out.temporaryNames[i])), sha256(bodies[i] as Buffer), `file ${i}'s bytes`);
  }
  // Its name was never recorded (a transferred file's name comes with its TRANSFERRED record):
  // it is at the name derived from the job and the file, where a later run or Cancel finds it.
  const temp = derivedTempName(join(folder, `out${failed}.bin`), { jobId: JOB_ID, fileIndex: failed });
  assert.equal((await stat(temp)).size, 0, 'the failed file went back to its last checkpoint');
  assert.equal((await stat(temp)).mode & 0o777, 0o600, 'and to 0600, as a file that fills');
});
