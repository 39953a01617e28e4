import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, it } from 'node:test';
import { connect } from '../../src/client/connect.ts';
import { tempDir } from '../api/helpers.ts';
import { BITSD_BIN, runDaemonToExit, spawnDaemon, stopDaemon } from './helpers.ts';

const mode = (path: string): number => lstatSync(path).mode & 0o777;

describe('bitsd process', () => {
  it('keeps its folder 0700 and its socket and database files 0600', async () => {
    const home = await tempDir('openbits-perm-');
    const daemon = await spawnDaemon(home.path);
    try {
      const client = connect({ socketPath: daemon.socketPath, autoStart: false });
      await client.createJob('makes the database write'); // WAL and SHM exist from here on
      await client.close();
      assert.equal(mode(home.path), 0o700);
      assert.ok(lstatSync(daemon.socketPath).isSocket());
      assert.equal(mode(daemon.socketPath), 0o600);
      for (const file of ['jobs.db', 'jobs.db-wal', 'jobs.db-shm']) {
        assert.equal(mode(join(home.path, file)), 0o600, file);
      }
    } finally {
      await stopDaemon(daemon);
      await home.remove();
    }
  });

  it('runs 16 thread-pool threads (a round of fsyncs at once) unless UV_THREADPOOL_SIZE says otherwise', async () => {
    const poolThreads = (pid: number): number =>
      readdirSync(`/proc/${pid}/task`).filter(
        (t) => readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim() === 'libuv-worker',
      ).length;
    for (const [given, expected] of [
      ['', 16],
      ['6', 6],
    ] as const) {
      const home = await tempDir('openbits-pool-');
      const daemon = await spawnDaemon(home.path, { UV_THREADPOOL_SIZE: given });
      try {
        const client = connect({ socketPath: daemon.socketPath, autoStart: false });
        await client.createJob('its WAL sync starts the pool'); // libuv makes every thread at once
        await client.close();
        assert.equal(poolThreads(daemon.child.pid as number), expected, `UV_THREADPOOL_SIZE=${given}`);
      } finally {
        await stopDaemon(daemon);
        await home.remove();
      }
    }
  });

  it('opens its store as the sole writer: reads come from its cache, a write verb sees an outside commit', async () => {
    // docs/durability.md: bitsd holds the instance lock, so its getJob skips `PRAGMA data_version`;
    // every write verb still asks inside its transaction. An administrator's sqlite3 stands in.
    const home = await tempDir('openbits-sole-');
    const daemon = await spawnDaemon(home.path);
    const client = connect({ socketPath: daemon.socketPath, autoStart: false });
    try {
      const job = await client.createJob('as created');
      // The create schedules a list of the queue (the warm pass, 50 ms on), which reads the new
      // job once and leaves it out of the record cache: list now, then read it into the cache.
      await client.enumJobs();
      assert.equal((await client.getJob(job.id)).displayName, 'as created');
      const db = new DatabaseSync(join(home.path, 'jobs.db'));
      try {
        db.exec('PRAGMA busy_timeout = 10000');
        db.prepare('UPDATE jobs SET display_name = ? WHERE id = ?').run('changed outside', job.id);
      } finally {
        db.close();
      }
      assert.equal((await client.getJob(job.id)).displayName, 'as created', 'a read asked the database');
      await client.setDescription(job.id, 'a write verb');
      const after = await client.getJob(job.id);
      assert.deepEqual([after.displayName, after.description], ['changed outside', 'a write verb']);
    } finally {
      await client.close();
      await stopDaemon(daemon);
      await home.remove();
    }
  });

  it('another user cannot connect to the socket (checked by connecting as nobody when root)', async () => {
    const home = await tempDir('openbits-other-user-');
    const daemon = await spawnDaemon(home.path);
    // What user 65534 gets when connecting to `path`: "connected" or the errno code.
    const tryAsNobody = (path: string): string =>
      spawnSync(
        process.execPath,
        [
          '-e',
          `const s = require('node:net').connect(${JSON.stringify(path)});
           s.on('connect', () => { process.stdout.write('connected'); process.exit(0); });
           s.on('error', (e) => { process.stdout.write(e.code); process.exit(0); });`,
        ],
        { uid: 65534, gid: 65534, cwd: '/' },
      ).stdout.toString();
    try {
      assert.equal(mode(daemon.socketPath), 0o600);
      if (process.getuid?.() === 0) {
        // Control: an open socket in an open folder is reachable by nobody, so the refusal below
        // comes from bitsd's modes, not from the harness.
        const open = await tempDir('openbits-open-');
        chmodSync(open.path, 0o755);
        const server = createNetServer().listen(join(open.path, 'open.sock'));
        await once(server, 'listening');
        chmodSync(join(open.path, 'open.sock'), 0o777);
        assert.equal(tryAsNobody(join(open.path, 'open.sock')), 'connected');
        server.close();
        await open.remove();
        assert.equal(tryAsNobody(daemon.socketPath), 'EACCES');
      }
    } finally {
      await stopDaemon(daemon);
      await home.remove();
    }
  });

  it('follows XDG: state under XDG_STATE_HOME, socket in XDG_RUNTIME_DIR/openbits (0700)', async () => {
    const root = await tempDir('openbits-xdg-');
    const state = join(root.path, 'state');
    const runtime = join(root.path, 'run');
    mkdirSync(runtime, { mode: 0o700 });
    const env = { ...process.env, XDG_STATE_HOME: state, XDG_RUNTIME_DIR: runtime, OPENBITS_HOME: '' };
    const child = spawn(process.execPath, [BITSD_BIN], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr.setEncoding('utf8');
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (chunk: string) => {
        log += chunk;
        if (log.includes('bitsd is listening')) resolve();
      });
      child.once('exit', () => reject(new Error(log)));
    });
    try {
      assert.equal(mode(join(runtime, 'openbits')), 0o700);
      assert.equal(mode(join(runtime, 'openbits', 'bitsd.sock')), 0o600);
      assert.ok(existsSync(join(state, 'openbits', 'jobs.db')));
      assert.equal(mode(join(state, 'openbits')), 0o700);
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
      await root.remove();
    }
  });

  it('without XDG_RUNTIME_DIR refuses a planted <tmp>/openbits-<uid> symlink or foreign folder', async () => {
    const root = await tempDir('openbits-fallback-');
    const uid = process.getuid?.() ?? 0;
    const planted = join(root.path, `openbits-${uid}`);
    const target = join(root.path, 'elsewhere');
    mkdirSync(target);
    symlinkSync(target, planted);
    const env = {
      ...process.env,
      OPENBITS_HOME: '',
      XDG_RUNTIME_DIR: '',
      TMPDIR: root.path,
      XDG_STATE_HOME: join(root.path, 'state'),
    };
    const run = async () => {
      const child = spawn(process.execPath, [BITSD_BIN], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      let log = '';
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (c: string) => {
        log += c;
      });
      const [code] = await once(child, 'exit');
      return { code, log };
    };
    try {
      const symlinked = await run();
      assert.equal(symlinked.code, 1);
      assert.match(symlinked.log, /is not a directory \(a symlink or a file is in the way\)/);
      assert.ok(!existsSync(join(target, 'bitsd.sock')));
      if (uid === 0) {
        // As root the harness can plant a folder owned by someone else.
        const { unlinkSync } = await import('node:fs');
        unlinkSync(planted);
        mkdirSync(planted, { mode: 0o777 });
        chownSync(planted, 65534, 65534);
        const foreign = await run();
        assert.equal(foreign.code, 1);
        assert.match(foreign.log, /belongs to uid 65534/);
        assert.ok(!existsSync(join(planted, 'bitsd.sock')));
      }
    } finally {
      await root.remove();
    }
  });

  it('a second daemon on the same socket refuses with exit code 3 and the running pid', async () => {
    const home = await tempDir('openbits-twice-');
    const first = await spawnDaemon(home.path);
    try {
      const second = await runDaemonToExit(home.path);
      assert.equal(second.code, 3);
      assert.match(second.stderr, new RegExp(`bitsd is already running \\(pid ${first.child.pid}\\)`));
      // The first one is untouched and still answers.
      const client = connect({ socketPath: first.socketPath, autoStart: false });
      assert.equal((await client.status()).pid, first.child.pid);
      await client.close();
    } finally {
      await stopDaemon(first);
      await home.remove();
    }
  });

  it('one daemon per database: the same state folder behind another socket refuses too', async () => {
    const root = await tempDir('openbits-onedb-');
    const state = join(root.path, 'state');
    const [runA, runB] = [join(root.path, 'a'), join(root.path, 'b')];
    for (const dir of [runA, runB]) mkdirSync(dir, { mode: 0o700 });
    const env = (runtime: string, stateHome = state) => ({
      ...process.env,
      OPENBITS_HOME: '',
      XDG_STATE_HOME: stateHome,
      XDG_RUNTIME_DIR: runtime,
    });
    const start = (e: NodeJS.ProcessEnv) => {
      const child = spawn(process.execPath, [BITSD_BIN], { env: e, stdio: ['ignore', 'ignore', 'pipe'] });
      let log = '';
      child.stderr.setEncoding('utf8');
      const listening = new Promise<void>((resolve) => {
        child.stderr.on('data', (c: string) => {
          log += c;
          if (log.includes('bitsd is listening')) resolve();
        });
      });
      const exited = once(child, 'exit').then(([code]) => code as number);
      return { child, listening, exited, log: () => log };
    };
    const first = start(env(runA));
    await Promise.race([first.listening, first.exited]);
    try {
      const sameDb = start(env(runB));
      assert.equal(await sameDb.exited, 3);
      assert.match(
        sameDb.log(),
        new RegExp(`already running \\(pid ${first.child.pid}\\) at ${runA}/openbits/bitsd.sock`),
      );
      assert.ok(!existsSync(join(runB, 'openbits', 'bitsd.sock')));
      // Another database on the same socket must not steal the live socket either.
      const sameSocket = start(env(runA, join(root.path, 'other-state')));
      assert.equal(await sameSocket.exited, 3);
      assert.match(sameSocket.log(), /another bitsd \(with another database\) already serves/);
      const client = connect({ socketPath: join(runA, 'openbits', 'bitsd.sock'), autoStart: false });
      assert.equal((await client.status()).pid, first.child.pid);
      await client.close();
    } finally {
      first.child.kill('SIGTERM');
      await first.exited;
      await root.remove();
    }
  });

  it('SIGTERM: exits 0 within 5 s and removes its socket; jobs survive the restart', async () => {
    const home = await tempDir('openbits-term-');
    const daemon = await spawnDaemon(home.path);
    const client = connect({ socketPath: daemon.socketPath, autoStart: false });
    const job = await client.createJob('survivor');
    // An open event stream must not hold the stop up.
    const unsubscribe = client.subscribe(() => {});
    await unsubscribe.ready;
    // Exit 0 is the stop finishing within its deadline (4.5 s, then bitsd exits 1); timing it
    // from here would also count a loaded machine's scheduling delays.
    const code = await stopDaemon(daemon);
    unsubscribe();
    await client.close();
    try {
      assert.equal(code, 0, daemon.stderr());
      assert.ok(!existsSync(daemon.socketPath));
      const again = await spawnDaemon(home.path);
      const after = connect({ socketPath: again.socketPath, autoStart: false });
      assert.equal((await after.getJob(job.id)).displayName, 'survivor');
      await after.close();
      assert.equal(await stopDaemon(again), 0);
    } finally {
      await home.remove();
    }
  });

  it('recovers the stale socket a kill -9 leaves behind', async () => {
    const home = await tempDir('openbits-kill-');
    const daemon = await spawnDaemon(home.path);
    const client = connect({ socketPath: daemon.socketPath, autoStart: false });
    const job = await client.createJob('before the crash');
    await client.close();
    daemon.child.kill('SIGKILL');
    await daemon.exited;
    assert.ok(lstatSync(daemon.socketPath).isSocket(), 'the dead daemon left its socket');
    const again = await spawnDaemon(home.path);
    try {
      assert.match(again.stderr(), /removed a stale socket/);
      const after = connect({ socketPath: again.socketPath, autoStart: false });
      assert.equal((await after.getJob(job.id)).displayName, 'before the crash');
      await after.close();
    } finally {
      await stopDaemon(again);
      await home.remove();
    }
  });

  it('refuses to replace a non-socket file at the socket path', async () => {
    const home = await tempDir('openbits-notsock-');
    writeFileSync(join(home.path, 'bitsd.sock'), 'precious');
    try {
      const run = await runDaemonToExit(home.path);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /is not a socket; refusing to replace it/);
      assert.ok(statSync(join(home.path, 'bitsd.sock')).isFile());
    } finally {
      await home.remove();
    }
  });

  it('--version, --help and a bad argument (exit 2) do not start a daemon', async () => {
    const home = await tempDir('openbits-args-');
    try {
      const run = (arg: string) =>
        spawnSync(process.execPath, [BITSD_BIN, arg], { env: { ...process.env, OPENBITS_HOME: home.path } });
      const version = run('--version');
      assert.equal(version.status, 0);
      assert.match(version.stdout.toString(), /^\d+\.\d+\.\d+\n$/u);
      const help = run('--help');
      assert.equal(help.status, 0);
      assert.ok(help.stdout.toString().includes(join(home.path, 'bitsd.sock')));
      const bad = run('--daemonize');
      assert.equal(bad.status, 2);
      assert.match(bad.stderr.toString(), /^bitsd: .*'--daemonize'.* \(try --help\)$/mu);
      assert.ok(!existsSync(join(home.path, 'bitsd.sock')));
    } finally {
      await home.remove();
    }
  });

  it('SIGHUP reloads the policy file; a bad file is logged and the old policy stays', async () => {
    const home = await tempDir('openbits-hup-');
    const daemon = await spawnDaemon(home.path);
    const waitLog = (text: string) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (daemon.stderr().includes(text)) {
            daemon.child.stderr?.off('data', check);
            resolve();
          }
        };
        daemon.child.stderr?.on('data', check);
        void daemon.exited.then((code) => reject(new Error(`bitsd exited (${code}):\n${daemon.stderr()}`)));
        check();
      });
    try {
      writeFileSync(join(home.path, 'config.json'), JSON.stringify({ quotas: { maxJobsPerUser: 'many' } }));
      daemon.child.kill('SIGHUP');
      await waitLog('policy not reloaded');
      writeFileSync(join(home.path, 'config.json'), JSON.stringify({ quotas: { maxJobsPerUser: 5000 } }));
      daemon.child.kill('SIGHUP');
      await waitLog('policy reloaded');
      assert.match(daemon.stderr(), /maxJobsPerUser/);
    } finally {
      assert.equal(await stopDaemon(daemon), 0);
      await home.remove();
    }
  });
});
