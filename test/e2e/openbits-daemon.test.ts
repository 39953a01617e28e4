import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../api/helpers.ts';

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
