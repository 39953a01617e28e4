import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { describeDisk } from '../../bench/lib/disk.ts';
import { mountJournaledDisk, unmountJournaledDisk } from '../../bench/lib/journaled-disk.ts';

const loopsOf = (root: string) => spawnSync('losetup', ['-a'], { encoding: 'utf8' }).stdout.includes(root);

/** A journaled disk of 64 MiB under a fresh folder; the test's body, then everything removed. */
async function withDisk(body: (root: string, mountPoint: string) => Promise<void>): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'openbits-journaled-'));
  const log: string[] = [];
  try {
    const disk = mountJournaledDisk(root, 64, (line) => log.push(line));
    assert.ok(disk !== null, log.join('\n'));
    await body(root, disk.mountPoint);
  } finally {
    unmountJournaledDisk(root);
    rmSync(root, { recursive: true, force: true });
  }
}

test('the journaled disk S3 runs on: an ext4 with a journal, gone with its loop device after unmount', async () => {
  await withDisk(async (root, mountPoint) => {
    assert.match(describeDisk(mountPoint), /^ext4 on \/dev\/loop\d+, with a journal$/u);
    writeFileSync(join(mountPoint, 'f'), 'x');
    assert.equal(readFileSync(join(mountPoint, 'f'), 'utf8'), 'x');
    assert.equal(unmountJournaledDisk(root), true);
    assert.equal(existsSync(mountPoint), false);
    assert.equal(existsSync(join(root, 'journaled.img')), false);
    assert.equal(loopsOf(root), false);
  });
});

test('a busy journaled disk is detached lazily: nothing in it deleted, its loop device freed when the last user exits', async () => {
  await withDisk(async (root, mountPoint) => {
    writeFileSync(join(mountPoint, 'kept'), 'still here');
    // A process of a failed run still inside the mount, its file open.
    const holder = spawn('sh', ['-c', 'exec 3<kept; read -r line <&3; echo "$line"; exec sleep 600'], {
      cwd: mountPoint,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      const [first] = (await once(holder.stdout, 'data')) as [Buffer];
      assert.equal(first.toString().trim(), 'still here');
      assert.equal(unmountJournaledDisk(root), true);
      assert.equal(existsSync(mountPoint), false);
      // The holder still reads its file: nothing inside the mount was deleted.
      const ls = spawnSync('cat', [`/proc/${holder.pid}/cwd/kept`], { encoding: 'utf8' });
      assert.equal(ls.stdout, 'still here');
    } finally {
      holder.kill('SIGKILL');
      await once(holder, 'exit');
    }
    const deadline = Date.now() + 30_000;
    while (loopsOf(root)) {
      assert.ok(Date.now() < deadline, 'the loop device was not freed after its last user exited');
      await delay(50);
    }
  });
});
