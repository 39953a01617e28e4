import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { spawnDaemon, stopDaemon } from '../daemon/helpers.ts';
import { FileServer, sha256 } from '../helpers/file-server.ts';
import { cliOk, createJob, MiB, scratchDir, sha256File, waitForState, writeRandomFile } from './helpers.ts';

// Fault table row 4 (reliability-security-performance.md §1.6) end to end: bitsd downloads onto
// a 16 MiB tmpfs (mounted by the test, which runs as root like the rest of the suite) that fills
// up. The job goes to ERROR with ERROR_DISK_FULL in LOCAL_FILE context, keeps no more than its
// checkpointed bytes, and a /resume once space is freed finishes it.

it('e2e: a full disk puts the job in ERROR (ERROR_DISK_FULL, LOCAL_FILE); /resume after freeing space finishes it', async () => {
  const home = await scratchDir('openbits-e2e-full-home-');
  const work = await scratchDir('openbits-e2e-full-');
  const small = join(work.path, 'small');
  await mkdir(small);
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', small], { encoding: 'utf8' });
  assert.equal(mounted.status, 0, `mount failed: ${mounted.stderr}`);
  const server = await FileServer.start();
  const daemon = await spawnDaemon(home.path);
  try {
    const body = server.add('/twelve.bin', 12 * MiB);
    const filler = join(small, 'filler.bin');
    await writeRandomFile(filler, 8 * MiB);
    const dest = join(small, 'twelve.bin');
    const job = await createJob(home.path, 'e2e-disk-full');
    await cliOk(home.path, ['/addfile', job, server.url('/twelve.bin'), dest]);
    await cliOk(home.path, ['/resume', job]);
    await waitForState(home.path, job, 'ERROR', { daemon });
    const error = await cliOk(home.path, ['/geterror', job]);
    assert.match(error, /ERROR CODE: +0x80070070/u, error);
    assert.match(error, /ERROR CONTEXT: +0x00000004 - The error occurred while the local file/u, error);
    const kept = Number(await cliOk(home.path, ['/rawreturn', '/getbytestransferred', job]));
    const temp = await cliOk(home.path, ['/rawreturn', '/gettemporaryname', job, '0']);
    const size = existsSync(temp) ? (await stat(temp)).size : 0;
    assert.ok(size <= kept, `the temp file (${size} bytes) holds no more than the checkpoint (${kept})`);

    await rm(filler);
    await cliOk(home.path, ['/resume', job]);
    await waitForState(home.path, job, 'TRANSFERRED', { daemon });
    await cliOk(home.path, ['/complete', job]);
    assert.equal(await sha256File(dest), sha256(body));
    assert.deepEqual(await readdir(small), ['twelve.bin']);
  } finally {
    await stopDaemon(daemon);
    await server.close();
    spawnSync('umount', [small]);
    await home.remove();
    await work.remove();
  }
});
