// Fault table row 4 (ENOSPC on a data write): the server runs in its own mount namespace on a
// 1 MiB tmpfs (`unshare --user --map-root-user --mount`, no root needed where unprivileged user
// namespaces are allowed). A write that fills the disk answers 500 + ERROR_DISK_FULL with R,
// gives the space back, and the server keeps working once space is freed.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { assertBitsError, assertOk } from './helpers/assertions.ts';
import { createSession, fragment, packet, payload, uploadWhole } from './helpers/fixture.ts';
import { RawClient } from './helpers/raw-client.ts';
import { startServerProcess } from './helpers/server-process.ts';

test('a full disk → 500 + ERROR_DISK_FULL (0x80070070), partial bytes given back, server still serves', async () => {
  const base = await fs.mkdtemp(path.join(os.tmpdir(), 'bits-full-'));
  const root = path.join(base, 'root');
  await fs.mkdir(root);
  const quote = (a: string) => `'${a.replaceAll("'", "'\\''")}'`;
  const server = await startServerProcess(['--root', root], (argv) => [
    'unshare',
    '--user',
    '--map-root-user',
    '--mount',
    'sh',
    '-c',
    `mount -t tmpfs -o size=1m tmpfs ${quote(root)} && exec ${argv.map(quote).join(' ')}`,
  ]);
  try {
    const c = await RawClient.connect(server.port);
    const data = payload(2 * 1024 * 1024, 4);
    const size = 256 * 1024;
    const { id } = await createSession(c, '/huge.bin');
    let failed: Awaited<ReturnType<typeof fragment>> | undefined;
    let acked = 0;
    for (let off = 0; off < data.length; off += size) {
      const res = await fragment(c, '/huge.bin', id, off, data.subarray(off, off + size), data.length);
      if (res.status !== 200) {
        failed = res;
        break;
      }
      acked = off + size;
    }
    assert.ok(failed, 'the 1 MiB file system must fill up');
    assertBitsError(failed, 500, '0x80070070');
    assert.equal(failed.get('BITS-Received-Content-Range'), String(acked));
    assert.ok(acked > 0 && acked < data.length);
    // The failed fragment's partial bytes were truncated away: the space they took is free
    // again, so a small fragment from R fits on the same connection.
    const small = await fragment(c, '/huge.bin', id, acked, data.subarray(acked, acked + 4096), data.length);
    assertOk(small);
    assert.equal(small.get('BITS-Received-Content-Range'), String(acked + 4096));
    // Cancel frees the space; a small upload then goes through.
    assertOk(await packet(c, '/huge.bin', 'Cancel-Session', id));
    await uploadWhole(c, '/small.bin', payload(100_000, 5), 50_000);
    c.destroy();
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
    await fs.rm(base, { recursive: true, force: true });
  }
});

test('sessions on another file system: Close-Session copies across (EXDEV) and places the file atomically', async () => {
  const base = await fs.mkdtemp(path.join(os.tmpdir(), 'bits-xdev-'));
  const root = path.join(base, 'root');
  const sessions = path.join(base, 'sessions');
  await fs.mkdir(root);
  await fs.mkdir(sessions);
  const quote = (a: string) => `'${a.replaceAll("'", "'\\''")}'`;
  const server = await startServerProcess(['--root', root, '--sessions-dir', sessions], (argv) => [
    'unshare',
    '--user',
    '--map-root-user',
    '--mount',
    'sh',
    '-c',
    `mount -t tmpfs -o size=8m tmpfs ${quote(sessions)} && exec ${argv.map(quote).join(' ')}`,
  ]);
  try {
    const c = await RawClient.connect(server.port);
    const data = payload(3 * 1024 * 1024, 6);
    await uploadWhole(c, '/sub/across.bin', data, 1024 * 1024);
    // The root is on the real disk (visible outside the namespace); no temp file is left behind.
    assert.deepEqual(await fs.readFile(path.join(root, 'sub', 'across.bin')), data);
    assert.deepEqual(await fs.readdir(path.join(root, 'sub')), ['across.bin']);
    // Without overwrite, a second upload to the same name is refused at Create-Session.
    const again = await createSession(c, '/sub/across.bin');
    assertBitsError(again.res, 403, '0x80070005');
    c.destroy();
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
    await fs.rm(base, { recursive: true, force: true });
  }
});
