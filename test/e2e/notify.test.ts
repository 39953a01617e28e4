import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ManagerEvent } from '../../src/api/bits-manager.ts';
import { type BitsClient, connect } from '../../src/client/connect.ts';
import { type DaemonProcess, spawnDaemon, stopDaemon } from '../daemon/helpers.ts';
import { FileServer } from '../helpers/file-server.ts';
import { cli, cliOk, createJob, MiB, scratchDir, waitForState } from './helpers.ts';

// The notification paths of a job served by a real bitsd: the notify command line (run by the
// daemon as argv, without a shell) and the event stream over the daemon's socket.

/** The lines of `path` once `done(lines)` holds (the daemon runs the program in the background). */
async function waitForLines(path: string, done: (lines: string[]) => boolean, timeoutMs = 30_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let lines: string[] = [];
  while (Date.now() < deadline) {
    lines = existsSync(path) ? (await readFile(path, 'utf8')).split('\n').filter((l) => l !== '') : [];
    if (done(lines)) return lines;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`${path} never got there: ${JSON.stringify(lines)}`);
}

describe('e2e: notifications through bitsd', () => {
  let home: { path: string; remove(): Promise<void> };
  let work: { path: string; remove(): Promise<void> };
  let daemon: DaemonProcess;
  let server: FileServer;
  let client: BitsClient;
  const events: ManagerEvent[] = [];
  /** Appends `run <BITS_JOB_ID> <BITS_JOB_STATE>` and one `arg[…]` line per argument to "$1". */
  let recorder: string;
  /** Appends `run` to "$1" and fails (exit 1) on its first run only. */
  let failsOnce: string;

  before(async () => {
    home = await scratchDir('openbits-e2e-notify-home-');
    work = await scratchDir('openbits-e2e-notify-');
    daemon = await spawnDaemon(home.path);
    server = await FileServer.start();
    server.add('/ok.bin', MiB);
    recorder = join(work.path, 'recorder.sh');
    await writeFile(
      recorder,
      '#!/bin/sh\n{ echo "run $BITS_JOB_ID $BITS_JOB_STATE"; for a in "$@"; do echo "arg[$a]"; done; } >> "$1"\n',
    );
    failsOnce = join(work.path, 'fails-once.sh');
    await writeFile(failsOnce, '#!/bin/sh\necho run >> "$1"\n[ "$(wc -l < "$1")" -ge 2 ]\n');
    await chmod(recorder, 0o755);
    await chmod(failsOnce, 0o755);
    client = connect({ socketPath: daemon.socketPath, autoStart: false });
    const unsubscribe = client.subscribe((e) => events.push(e));
    await unsubscribe.ready;
  });

  after(async () => {
    await client.close();
    assert.equal(await stopDaemon(daemon), 0, daemon.stderr());
    await server.close();
    await home.remove();
    await work.remove();
  });

  it('TRANSFERRED runs /setnotifycmdline program with its parameters as argv, never through a shell', async () => {
    const job = await createJob(home.path, 'e2e-notify-ok');
    const id = job.slice(1, -1).toLowerCase();
    const out = join(work.path, 'ok.log');
    const canary = join(work.path, 'canary');
    await cliOk(home.path, ['/addfile', job, server.url('/ok.bin'), join(work.path, 'ok.bin')]);
    // A shell would expand $HOME and run `touch canary`; argv keeps them literal.
    const params = `${recorder} ${out} "two words" $HOME;touch ${canary}`;
    await cliOk(home.path, ['/setnotifycmdline', job, recorder, params]);
    assert.equal(await cliOk(home.path, ['/rawreturn', '/getnotifycmdline', job]), `'${recorder}' ${params}`);
    await cliOk(home.path, ['/resume', job]);
    await waitForState(home.path, job, 'TRANSFERRED', { daemon });

    const lines = await waitForLines(out, (l) => l.length >= 5);
    assert.deepEqual(lines, [
      `run ${id} TRANSFERRED`,
      `arg[${out}]`,
      'arg[two words]',
      'arg[$HOME;touch]',
      `arg[${canary}]`,
    ]);
    assert.equal(existsSync(canary), false, 'no shell ran');

    // The event stream saw the job from its creation: the file before the job, in order.
    const mine = events.filter((e) => e.jobId === id).map((e) => e.type);
    assert.equal(mine[0], 'job:created');
    const file = mine.indexOf('file:transferred');
    const transferred = mine.indexOf('job:transferred');
    assert.ok(file > 0 && transferred > file, mine.join(' '));
    assert.ok(
      events.some((e) => e.jobId === id && e.type === 'job:state' && e.state === 'TRANSFERRING'),
      'state changes are published',
    );
    await cliOk(home.path, ['/complete', job]);
  });

  it('ERROR runs the program with BITS_JOB_STATE=ERROR and publishes job:error', async () => {
    const job = await createJob(home.path, 'e2e-notify-error');
    const id = job.slice(1, -1).toLowerCase();
    const out = join(work.path, 'error.log');
    await cliOk(home.path, ['/addfile', job, server.url('/missing.bin'), join(work.path, 'missing.bin')]);
    await cliOk(home.path, ['/setnotifycmdline', job, recorder, out]);
    await cliOk(home.path, ['/resume', job]);
    await waitForState(home.path, job, 'ERROR', { daemon });
    assert.deepEqual(await waitForLines(out, (l) => l.length >= 2), [`run ${id} ERROR`, `arg[${out}]`]);
    const error = events.find((e) => e.jobId === id && e.type === 'job:error');
    assert.ok(error?.type === 'job:error' && error.error.hresult === 0x80190194, JSON.stringify(error));
    await cliOk(home.path, ['/cancel', job]);
  });

  it('/setnotifyflags: 2 (error only) runs nothing on TRANSFERRED; turning 1 on later runs it once', async () => {
    const job = await createJob(home.path, 'e2e-notify-flags');
    const out = join(work.path, 'flags.log');
    await cliOk(home.path, ['/addfile', job, server.url('/ok.bin'), join(work.path, 'flags.bin')]);
    await cliOk(home.path, ['/setnotifycmdline', job, recorder, out]);
    await cliOk(home.path, ['/setnotifyflags', job, '2']);
    await cliOk(home.path, ['/resume', job]);
    await waitForState(home.path, job, 'TRANSFERRED', { daemon });
    assert.equal(existsSync(out), false);
    // BITS delivers a notification registered after the event (bits-client.md §18.18).
    await cliOk(home.path, ['/setnotifyflags', job, '3']);
    const lines = await waitForLines(out, (l) => l.length >= 2);
    assert.equal(lines.filter((l) => l.startsWith('run ')).length, 1, lines.join('\n'));
    await cliOk(home.path, ['/complete', job]);
  });

  it('a program that exits non-zero runs again after the minimum retry delay while the job stays TRANSFERRED', async () => {
    const job = await createJob(home.path, 'e2e-notify-retry');
    const out = join(work.path, 'retry.log');
    await cliOk(home.path, ['/addfile', job, server.url('/ok.bin'), join(work.path, 'retry.bin')]);
    await cliOk(home.path, ['/setminretrydelay', job, '5']);
    await cliOk(home.path, ['/setnotifycmdline', job, failsOnce, out]);
    await cliOk(home.path, ['/resume', job]);
    await waitForState(home.path, job, 'TRANSFERRED', { daemon });
    assert.deepEqual(await waitForLines(out, (l) => l.length >= 2), ['run', 'run']);
    assert.equal(await cliOk(home.path, ['/rawreturn', '/getstate', job]), 'TRANSFERRED');
    const completed = await cli(home.path, ['/complete', job]);
    assert.equal(completed.code, 0);
  });

  it('the event stream survives a kill -9 of bitsd: after the restart new events arrive on the same subscription', async () => {
    const client2 = connect({ socketPath: daemon.socketPath, autoStart: false });
    const seen: ManagerEvent[] = [];
    const unsubscribe = client2.subscribe((e) => seen.push(e));
    await unsubscribe.ready;
    try {
      daemon.child.kill('SIGKILL');
      await daemon.exited;
      daemon = await spawnDaemon(home.path);
      // The feed reconnects with back-off (100 ms doubling to 5 s); create jobs until one is seen.
      const deadline = Date.now() + 60_000; // a guard: each round is a CLI call, slow when loaded
      let created: string[] = [];
      while (!seen.some((e) => e.type === 'job:created' && created.includes(e.jobId)) && Date.now() < deadline) {
        const job = await createJob(home.path, 'e2e-after-restart');
        created = [...created, job.slice(1, -1).toLowerCase()];
      }
      assert.ok(
        seen.some((e) => e.type === 'job:created' && created.includes(e.jobId)),
        `events after the restart: ${JSON.stringify(seen)}`,
      );
      for (const id of created) await cliOk(home.path, ['/cancel', id]);
    } finally {
      unsubscribe();
      await client2.close();
    }
  });
});
