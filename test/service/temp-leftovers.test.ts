import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, it, type TestContext } from 'node:test';
import { ManualNetworkSource } from '../../src/scheduler/network.ts';
import { createManager } from '../../src/service/manager.ts';
import { openSqliteJobStore } from '../../src/store/sqlite/index.ts';
import { derivedTempName } from '../../src/transfer/temp-file.ts';
import { FileServer } from '../helpers/file-server.ts';
import { tempDir } from '../helpers/manager-harness.ts';
import { TestClock } from '../helpers/test-clock.ts';

// A run records a temp file's name with the file's first record, so a process killed before it
// leaves temp files no record names, at the names derived from the job and the file. Cancel
// removes exactly those when they are our own regular files, and nothing else.

let server: FileServer;
before(async () => {
  server = await FileServer.start();
});
after(async () => {
  await server.close();
});

/** A manager on a SQLite store, and a folder for downloads; the test's end removes them all. */
async function managerWithStore(t: TestContext) {
  const home = tempDir();
  const dir = tempDir();
  t.after(() => {
    for (const path of [home, dir]) rmSync(path, { recursive: true, force: true });
  });
  const store = openSqliteJobStore(join(home, 'jobs.db'));
  t.after(() => store.close());
  const m = await createManager({ home, clock: new TestClock(), network: new ManualNetworkSource(true), store });
  return { m, store, dir };
}

it('Cancel removes unrecorded leftovers at derived temp names; a symlink or a foreign name there is left alone', async (t) => {
  const { m, store, dir } = await managerWithStore(t);
  server.add('/x.bin', 1000);
  const job = await m.createJob('leftovers');
  const dests = [0, 1, 2].map((i) => join(dir, `f${i}.bin`));
  for (const dest of dests) await m.addFile(job.id, server.url('/x.bin'), dest);
  const derived = dests.map((dest, fileIndex) => derivedTempName(dest, { jobId: job.id, fileIndex }));
  // f0: what a run killed mid-file leaves (no record names it).
  writeFileSync(derived[0] as string, 'partial bytes', { mode: 0o600 });
  // f1: someone else's symlink at the derived name: never followed, never removed.
  const canary = join(dir, 'canary');
  writeFileSync(canary, 'keep me');
  symlinkSync(canary, derived[1] as string);
  // f2: its record names an older temp file (a run found it replaced and started afresh at the
  // derived name, then was killed before recording that): both go.
  const older = join(dir, '.f2.bin.0123456789abcdef.bits-tmp');
  writeFileSync(older, 'older', { mode: 0o600 });
  writeFileSync(derived[2] as string, 'restarted', { mode: 0o600 });
  store.updateFile(job.id, 2, { temporaryName: older }, Date.now());
  // A temp-looking name of another job is not ours to delete.
  const foreign = derivedTempName(dests[2] as string, { jobId: 'another-job', fileIndex: 2 });
  writeFileSync(foreign, 'not ours', { mode: 0o600 });
  assert.equal(await m.cancel(job.id), 'S_OK');
  assert.equal(existsSync(derived[0] as string), false, 'the leftover is gone');
  assert.ok(lstatSync(derived[1] as string).isSymbolicLink(), 'the symlink stays');
  assert.equal(readlinkSync(derived[1] as string), canary);
  assert.equal(readFileSync(canary, 'utf8'), 'keep me');
  assert.equal(readFileSync(foreign, 'utf8'), 'not ours');
  assert.equal(existsSync(older), false, 'the recorded temp file is deleted');
  assert.equal(existsSync(derived[2] as string), false, 'and the unrecorded one at the derived name');
  await m.close();
});

it('Cancel answers BG_S_UNABLE_TO_DELETE_FILES when a leftover of ours cannot be removed', async (t) => {
  const { m, dir } = await managerWithStore(t);
  server.add('/y.bin', 1000);
  const job = await m.createJob('stuck leftover');
  const dest = join(dir, 'f0.bin');
  await m.addFile(job.id, server.url('/y.bin'), dest);
  const derived = derivedTempName(dest, { jobId: job.id, fileIndex: 0 });
  writeFileSync(derived, 'partial bytes', { mode: 0o600 });
  // An immutable folder: unlink fails with EPERM, even for root (ext4, tmpfs).
  execFileSync('chattr', ['+i', dir]);
  try {
    assert.equal(await m.cancel(job.id), 'BG_S_UNABLE_TO_DELETE_FILES');
    assert.equal(readFileSync(derived, 'utf8'), 'partial bytes');
  } finally {
    execFileSync('chattr', ['-i', dir]);
  }
  await m.close();
});

it('a derived temp name stays what earlier versions made: their leftovers are still recognised', () => {
  const name = derivedTempName('/dl/file.bin', { jobId: '0f8fad5b-d9cb-469f-a165-70867728950e', fileIndex: 3 });
  assert.equal(name, '/dl/.file.bin.c812e1edb64417d6-3.bits-tmp');
  // The forms that take the general path (a join, a cut to 200 bytes) give what they always gave.
  const owner = { jobId: '0f8fad5b-d9cb-469f-a165-70867728950e', fileIndex: 0 };
  const tag = '.c812e1edb64417d6-0.bits-tmp';
  assert.equal(derivedTempName('/file.bin', owner), `/.file.bin${tag}`);
  assert.equal(derivedTempName('/dl//sub//file.bin', owner), `/dl/sub/.file.bin${tag}`);
  assert.equal(derivedTempName(`/dl/${'é'.repeat(150)}`, owner), `/dl/.${'é'.repeat(100)}${tag}`);
  assert.equal(derivedTempName(`/dl/${'a'.repeat(66)}`, owner), `/dl/.${'a'.repeat(66)}${tag}`);
  assert.equal(derivedTempName(`/dl/${'a'.repeat(250)}`, owner), `/dl/.${'a'.repeat(200)}${tag}`);
  assert.equal(derivedTempName('/dl/x\ud800.bin', owner), `/dl/.x\ufffd.bin${tag}`);
});
