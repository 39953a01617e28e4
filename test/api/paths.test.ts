import assert from 'node:assert/strict';
import { chmodSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { it } from 'node:test';
import { resolvePaths } from '../../src/api/paths.ts';

it('OPENBITS_HOME puts everything in one (absolute) folder', () => {
  const p = resolvePaths({ OPENBITS_HOME: 'rel/home', XDG_RUNTIME_DIR: '/run/user/7' }, 7);
  const home = resolve('rel/home');
  assert.deepEqual(p, {
    stateDir: home,
    runtimeDir: home,
    socketPath: join(home, 'bitsd.sock'),
    logPath: join(home, 'bitsd.log'),
    configPath: join(home, 'config.json'),
  });
});

it('XDG layout: state, runtime and config folders; relative XDG values are ignored', () => {
  const p = resolvePaths(
    { HOME: '/home/ann', XDG_STATE_HOME: '/s', XDG_RUNTIME_DIR: '/run/user/1000', XDG_CONFIG_HOME: 'relative' },
    1000,
  );
  assert.equal(p.stateDir, '/s/openbits');
  assert.equal(p.socketPath, '/run/user/1000/openbits/bitsd.sock');
  assert.equal(p.configPath, '/home/ann/.config/openbits/config.json');
  assert.equal(p.logPath, '/s/openbits/bitsd.log');
  const defaults = resolvePaths({ HOME: '/home/ann', XDG_RUNTIME_DIR: '/run/user/1000' }, 1000);
  assert.equal(defaults.stateDir, '/home/ann/.local/state/openbits');
});

it('without XDG_RUNTIME_DIR: /run/user/<uid> when it is ours and private, else <tmpdir>/openbits-<uid>', async () => {
  const root = await mkdtemp(join(tmpdir(), 'openbits-runuser-'));
  const uid = process.getuid?.() ?? 0;
  try {
    const none = resolvePaths({ HOME: '/home/ann' }, uid, root);
    assert.equal(none.runtimeDir, join(tmpdir(), `openbits-${uid}`));
    assert.equal(none.socketPath, join(tmpdir(), `openbits-${uid}`, 'bitsd.sock'));
    const session = join(root, String(uid));
    mkdirSync(session, { mode: 0o755 });
    chmodSync(session, 0o755);
    assert.equal(resolvePaths({ HOME: '/home/ann' }, uid, root).runtimeDir, join(tmpdir(), `openbits-${uid}`));
    chmodSync(session, 0o700);
    assert.equal(resolvePaths({ HOME: '/home/ann' }, uid, root).socketPath, join(session, 'openbits', 'bitsd.sock'));
    assert.equal(resolvePaths({ HOME: '/home/ann' }, uid + 1, root).runtimeDir, join(tmpdir(), `openbits-${uid + 1}`));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
