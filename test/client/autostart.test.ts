import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { locateBitsd } from '../../src/client/autostart.ts';
import { connect } from '../../src/client/connect.ts';
import { tempDir } from '../api/helpers.ts';
import { rejectsWith } from '../api/manager-contract.ts';
import { spawnDaemon, stopDaemon } from '../daemon/helpers.ts';

/** SIGTERM a detached daemon and wait until the process is gone. */
async function stopPid(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let i = 0; i < 250; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await delay(20); // cleanup of a process we do not parent: nothing to await but its absence
  }
  process.kill(pid, 'SIGKILL');
}

describe('connect(): on-demand start', () => {
  it('starts bitsd detached when nobody answers, then talks to it', async () => {
    const home = await tempDir('openbits-auto-');
    const env = { ...process.env, OPENBITS_HOME: home.path, OPENBITS_NO_AUTOSTART: undefined };
    const client = connect({ env });
    let pid: number | undefined;
    try {
      assert.ok(!existsSync(join(home.path, 'bitsd.sock')));
      const job = await client.createJob('on demand');
      const status = await client.status();
      pid = status.pid;
      assert.notEqual(pid, process.pid);
      assert.equal((await client.getJob(job.id)).displayName, 'on demand');
      assert.match(readFileSync(join(home.path, 'bitsd.log'), 'utf8'), /bitsd is listening/);
      // An on-demand daemon exits when idle (the default 300 s); it logs to a rotated file.
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      assert.ok(cmdline.includes('--idle-timeout=300'), cmdline.join(' '));
      assert.ok(cmdline.includes(`--log-file=${join(home.path, 'bitsd.log')}`), cmdline.join(' '));
      assert.equal(statSync(join(home.path, 'bitsd.log')).mode & 0o777, 0o600);
      assert.equal(statSync(join(home.path, 'compile-cache')).mode & 0o777, 0o700);
      // Detached: the daemon outlives this client.
      await client.close();
      const again = connect({ env, autoStart: false });
      assert.equal((await again.status()).pid, pid);
      await again.close();
    } finally {
      await client.close();
      if (pid !== undefined) await stopPid(pid);
      await home.remove();
    }
  });

  it('two clients starting it at once end up on one daemon', async () => {
    const home = await tempDir('openbits-race-');
    const env = { ...process.env, OPENBITS_HOME: home.path, OPENBITS_NO_AUTOSTART: undefined };
    const a = connect({ env });
    const b = connect({ env });
    let pids: number[] = [];
    try {
      const [ja, jb] = await Promise.all([a.createJob('a'), b.createJob('b')]);
      pids = [(await a.status()).pid, (await b.status()).pid];
      assert.equal(pids[0], pids[1]);
      const listed = (await a.enumJobs()).map((j) => j.id);
      assert.ok(listed.includes(ja.id) && listed.includes(jb.id));
    } finally {
      await a.close();
      await b.close();
      for (const pid of new Set(pids)) await stopPid(pid);
      // The slower client's daemon may still be starting: with the winner gone it would take
      // over the (soon deleted) home and live on. Stop whatever answers until 1 s passes quietly.
      for (let quiet = 0; quiet < 10; ) {
        const probe = connect({ env, autoStart: false });
        try {
          await stopPid((await probe.status()).pid);
          quiet = 0;
        } catch {
          quiet++;
          await delay(100); // waiting for a straggler we did not spawn ourselves: no event to await
        } finally {
          await probe.close();
        }
      }
      // A straggler still starting (slower than the quiet second) is found by its environment.
      killProcessesWithHome(home.path);
      await home.remove();
    }
  });

  it('autoStart: false and OPENBITS_NO_AUTOSTART=1 report RPC_S_SERVER_UNAVAILABLE and start nothing', async () => {
    const home = await tempDir('openbits-noauto-');
    try {
      const off = connect({ env: { ...process.env, OPENBITS_HOME: home.path }, autoStart: false });
      await rejectsWith(() => off.enumJobs(), 'RPC_S_SERVER_UNAVAILABLE');
      await off.close();
      const byEnv = connect({ env: { ...process.env, OPENBITS_HOME: home.path, OPENBITS_NO_AUTOSTART: '1' } });
      const err = await rejectsWith(() => byEnv.createJob('x'), 'RPC_S_SERVER_UNAVAILABLE');
      assert.match(err.message, /bitsd is not running/);
      await byEnv.close();
      assert.ok(!existsSync(join(home.path, 'bitsd.sock')));
    } finally {
      await home.remove();
    }
  });
});

