import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { systemdUnit } from '../../src/cli/openbits/daemon-verb.ts';
import { connect } from '../../src/client/connect.ts';
import { tempDir } from '../api/helpers.ts';
import { spawnDaemon, stopDaemon } from './helpers.ts';

const root = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/u, '');
const node = join(root, 'node_modules', '.bin', 'node');

/** The unit as `openbits daemon unit` prints it for this checkout. */
const unit = systemdUnit(node, root);
const values = (key: string): string[] =>
  unit
    .split('\n')
    .filter((l) => l.startsWith(`${key}=`))
    .map((l) => l.slice(key.length + 1));
const value = (key: string): string | undefined => values(key)[0];

describe('systemd/openbits.service', () => {
  it('is Type=notify, takes over an on-demand bitsd and never idles out', () => {
    assert.equal(value('Type'), 'notify');
    // READY=1 comes from systemd-notify, a child of bitsd.
    assert.equal(value('NotifyAccess'), 'all');
    assert.equal(value('Restart'), 'on-failure');
    assert.equal(value('WantedBy'), 'default.target');
    const [exe, script, ...rest] = (value('ExecStart') ?? '').split(' ');
    assert.equal(exe, node);
    assert.equal(script, `${root}/bin/bitsd.js`);
    assert.deepEqual(rest, ['--replace']);
    assert.ok(existsSync(exe ?? '') && existsSync(script ?? ''));
    assert.ok(!/@[A-Z_]+@/u.test(unit), 'every placeholder is filled in');
  });

  it('is hardened without hiding what bitsd needs (the home folder, /tmp, /proc/net, the JIT)', () => {
    for (const [key, want] of [
      ['NoNewPrivileges', 'yes'],
      ['ProtectSystem', 'full'],
      ['PrivateTmp', 'no'],
      ['RestrictAddressFamilies', 'AF_UNIX AF_INET AF_INET6'],
      ['SystemCallErrorNumber', 'EPERM'],
      ['CapabilityBoundingSet', ''],
    ] as const) {
      assert.equal(value(key), want, key);
    }
    assert.deepEqual(values('SystemCallFilter'), ['@system-service', '~@privileged @resources @obsolete']);
    for (const absent of ['ProtectHome', 'ProcSubset', 'MemoryDenyWriteExecute', 'UMask']) {
      assert.equal(value(absent), undefined, `${absent} would break downloads, /proc/net/route, V8 or the umask rule`);
    }
  });

  it('systemd-analyze security --offline rates its exposure 4.0 or better', async () => {
    const dir = await tempDir('openbits-unit-');
    try {
      const file = join(dir.path, 'openbits.service');
      writeFileSync(file, unit);
      let out: string;
      try {
        out = execFileSync('systemd-analyze', ['security', '--offline=yes', '--no-pager', file], { encoding: 'utf8' });
      } catch (err) {
        // It exits non-zero when the score passes its threshold; the report is on stdout anyway.
        out = String((err as { stdout?: unknown }).stdout ?? '');
      }
      const m = /Overall exposure level for openbits\.service: (\d+\.\d+)/u.exec(out);
      assert.ok(m, out);
      assert.ok(Number(m[1]) <= 4.0, `exposure ${m[1]}`);
    } finally {
      await dir.remove();
    }
  });
});

/** A Unix datagram listener (Node has none): python3 prints each message on a line. */
function notifyListener(path: string): { child: ChildProcess; text: () => string } {
  const script = [
    'import socket, sys',
    's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
    `s.bind(${JSON.stringify(path)})`,
    'print("listening", flush=True)',
    'while True:',
    '    print(s.recv(4096).decode().replace("\\n", " "), flush=True)',
  ].join('\n');
  const child = spawn('python3', ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let text = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    text += chunk;
  });
  return { child, text: () => text };
}

