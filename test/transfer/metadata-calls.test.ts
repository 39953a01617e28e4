import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLASSIFICATION_MS, metadataCallsFor } from '../../src/transfer/metadata-calls.ts';
import { TestClock } from '../helpers/test-clock.ts';

test('metadata calls run on the event loop only for a folder on a local file system', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'openbits-meta-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // The test machines keep /tmp on ext4 or tmpfs.
  assert.equal((await metadataCallsFor(dir)).onLoop, true);
  assert.equal((await metadataCallsFor('/dev/shm')).onLoop, true, 'tmpfs');
  // procfs stands in for a file system that is not on the list (NFS, CIFS, FUSE): its calls stay on the pool.
  assert.equal((await metadataCallsFor('/proc/self')).onLoop, false);
  // A folder that cannot be looked at: the pool, where the calls fail with the real error.
  const missing = join(dir, 'missing');
  const calls = await metadataCallsFor(missing);
  assert.equal(calls.onLoop, false);
  await assert.rejects(calls.stat(missing), { code: 'ENOENT' });
});

test('both kinds of calls give the same answers', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'openbits-meta-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'f');
  writeFileSync(path, 'x');
  const onLoop = await metadataCallsFor(dir);
  const onPool = await metadataCallsFor('/proc/self');
  for (const calls of [onLoop, onPool]) {
    const fd = await calls.open(path, 0);
    const st = await calls.fstatId(fd);
    const viaPath = await calls.lstatId(path);
    assert.equal(st.ino, viaPath?.ino);
    assert.equal(st.size, 1n);
    await calls.fchmod(fd, 0o640);
    assert.equal((await calls.stat(path)).mode & 0o777, 0o640);
    await calls.close(fd);
    assert.equal(await calls.lstatId(join(dir, 'none')), undefined);
    assert.equal(await calls.lstatIfAny(join(dir, 'none')), undefined);
    assert.equal((await calls.lstatIfAny(path))?.size, 1);
    await assert.rejects(calls.lstatIfAny(join(path, 'below-a-file')), { code: 'ENOTDIR' });
    const doomed = join(dir, 'doomed');
    writeFileSync(doomed, '');
    await calls.unlink(doomed);
    assert.equal(await calls.lstatIfAny(doomed), undefined);
  }
});

test('a folder is classified again after a second: a file system mounted over it later is seen', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'openbits-meta-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // A symbolic link re-pointed from a local folder to procfs stands in for a later mount.
  const link = join(dir, 'link');
  symlinkSync(dir, link);
  const clock = new TestClock();
  assert.equal((await metadataCallsFor(link, clock)).onLoop, true);
  unlinkSync(link);
  symlinkSync('/proc/self', link);
  assert.equal((await metadataCallsFor(link, clock)).onLoop, true, 'kept for a moment: one statfs per batch');
  clock.advance(CLASSIFICATION_MS);
  assert.equal((await metadataCallsFor(link, clock)).onLoop, false);
});
