import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { type BitsUploadServer, startBitsUploadServer } from '../../src/upload-server/server.ts';
import { type DaemonProcess, spawnDaemon, stopDaemon } from '../daemon/helpers.ts';
import { startServerProcess } from '../upload-server/helpers/server-process.ts';
import {
  cli,
  cliOk,
  createJob,
  killDaemon,
  MiB,
  Relay,
  scratchDir,
  sha256File,
  waitForState,
  writeRandomFile,
} from './helpers.ts';

// Uploads through the real CLI and bitsd to OUR upload server (src/upload-server), in this process
// so that it can be stopped and started again on the same root and port.

const SIZE = 256 * MiB;
/** Relayed request bytes at which each interruption strikes (in order). */
const RESET_AT = 48 * MiB;
const RESTART_AT = 112 * MiB;
const KILL_AT = 176 * MiB;
/**
 * The servers' fragment limit: they advertise it and the client sends fragments up to it, so it
 * bounds what an interruption costs (the fragment in flight).
 */
const FRAGMENT_LIMIT = 16 * MiB;

it('e2e: a 256 MiB upload survives a connection reset, an upload-server restart and kill -9 of bitsd (sha256 on the server)', async (t) => {
  const home = await scratchDir('openbits-e2e-up-home-');
  const work = await scratchDir('openbits-e2e-up-');
  const root = join(work.path, 'root');
  await mkdir(root);
  const source = join(work.path, 'source.bin');
  const digest = await writeRandomFile(source, SIZE);

  let server: BitsUploadServer = await startBitsUploadServer({ root, maxFragmentSize: FRAGMENT_LIMIT });
  const port = server.port;
  const relay = new Relay(port);
  await relay.start();
  let daemon: DaemonProcess = await spawnDaemon(home.path);
  const events: string[] = [];
  let restarting: Promise<void> = Promise.resolve();
  relay.onUp = (total) => {
    if (events.length === 0 && total >= RESET_AT) {
      events.push(`reset at ${total}`);
      relay.resetAll();
    } else if (events.length === 1 && total >= RESTART_AT) {
      events.push(`server restart at ${total}`);
      restarting = (async () => {
        await server.close();
        server = await startBitsUploadServer({ root, maxFragmentSize: FRAGMENT_LIMIT }, { port });
      })();
    } else if (events.length === 2 && total >= KILL_AT) {
      events.push(`kill -9 at ${total}`);
      const dead = daemon;
      restarting = (async () => {
        await killDaemon(dead);
        daemon = await spawnDaemon(home.path);
      })();
    }
  };
  try {
    const job = await createJob(home.path, 'e2e-upload', '/upload');
    assert.equal(await cliOk(home.path, ['/rawreturn', '/gettype', job]), 'UPLOAD');
    await cliOk(home.path, ['/addfile', job, relay.url('/incoming/big.bin'), source]);
    // The reset and the restart are transient errors: retry after 5 s (the minimum), not 600.
    await cliOk(home.path, ['/setminretrydelay', job, '5']);
    const started = performance.now();
    await cliOk(home.path, ['/resume', job]);
    const deadline = Date.now() + 80_000;
    while (events.length < 3 && Date.now() < deadline) {
      // A kill makes the CLI fail until the new daemon listens; the events drive the test.
      await cli(home.path, ['/rawreturn', '/getstate', job]);
      await restarting;
    }
    await restarting;
    assert.equal(events.length, 3, `interruptions: ${events.join(', ')}`);
    await waitForState(home.path, job, 'TRANSFERRED', { daemon, timeoutMs: 60_000 });
    const seconds = (performance.now() - started) / 1000;

    const info = JSON.parse(await cliOk(home.path, ['--json', '/info', job])) as {
      errorCount: number;
      progress: { bytesTotal: number; bytesTransferred: number };
    };
    assert.deepEqual(info.progress, { bytesTotal: SIZE, bytesTransferred: SIZE, filesTotal: 1, filesTransferred: 1 });
    await cliOk(home.path, ['/complete', job]);
    const stored = join(root, 'incoming', 'big.bin');
    assert.equal(await sha256File(stored), digest);
    assert.equal(relay.resets, 1);

    // Each interruption costs at most the fragment in flight (≤ FRAGMENT_LIMIT) and what sat in the
    // socket buffers (a few MiB on loopback): never a restart from zero.
    const extra = relay.upBytes - SIZE;
    t.diagnostic(
      `${events.join(', ')}; relayed ${relay.upBytes} bytes (${(extra / MiB).toFixed(1)} MiB more than the file), ` +
        `error count ${info.errorCount}, ${seconds.toFixed(1)} s including two 5 s retry delays`,
    );
    assert.ok(extra <= 3 * (FRAGMENT_LIMIT + 8 * MiB), `${extra} bytes sent again`);
  } finally {
    await restarting.catch(() => undefined);
    await stopDaemon(daemon);
    await relay.close();
    await server.close();
    await home.remove();
    await work.remove();
  }
});