async function until(what: string, check: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    // Output of another process: nothing to await but its arrival.
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('bitsd under systemd', () => {
  it('sends READY=1 with its MAINPID over NOTIFY_SOCKET once it answers, and STOPPING=1 on SIGTERM', async () => {
    const home = await tempDir('openbits-notify-');
    const socket = join(home.path, 'notify.sock');
    const listener = notifyListener(socket);
    try {
      await until('the listener', () => listener.text().includes('listening'));
      const daemon = await spawnDaemon(home.path, { NOTIFY_SOCKET: socket });
      try {
        await until('READY=1', () => /READY=1/u.test(listener.text()));
        const ready =
          listener
            .text()
            .split('\n')
            .find((l) => l.includes('READY=1')) ?? '';
        assert.match(ready, new RegExp(`MAINPID=${daemon.child.pid}\\b`, 'u'));
        // The socket answers by then.
        const client = connect({ socketPath: daemon.socketPath, autoStart: false });
        assert.equal((await client.status()).pid, daemon.child.pid);
        await client.close();
      } finally {
        assert.equal(await stopDaemon(daemon), 0);
      }
      await until('STOPPING=1', () => /STOPPING=1/u.test(listener.text()));
    } finally {
      listener.child.kill();
      await once(listener.child, 'exit');
      await home.remove();
    }
  });

  it('--replace stops the on-demand bitsd at a checkpoint and takes over its socket and jobs', async () => {
    const home = await tempDir('openbits-replace-');
    const first = await spawnDaemon(home.path, {}, ['--idle-timeout=300']);
    let second: Awaited<ReturnType<typeof spawnDaemon>> | undefined;
    try {
      const client = connect({ socketPath: first.socketPath, autoStart: false });
      const job = await client.createJob('kept');
      await client.close();
      second = await spawnDaemon(home.path, {}, ['--replace']);
      assert.equal(await first.exited, 0, 'the on-demand daemon stopped cleanly');
      assert.match(second.stderr(), /took over from the bitsd that was running/u);
      const after = connect({ socketPath: second.socketPath, autoStart: false });
      assert.equal((await after.status()).pid, second.child.pid);
      assert.equal((await after.getJob(job.id)).displayName, 'kept');
      await after.close();
    } finally {
      await stopDaemon(first);
      if (second !== undefined) await stopDaemon(second);
      await home.remove();
    }
  });
});

describe('systemd/openbits-system.service', () => {
  const systemUnit = systemdUnit(node, root, true);
  const get = (key: string): string[] =>
    systemUnit
      .split('\n')
      .filter((l) => l.startsWith(`${key}=`))
      .map((l) => l.slice(key.length + 1));

  it('runs bitsd --system as root with its three folders, keeping only the capabilities it needs', () => {
    const [exe, script, ...rest] = (get('ExecStart')[0] ?? '').split(' ');
    assert.equal(exe, node);
    assert.equal(script, `${root}/bin/bitsd.js`);
    assert.deepEqual(rest, ['--system']);
    assert.equal(get('Type')[0], 'notify');
    assert.equal(get('User')[0], undefined, 'root: it gives each user a socket and starts workers as them');
    for (const [key, want] of [
      ['StateDirectory', 'openbits'],
      ['StateDirectoryMode', '0700'],
      ['RuntimeDirectory', 'openbits'],
      ['RuntimeDirectoryMode', '0755'],
      ['ConfigurationDirectory', 'openbits'],
      ['ReadWritePaths', '/etc/openbits'],
      ['CapabilityBoundingSet', 'CAP_CHOWN CAP_SETUID CAP_SETGID'],
      ['NoNewPrivileges', 'yes'],
      ['WantedBy', 'multi-user.target'],
    ] as const) {
      assert.equal(get(key)[0], want, key);
    }
    // @privileged holds setuid/setgid/chown, which the workers and the sockets need.
    assert.ok(!get('SystemCallFilter').some((f) => f.includes('@privileged')));
    assert.ok(!/@[A-Z_]+@/u.test(systemUnit), 'every placeholder is filled in');
  });

  it('systemd-analyze security --offline rates its exposure 4.0 or better', async () => {
    const dir = await tempDir('openbits-system-unit-');
    try {
      const file = join(dir.path, 'openbits-system.service');
      writeFileSync(file, systemUnit);
      let out: string;
      try {
        out = execFileSync('systemd-analyze', ['security', '--offline=yes', '--no-pager', file], { encoding: 'utf8' });
      } catch (err) {
        out = String((err as { stdout?: unknown }).stdout ?? '');
      }
      const m = /Overall exposure level for openbits-system\.service: (\d+\.\d+)/u.exec(out);
      assert.ok(m, out);
      assert.ok(Number(m[1]) <= 4.0, `exposure ${m[1]}`);
    } finally {
      await dir.remove();
    }
  });
});
