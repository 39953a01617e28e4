import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { currentUmask } from '../../src/transfer/commit-file.ts';
import { tempDir } from '../api/helpers.ts';
import { FileServer, sha256 } from '../helpers/file-server.ts';

const OPENBITS = fileURLToPath(new URL('../../bin/openbits.js', import.meta.url));

// `openbits daemon start|status|logs|stop` against the real bitsd they start and stop.
it('openbits daemon: status says nobody answers, start starts bitsd, logs reads its log, stop stops it', async () => {
  const home = await tempDir('openbits-daemon-verb-');
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [OPENBITS, 'daemon', ...args], {
      env: { ...process.env, OPENBITS_HOME: home.path, OPENBITS_NO_AUTOSTART: undefined },
      encoding: 'utf8',
      timeout: 120_000,
    });
  try {
    const before = run('status');
    assert.equal(before.status, 3);
    assert.match(before.stdout, /^bitsd is not running \(socket .*bitsd\.sock\); it starts on demand\n$/u);
    const start = run('start');
    assert.equal(start.status, 0, start.stderr);
    const pid = Number(/pid (\d+)/u.exec(start.stdout)?.[1]);
    assert.ok(pid > 0, start.stdout);
    const status = run('status');
    assert.match(
      status.stdout,
      new RegExp(`^bitsd \\d+\\.\\d+\\.\\d+ is running: pid ${pid}, up \\d+ s, socket `, 'u'),
    );
    const logs = run('logs', '-n', '5');
    assert.match(logs.stdout, /^\d\d:\d\d:\d\d INFO {2}bitsd is listening /mu, 'readable lines, not NDJSON');
    const stop = run('stop');
    assert.equal(stop.status, 0, stop.stderr);
    assert.equal(stop.stdout, `bitsd (pid ${pid}) stopped\n`);
    assert.throws(() => process.kill(pid, 0), 'the daemon is gone');
    assert.equal(run('stop').stdout, 'bitsd is not running\n');
    const bad = run('reboot');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /unknown daemon action: reboot/u);
  } finally {
    spawnSync(process.execPath, [OPENBITS, 'daemon', 'stop'], { env: { ...process.env, OPENBITS_HOME: home.path } });
    await home.remove();
  }
});

// Issue 13: `openbits get --detach` leaves a job that finishes (and is published) after the
// command, and its terminal, are gone.
it('openbits get --detach returns at once; bitsd completes the job itself and the file appears', async () => {
  const home = await tempDir('openbits-detach-');
  const server = await FileServer.start();
  const env = { ...process.env, OPENBITS_HOME: home.path, OPENBITS_NO_AUTOSTART: undefined };
  try {
    const data = server.add('/later.bin', 3_000_000, { rateBps: 3_000_000 });
    const r = spawnSync(process.execPath, [OPENBITS, 'get', '--detach', server.url('/later.bin')], {
      cwd: home.path,
      env,
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /later\.bin: downloading in the background/u);
    const file = join(home.path, 'later.bin');
    const deadline = Date.now() + 60_000;
    while (!existsSync(file) && Date.now() < deadline) {
      // The daemon publishes it on its own: nothing to await but the file.
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(sha256(readFileSync(file)), sha256(data));
    assert.equal(statSync(file).mode & 0o777, 0o666 & ~currentUmask());
    // Complete publishes the file first and then records the job's end: the job leaves the
    // queue a moment after the file appears.
    let listed = spawnSync(process.execPath, [OPENBITS, 'ls'], { env, encoding: 'utf8' }).stdout;
    while (listed !== '' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      listed = spawnSync(process.execPath, [OPENBITS, 'ls'], { env, encoding: 'utf8' }).stdout;
    }
    assert.equal(listed, '', 'the completed job left the queue');
  } finally {
    spawnSync(process.execPath, [OPENBITS, 'daemon', 'stop'], { env });
    await server.close();
    await home.remove();
  }
});