it('e2e: /cancel of an upload mid-way tells the server (Cancel-Session): its partial data is deleted', async () => {
  const home = await scratchDir('openbits-e2e-upcancel-home-');
  const work = await scratchDir('openbits-e2e-upcancel-');
  const root = join(work.path, 'root');
  await mkdir(root);
  const server = await startBitsUploadServer({ root });
  const daemon = await spawnDaemon(home.path);
  const requests = join(root, 'BITS-Sessions', 'Requests');
  const partials = async (): Promise<string[]> =>
    existsSync(requests)
      ? (await readdir(requests)).filter((id) => existsSync(join(requests, id, 'requestfile.bin')))
      : [];
  try {
    const source = join(work.path, 'slow.bin');
    await writeRandomFile(source, 64 * MiB);
    const job = await createJob(home.path, 'e2e-upload-cancel', '/upload');
    await cliOk(home.path, ['/addfile', job, `${server.url}/in/slow.bin`, source]);
    // 1 MiB/s: 64 s of upload, so the polls below see it mid-way however slow each CLI call is.
    await cliOk(home.path, ['/setmaxbandwidth', job, '1M']);
    await cliOk(home.path, ['/resume', job]);
    let sent = 0;
    for (let i = 0; i < 100 && sent === 0; i++) {
      sent = Number(await cliOk(home.path, ['/rawreturn', '/getbytestransferred', job]));
    }
    assert.ok(sent > 0 && sent < 64 * MiB, `mid-way: ${sent} bytes acknowledged`);
    assert.equal((await partials()).length, 1, 'the server holds one partial upload');

    await cliOk(home.path, ['/cancel', job]);
    const deadline = Date.now() + 30_000;
    while ((await partials()).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(await partials(), [], 'Cancel-Session deleted the partial data');
    assert.equal(existsSync(join(root, 'in', 'slow.bin')), false, 'nothing committed');
  } finally {
    await stopDaemon(daemon);
    await server.close();
    await home.remove();
    await work.remove();
  }
});

it('e2e: kill -9 of the upload server process (bits-upload-server) mid-upload; restarted on the same root and port, the job finishes', async () => {
  const home = await scratchDir('openbits-e2e-upkill-home-');
  const work = await scratchDir('openbits-e2e-upkill-');
  const root = join(work.path, 'root');
  await mkdir(root);
  const source = join(work.path, 'source.bin');
  const digest = await writeRandomFile(source, 96 * MiB);
  const limit = ['--max-fragment-size', String(FRAGMENT_LIMIT)];
  let server = await startServerProcess(['--root', root, ...limit]);
  const port = server.port;
  const relay = new Relay(port);
  await relay.start();
  const daemon = await spawnDaemon(home.path);
  let restarted: Promise<void> | undefined;
  relay.onUp = (total) => {
    if (restarted === undefined && total >= 40 * MiB) {
      const dead = server;
      dead.child.kill('SIGKILL');
      restarted = (async () => {
        assert.equal(await dead.exited, 'SIGKILL');
        server = await startServerProcess(['--root', root, ...limit, '--port', String(port)]);
      })();
    }
  };
  try {
    const job = await createJob(home.path, 'e2e-upload-server-kill', '/upload');
    await cliOk(home.path, ['/addfile', job, relay.url('/in/big.bin'), source]);
    await cliOk(home.path, ['/setminretrydelay', job, '5']);
    await cliOk(home.path, ['/resume', job]);
    for (let i = 0; i < 600 && restarted === undefined; i++) await new Promise((r) => setTimeout(r, 50));
    await restarted;
    assert.equal(server.port, port);
    await waitForState(home.path, job, 'TRANSFERRED', { daemon });
    await cliOk(home.path, ['/complete', job]);
    assert.equal(await sha256File(join(root, 'in', 'big.bin')), digest);
    assert.ok(relay.upBytes - 96 * MiB <= FRAGMENT_LIMIT + 8 * MiB, `${relay.upBytes} bytes relayed: resumed`);
  } finally {
    await restarted?.catch(() => undefined);
    await stopDaemon(daemon);
    await relay.close();
    server.child.kill('SIGTERM');
    await server.exited;
    await home.remove();
    await work.remove();
  }
});

it('e2e: the local file of an upload changes while bitsd is down (kill -9): after the restart the job is in ERROR, BG_E_LOCAL_FILE_CHANGED', async () => {
  const home = await scratchDir('openbits-e2e-upchanged-home-');
  const work = await scratchDir('openbits-e2e-upchanged-');
  const root = join(work.path, 'root');
  await mkdir(root);
  const server = await startBitsUploadServer({ root });
  let daemon = await spawnDaemon(home.path);
  try {
    const source = join(work.path, 'growing.log');
    await writeRandomFile(source, 32 * MiB);
    const job = await createJob(home.path, 'e2e-upload-changed', '/upload');
    await cliOk(home.path, ['/addfile', job, `${server.url}/in/growing.log`, source]);
    // 1 MiB/s: 32 s of upload, so the kill lands mid-way however slow each CLI poll is (at 4 MiB/s
    // a loaded machine could see it finished).
    await cliOk(home.path, ['/setmaxbandwidth', job, '1M']);
    await cliOk(home.path, ['/resume', job]);
    let sent = 0;
    for (let i = 0; i < 100 && sent === 0; i++) {
      sent = Number(await cliOk(home.path, ['/rawreturn', '/getbytestransferred', job]));
    }
    assert.ok(sent > 0 && sent < 32 * MiB, `mid-way: ${sent}`);
    await killDaemon(daemon);
    await appendFile(source, 'one more line\n');
    daemon = await spawnDaemon(home.path);
    await waitForState(home.path, job, 'ERROR', { daemon });
    const error = await cliOk(home.path, ['/geterror', job]);
    assert.match(error, /ERROR CODE: +0x8020001d - BG_E_LOCAL_FILE_CHANGED/u, error);
    assert.match(error, /ERROR CONTEXT: +0x00000004/u, error);
    await cliOk(home.path, ['/cancel', job]);
    assert.equal(existsSync(join(root, 'in', 'growing.log')), false);
  } finally {
    await stopDaemon(daemon);
    await server.close();
    await home.remove();
    await work.remove();
  }
});
