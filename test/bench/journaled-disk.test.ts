import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { describeDisk } from '../../bench/lib/disk.ts';
import { mountJournaledDisk, unmountJournaledDisk } from '../../bench/lib/journaled-disk.ts';

test('the journaled disk S3 runs on: an ext4 with a journal, gone with its loop device after unmount', () => {
  const root = mkdtempSync(join(tmpdir(), 'openbits-journaled-'));
  const log: string[] = [];
  try {
    const disk = mountJournaledDisk(root, 64, (line) => log.push(line));
    assert.ok(disk !== null, log.join('\n'));
    assert.match(describeDisk(disk.mountPoint), /^ext4 on \/dev\/loop\d+, with a journal$/u);
    writeFileSync(join(disk.mountPoint, 'f'), 'x');
    assert.equal(readFileSync(join(disk.mountPoint, 'f'), 'utf8'), 'x');
    unmountJournaledDisk(root);
    assert.equal(existsSync(disk.mountPoint), false);
    assert.equal(existsSync(join(root, 'journaled.img')), false);
    const attached = spawnSync('losetup', ['-a'], { encoding: 'utf8' }).stdout;
    assert.equal(attached.includes(root), false, attached);
  } finally {
    unmountJournaledDisk(root);
    rmSync(root, { recursive: true, force: true });
  }
});