describe('connect(): what an on-demand start reports', () => {
  // Issue 13: a bad config.json key reached the CLI only as "the started bitsd ended: exit code 1".
  it('a daemon that cannot start is reported with its own error, word for word', async () => {
    const home = await tempDir('openbits-badconf-');
    try {
      writeFileSync(join(home.path, 'config.json'), '{ "bogus": 1 }\n');
      const client = connect({ env: { ...process.env, OPENBITS_HOME: home.path, OPENBITS_NO_AUTOSTART: undefined } });
      const err = await rejectsWith(() => client.enumJobs(), 'E_INVALIDARG');
      assert.equal(err.message, 'bitsd could not start: policy: "bogus" is not a known setting');
      await client.close();
    } finally {
      await home.remove();
    }
  });

  it('finds bitsd through the option, OPENBITS_BITSD, the package, else says what to pass', () => {
    const env = {};
    assert.equal(locateBitsd('/opt/app/bitsd.js', env), '/opt/app/bitsd.js');
    assert.equal(locateBitsd(undefined, { OPENBITS_BITSD: '/srv/bitsd.js' }), '/srv/bitsd.js');
    // Through the package (self-reference of openbits/package.json in this checkout).
    assert.equal(locateBitsd(undefined, env), fileURLToPath(new URL('../../bin/bitsd.js', import.meta.url)));
    // A bundle: the package cannot be resolved and nothing lies next to the module.
    const bundled = () =>
      locateBitsd(
        undefined,
        env,
        () => {
          throw new Error('Cannot find package openbits');
        },
        'file:///srv/app/dist/bundle.js',
      );
    assert.throws(bundled, (e: Error & { name: string }) => {
      assert.equal(e.name, 'ERROR_FILE_NOT_FOUND');
      assert.match(e.message, /pass connect\(\{ bitsdPath \}\) or set OPENBITS_BITSD/u);
      return true;
    });
  });

  // Issue 13: another user's socket (EACCES) was reported as "bitsd is not running".
  it('another user’s socket is E_ACCESSDENIED naming its owner, not “bitsd is not running”', async () => {
    const home = await tempDir('openbits-eacces-');
    const daemon = await spawnDaemon(home.path);
    try {
      const script = [
        `const { connect } = await import(${JSON.stringify(new URL('../../src/client/connect.ts', import.meta.url).href)});`,
        `const c = connect({ socketPath: ${JSON.stringify(daemon.socketPath)} });`,
        'try { await c.enumJobs(); console.log("no error"); }',
        'catch (e) { console.log(JSON.stringify({ name: e.name, message: e.message })); }',
        'await c.close();',
      ].join('\n');
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        uid: 65534,
        gid: 65534,
        encoding: 'utf8',
        cwd: '/',
        env: { PATH: process.env.PATH, HOME: '/nonexistent' },
      });
      const out = JSON.parse(r.stdout.trim() || '{}') as { name?: string; message?: string };
      assert.equal(out.name, 'E_ACCESSDENIED', r.stdout + r.stderr);
      assert.match(
        out.message ?? '',
        /permission denied on the bitsd socket .* \(it belongs to uid 0, not to you \(uid 65534\)\)/u,
      );
    } finally {
      await stopDaemon(daemon);
      await home.remove();
    }
  });
});

/** SIGKILL every process of ours whose OPENBITS_HOME is `home` (Linux /proc). */
function killProcessesWithHome(home: string): void {
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/u.test(n))) {
    try {
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      if (env.includes(`OPENBITS_HOME=${home}`)) process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone already, or not ours to read
    }
  }
}
