import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { prettyLine } from '../../src/api/log-format.ts';
import { connect } from '../../src/client/connect.ts';
import { watchIdle } from '../../src/daemon/idle-exit.ts';
import { RotatingFile } from '../../src/daemon/rotating-file.ts';
import { tempDir } from '../api/helpers.ts';
import { makeManager } from '../cli/helpers.ts';
import { TestClock } from '../helpers/test-clock.ts';
import { until } from '../helpers/until.ts';
import { spawnDaemon, stopDaemon } from './helpers.ts';

describe('idle exit of an on-demand bitsd', () => {
  // Issue 13: an on-demand bitsd ran forever and could only be killed.
  it('fires after the idle period with no runnable job and no client; a job that can run or a client holds it', async () => {
    const clock = new TestClock();
    const m = await makeManager({ clock });
    let connections = 0;
    let idle = 0;
    const watch = watchIdle({
      manager: m,
      clock,
      idleMs: 60_000,
      connections: async () => connections,
      onIdle: () => idle++,
    });
    const settle = () => new Promise((resolve) => setImmediate(resolve));
    try {
      const job = await m.createJob('held');
      await m.addFile(job.id, 'http://127.0.0.1:9/never', join(tmpdir(), `never-${job.id}.bin`));
      await m.resume(job.id); // QUEUED (or on to TRANSIENT_ERROR): a job that can run
      clock.advance(60_000);
      await settle();
      assert.equal(idle, 0, 'a runnable job keeps the daemon up');
      await m.suspend(job.id);
      connections = 1;
      clock.advance(60_000);
      await settle();
      assert.equal(idle, 0, 'a connected client keeps the daemon up');
      connections = 0;
      clock.advance(59_999);
      await settle();
      assert.equal(idle, 0);
      clock.advance(1);
      // The check reads the jobs, which waits for the store's sync (thread pool): not one turn.
      await until(() => idle === 1, 'SUSPENDED jobs only, nobody connected: idle');
      await m.cancel(job.id);
    } finally {
      watch.stop();
    }
  });

  it('bitsd --idle-timeout=1 with nothing to do exits 0 by itself and says why', async () => {
    const home = await tempDir('openbits-idle-');
    try {
      const daemon = await spawnDaemon(home.path, {}, ['--idle-timeout=1']);
      assert.equal(await daemon.exited, 0);
      assert.match(daemon.stderr(), /"reason":"idle for 1 s with no job that can run"/u);
      assert.ok(!existsSync(daemon.socketPath), 'the socket is gone with it');
    } finally {
      await home.remove();
    }
  });
});

describe('bitsd log', () => {
  it('has one line per job state change and per job error', async () => {
    const home = await tempDir('openbits-joblog-');
    const daemon = await spawnDaemon(home.path);
    try {
      const client = connect({ socketPath: daemon.socketPath, autoStart: false });
      const job = await client.createJob('logged');
      await client.addFile(job.id, `file://${join(home.path, 'missing.bin')}`, join(home.path, 'out.bin'));
      await client.resume(job.id);
      const deadline = Date.now() + 30_000;
      while (!/job error/u.test(daemon.stderr()) && Date.now() < deadline) {
        // bitsd's stderr: nothing to await but its next line.
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await client.cancel(job.id);
      await client.close();
      const lines = daemon
        .stderr()
        .split('\n')
        .filter((l) => l.includes(job.id))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const states = lines.filter((l) => l.msg === 'job state').map((l) => `${l.from}>${l.to}`);
      assert.equal(states[0], 'SUSPENDED>QUEUED');
      assert.ok(states.includes('QUEUED>CONNECTING') || states.includes('QUEUED>TRANSFERRING'), states.join(' '));
      const error = lines.find((l) => String(l.msg).startsWith('job error'));
      assert.ok(error, daemon.stderr());
      assert.equal(error.level, 50);
      assert.match(String(error.error), /^(ERROR_FILE_NOT_FOUND|ERROR_PATH_NOT_FOUND)$/u);
    } finally {
      await stopDaemon(daemon);
      await home.remove();
    }
  });

  it('a log file is capped by size: PATH.1 … PATH.3 keep the older lines, nothing is lost mid-line', async () => {
    const dir = await tempDir('openbits-rotate-');
    try {
      const path = join(dir.path, 'bitsd.log');
      const log = new RotatingFile({ path, maxBytes: 1000, keep: 3 });
      const line = (n: number) => `${JSON.stringify({ n, pad: 'x'.repeat(80) })}\n`;
      for (let n = 0; n < 60; n++) log.write(line(n));
      log.close();
      for (const f of [path, `${path}.1`, `${path}.2`, `${path}.3`]) {
        assert.ok(readFileSync(f, 'utf8').length <= 1000, f);
      }
      assert.ok(!existsSync(`${path}.4`));
      const newest = readFileSync(path, 'utf8').trim().split('\n');
      assert.equal(JSON.parse(newest.at(-1) ?? '{}').n, 59);
      const older = readFileSync(`${path}.1`, 'utf8').trim().split('\n');
      assert.equal(JSON.parse(older.at(-1) ?? '{}').n + 1, JSON.parse(newest[0] ?? '{}').n);
      // Appending to an existing file counts what is there already.
      writeFileSync(path, 'y'.repeat(990));
      const again = new RotatingFile({ path, maxBytes: 1000 });
      again.write(line(60));
      again.close();
      assert.equal(readFileSync(`${path}.1`, 'utf8'), 'y'.repeat(990));
    } finally {
      await dir.remove();
    }
  });

  it('reads well on a terminal: time, level, message, then the fields', () => {
    const json = JSON.stringify({
      level: 30,
      time: Date.UTC(2026, 0, 1, 12, 0, 0),
      pid: 1,
      hostname: 'h',
      name: 'bitsd',
      job: 'abc',
      from: 'QUEUED',
      to: 'TRANSFERRING',
      msg: 'job state',
    });
    assert.match(
      prettyLine(json),
      /^\d\d:\d\d:\d\d INFO {2}job state {2}job=abc {2}from=QUEUED {2}to=TRANSFERRING\n$/u,
    );
    const err = JSON.stringify({
      level: 60,
      time: 0,
      msg: 'bitsd could not start',
      err: { name: 'E_INVALIDARG', message: 'bad' },
    });
    assert.match(prettyLine(err), /FATAL bitsd could not start E_INVALIDARG: bad\n$/u);
    assert.equal(prettyLine('not json'), 'not json\n');
  });
});
