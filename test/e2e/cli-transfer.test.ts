import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type BitsUploadServer, startBitsUploadServer } from '../../src/upload-server/server.ts';
import { type DaemonProcess, spawnDaemon, stopDaemon } from '../daemon/helpers.ts';
import { FileServer, sha256 } from '../helpers/file-server.ts';
import { startNginx } from '../helpers/nginx.ts';
import {
  cli,
  cliOk,
  killDaemon,
  MiB,
  scratchDir,
  sha256File,
  spawnCli,
  waitForState,
  writeRandomFile,
} from './helpers.ts';

// `bitsadmin /transfer` as a user runs it: a child process on a pipe, against a real bitsd.

describe('e2e: bitsadmin /transfer', () => {
  let home: { path: string; remove(): Promise<void> };
  let work: { path: string; remove(): Promise<void> };
  let daemon: DaemonProcess;
  let files: FileServer;
  let uploads: BitsUploadServer;

  before(async () => {
    home = await scratchDir('openbits-e2e-transfer-home-');
    work = await scratchDir('openbits-e2e-transfer-');
    await mkdir(join(work.path, 'root'));
    daemon = await spawnDaemon(home.path);
    files = await FileServer.start();
    uploads = await startBitsUploadServer({ root: join(work.path, 'root') });
  });

  after(async () => {
    assert.equal(await stopDaemon(daemon), 0, daemon.stderr());
    await files.close();
    await uploads.close();
    await home.remove();
    await work.remove();
  });

  it('Ctrl-C suspends the job (exit 130, its bytes kept); /resume finishes it with a Range request', async () => {
    // Held at 2 MiB: the Ctrl-C lands mid-transfer however late this process sees the progress.
    // At 512 KiB/s the hold comes after 4 s, past the first checkpoint (2 s of writing), so the
    // progress line shows bytes before the hold.
    const body = files.add('/slow.bin', 8 * MiB, {
      rateBps: 512 * 1024,
      hold: { at: 2 * MiB, release: new Promise(() => {}) },
    });
    const dest = join(work.path, 'slow.bin');
    const run = spawnCli(home.path, ['/transfer', 'e2e-interrupted', files.url('/slow.bin'), dest]);
    const deadline = Date.now() + 30_000;
    while (!/STATE: TRANSFERRING FILES: 0 \/ 1 BYTES: [1-9]/u.test(run.stdout()) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    run.child.kill('SIGINT');
    const r = await run.done;
    assert.equal(r.code, 130, r.stdout + r.stderr);
    const job = /^To resume it: bitsadmin \/resume (\{[0-9A-F-]{36}\})$/mu.exec(r.stderr)?.[1];
    assert.ok(job !== undefined, r.stderr);
    assert.equal(await cliOk(home.path, ['/rawreturn', '/getstate', job]), 'SUSPENDED');
    const kept = Number(await cliOk(home.path, ['/rawreturn', '/getbytestransferred', job]));
    assert.ok(kept > 0 && kept < body.length, `${kept} bytes kept`);

    files.add('/slow.bin', 0, { body }); // full speed from now on, same validators
    await cliOk(home.path, ['/resume', job]);
    await waitForState(home.path, job, 'TRANSFERRED', { daemon });
    await cliOk(home.path, ['/complete', job]);
    assert.equal(await sha256File(dest), sha256(body));
    const last = files.requests.filter((q) => q.path === '/slow.bin').at(-1);
    assert.match(last?.range ?? '', /^bytes=[1-9]\d*-$/u, 'resumed, not restarted');
  });

  it('/transfer /upload to our upload server: exit 0, the server holds the file with the right sha256', async (t) => {
    const source = join(work.path, 'up.bin');
    const digest = await writeRandomFile(source, 128 * MiB + 5);
    const started = performance.now();
    const r = await cli(home.path, ['/transfer', 'e2e-up', '/upload', `${uploads.url}/in/up.bin`, source]);
    const seconds = (performance.now() - started) / 1000;
    t.diagnostic(
      `128 MiB uploaded through bitsd in ${seconds.toFixed(1)} s (${(128 / seconds).toFixed(0)} MiB/s, CLI start included)`,
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^DISPLAY: 'e2e-up' TYPE: UPLOAD PRIORITY: NORMAL JOB: \{[0-9A-F-]{36}\}$/mu);
    assert.match(r.stdout, /\nTransfer complete\.\n$/u);
    assert.equal(await sha256File(join(work.path, 'root', 'in', 'up.bin')), digest);
  });

  it('/transfer of 256 MiB from nginx (an independent HTTP server): exit 0, the right sha256', async (t) => {
    const nginx = await startNginx();
    try {
      // The bytes live on tmpfs; nginx's root (on disk) links to them.
      const source = join(work.path, 'big-source.bin');
      const digest = await writeRandomFile(source, 256 * MiB);
      await symlink(source, join(nginx.root, 'big.bin'));
      const dest = join(work.path, 'big.bin');
      const started = performance.now();
      const r = await cli(home.path, ['/transfer', 'e2e-nginx', nginx.url('/big.bin'), dest]);
      const seconds = (performance.now() - started) / 1000;
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(
        r.stdout,
        /STATE: TRANSFERRED FILES: 1 \/ 1 BYTES: 268435456 \/ 268435456 \(100%\)\nTransferred 256 MiB \(1 file\) in \d+:\d\d at [\d.]+ [KMG]iB\/s\.\nTransfer complete\.\n$/u,
      );
      assert.equal(await sha256File(dest), digest);
      t.diagnostic(
        `256 MiB from nginx through bitsd in ${seconds.toFixed(1)} s (${(256 / seconds).toFixed(0)} MiB/s, CLI start included)`,
      );
    } finally {
      await nginx.stop();
    }
  });

  it('a /transfer that ends in ERROR prints the error, cancels the job and exits 1', async () => {
    const dest = join(work.path, 'never.bin');
    const r = await cli(home.path, ['/transfer', 'e2e-404', files.url('/nothing-here.bin'), dest]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /0x80190194/u);
    assert.equal(existsSync(dest), false);
    const list = await cliOk(home.path, ['/rawreturn', '/list']);
    assert.ok(!list.includes('e2e-404'), `the job was cancelled:\n${list}`);
  });

  it('bitsd dies under a running /transfer: exit 1 with RPC_S_SERVER_UNAVAILABLE; the job stays queued and finishes after a restart', async () => {
    // Held at 1 MiB until the kill: bitsd surely dies under the running /transfer.
    const killed = Promise.withResolvers<void>();
    const body = files.add('/dying.bin', 6 * MiB, { rateBps: MiB, hold: { at: MiB, release: killed.promise } });
    const dest = join(work.path, 'dying.bin');
    const run = spawnCli(home.path, ['/transfer', 'e2e-orphan', files.url('/dying.bin'), dest]);
    const deadline = Date.now() + 30_000;
    while (!/STATE: TRANSFERRING/u.test(run.stdout()) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    await killDaemon(daemon);
    killed.resolve();
    const r = await run.done;
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /^ERROR: RPC_S_SERVER_UNAVAILABLE \(0x800706ba\)/mu);
    const job = /JOB: (\{[0-9A-F-]{36}\})/u.exec(r.stdout)?.[1] ?? '';

    // As in BITS, the job outlives the synchronous caller: the restarted service finishes it.
    daemon = await spawnDaemon(home.path);
    await waitForState(home.path, job, 'TRANSFERRED', { daemon });
    await cliOk(home.path, ['/complete', job]);
    assert.equal(await sha256File(dest), sha256(body));
  });
});
