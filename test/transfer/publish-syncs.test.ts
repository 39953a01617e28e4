import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

// Complete of a file the download made ready (its published mode and time set before the fsync
// its TRANSFERRED record waited for) renames it and fsyncs only the folder; a file whose mode to
// publish with changed since gets the full path: chmod and fsync of its own. Seen in strace's log.

const child = new URL('../helpers/publish-child.ts', import.meta.url).pathname;

/** The fsync/fdatasync calls made after the child's "publishing" line, by the path of their descriptor. */
function publishSyncs(readyMode: number, mode: number): { synced: string[]; folder: string; outcomes: unknown } {
  const folder = mkdtempSync(join(tmpdir(), 'openbits-publish-'));
  const log = join(folder, '..', `${folder.split('/').at(-1)}.strace`);
  try {
    const r = spawnSync(
      'strace',
      [
        '-f',
        '-qq',
        '-y',
        '-o',
        log,
        '-e',
        'trace=fsync,fdatasync,write',
        process.execPath,
        child,
        folder,
        '8',
        String(readyMode),
        String(mode),
      ],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    const lines = readFileSync(log, 'utf8').split('\n');
    const from = lines.findIndex((l) => l.includes('"publishing\\n"'));
    assert.ok(from >= 0, 'the marker is in the log');
    const synced = lines
      .slice(from)
      .map((l) => /\b(?:fsync|fdatasync)\(\d+<([^>]*)>\)\s+=\s+0/u.exec(l)?.[1])
      .filter((p): p is string => p !== undefined);
    for (let i = 0; i < 8; i++) {
      const st = statSync(join(folder, `f${i}`));
      assert.equal(st.mode & 0o777, mode, `f${i}'s mode`);
      assert.equal(st.mtimeMs, Date.parse('Wed, 01 Jan 2025 00:00:00 GMT'), `f${i}'s mtime`);
    }
    return { synced, folder, outcomes: JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}').outcomes };
  } finally {
    rmSync(folder, { recursive: true, force: true });
    rmSync(log, { force: true });
  }
}

test('files made ready by the download: Complete renames them and fsyncs the folder once', () => {
  const { synced, folder, outcomes } = publishSyncs(0o644, 0o644);
  assert.deepEqual(outcomes, Array(8).fill(null));
  assert.deepEqual(synced, [folder]);
});

test('a mode to publish with that changed since: each file is chmodded and fsynced, then the folder', () => {
  const { synced, folder, outcomes } = publishSyncs(0o644, 0o600);
  assert.deepEqual(outcomes, Array(8).fill(null));
  assert.equal(synced.filter((p) => p === folder).length, 1);
  assert.equal(synced.filter((p) => p.includes('.bits-tmp')).length, 8, synced.join('\n'));
});
