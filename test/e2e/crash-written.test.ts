import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { it } from 'node:test';
import { readBootId } from '../../src/service/boot-id.ts';
import { type DaemonProcess, spawnDaemon, stopDaemon } from '../daemon/helpers.ts';
import { FileServer } from '../helpers/file-server.ts';
import { until } from '../helpers/until.ts';
import {
  cliOk,
  createJob,
  findDatabase,
  killDaemon,
  MiB,
  scratchDir,
  sha256,
  sha256File,
  waitForState,
} from './helpers.ts';

// Bytes written past the last checkpoint are recorded (not synced) with the kernel's boot id:
// after a kill -9 in the same boot the page cache still holds them, and the restart keeps them;
// after a power loss (another boot id) it resumes from the checkpoint, whatever the disk holds
// past it (docs/durability.md, "Written, not synced").

const SIZE = 96 * MiB;
const CHECKPOINT = 16 * MiB;
/** The server stops here until the kill: no checkpoint (48 MiB) can come between the wait and the kill. */
const HOLD_AT = 44 * MiB;
/** Kill once a written-not-synced record this far in exists: past two checkpoints. */
const WRITTEN_AT = 40 * MiB;

interface FileRow {
  readonly durable: number;
  readonly written: number | null;
  readonly boot: string | null;
  readonly temp: string | null;
}

function fileRow(db: string): FileRow {
  const conn = new DatabaseSync(db, { readOnly: true });
  try {
    const row = conn
      .prepare(
        `SELECT f.bytes_transferred, w.bytes AS written_bytes, w.boot AS written_boot, f.temporary_name
         FROM files f LEFT JOIN file_written w ON w.job_id = f.job_id AND w.idx = f.idx WHERE f.idx = 0`,
      )
      .get() as Record<string, number | string | null> | undefined;
    return {
      durable: Number(row?.bytes_transferred ?? 0),
      written: (row?.written_bytes as number | null | undefined) ?? null,
      boot: (row?.written_boot as string | null | undefined) ?? null,
      temp: (row?.temporary_name as string | null | undefined) ?? null,
    };
  } finally {
    conn.close();
  }
}

const firstByte = (range: string | undefined): number => Number(/^bytes=(\d+)-$/u.exec(range ?? '')?.[1] ?? Number.NaN);

/**
 * Start a dripped download, kill -9 bitsd once a written record is WRITTEN_AT in, and hand the
 * record at the kill to `restart`, which starts the next bitsd; then check the file and return
 * where the second request resumed.
 */
async function killAndRestart(
  name: string,
  restart: (home: string, atKill: FileRow) => Promise<DaemonProcess>,
): Promise<{ atKill: FileRow; resumedAt: number }> {
  const home = await scratchDir(`openbits-e2e-${name}-home-`);
  const out = await scratchDir(`openbits-e2e-${name}-out-`);
  const files = await FileServer.start();
  const killed = Promise.withResolvers<void>();
  // ~24 MiB/s, and nothing past HOLD_AT until the kill: it lands mid-file however slow this machine is.
  const body = files.add('/w.bin', SIZE, { rateBps: 24 * MiB, hold: { at: HOLD_AT, release: killed.promise } });
  const requests = () => files.requests.filter((r) => r.path === '/w.bin');
  let daemon = await spawnDaemon(home.path);
  try {
    await cliOk(home.path, ['/util', '/setpolicy', 'checkpointBytes', String(CHECKPOINT)]);
    await cliOk(home.path, ['/util', '/setpolicy', 'checkpointMilliseconds', '600000']);
    const dest = join(out.path, 'w.bin');
    const job = await createJob(home.path, `e2e-${name}`);
    await cliOk(home.path, ['/addfile', job, files.url('/w.bin'), dest]);
    const db = await findDatabase(home.path);
    await cliOk(home.path, ['/resume', job]);
    await until(() => (fileRow(db).written ?? 0) >= WRITTEN_AT, 'a written-not-synced record 40 MiB in', 120_000);
    await killDaemon(daemon);
    killed.resolve();
    const atKill = fileRow(db);
    assert.equal(requests().length, 1);
    daemon = await restart(home.path, atKill);
    await waitForState(home.path, job, 'TRANSFERRED', { daemon, timeoutMs: 120_000 });
    await cliOk(home.path, ['/complete', job]);
    assert.equal(await sha256File(dest), sha256(body), 'the published file is the server’s');
    assert.equal(requests().length, 2, 'one request before the kill, one after');
    return { atKill, resumedAt: firstByte(requests()[1]?.range) };
  } finally {
    killed.resolve();
    await stopDaemon(daemon);
    await files.close();
    await home.remove();
    await out.remove();
  }
}

it('e2e: kill -9 in the same boot: the restart keeps the bytes written past the checkpoint', async (t) => {
  const { atKill, resumedAt } = await killAndRestart('written', (home) => spawnDaemon(home));
  t.diagnostic(`checkpoint ${atKill.durable}, written ${atKill.written}, resumed at ${resumedAt}`);
  assert.ok(atKill.durable >= CHECKPOINT, `a checkpoint was recorded (${atKill.durable})`);
  assert.ok((atKill.written ?? 0) > atKill.durable, 'the record went past the checkpoint');
  assert.equal(atKill.boot, readBootId(), 'recorded with this boot’s id');
  // Kept, fdatasynced and recorded: the server is asked only for what follows.
  assert.equal(resumedAt, atKill.written);
});

it('e2e: kill -9, then a "power loss" (another boot id, garbage past the checkpoint): the restart resumes from the checkpoint', async (t) => {
  const { atKill, resumedAt } = await killAndRestart('powerloss', async (home, row) => {
    // What a power cut may leave past the last sync: not the bytes that were written.
    assert.ok(row.temp !== null, 'the temp file is recorded');
    const size = statSync(row.temp).size;
    assert.ok(size > row.durable, 'bytes past the checkpoint are in the file');
    const fd = openSync(row.temp, 'r+');
    try {
      writeSync(fd, randomBytes(size - row.durable), 0, size - row.durable, row.durable);
    } finally {
      closeSync(fd);
    }
    // Another boot: the daemon reads another id from /proc (a bind mount in its own mount namespace).
    const fake = join(home, 'boot_id');
    writeFileSync(fake, '00000000-1111-4222-8333-444444444444\n');
    const wrap = [
      'unshare',
      '-m',
      'sh',
      '-c',
      `mount --bind "${fake}" /proc/sys/kernel/random/boot_id && exec "$0" "$@"`,
    ];
    return await spawnDaemon(home, {}, [], wrap);
  });
  t.diagnostic(`checkpoint ${atKill.durable}, written ${atKill.written}, resumed at ${resumedAt}`);
  assert.ok((atKill.written ?? 0) > atKill.durable, 'the record went past the checkpoint');
  assert.equal(resumedAt, atKill.durable, 'resumed from the synced offset, not the written one');
});
