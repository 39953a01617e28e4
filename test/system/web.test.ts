import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connect } from '../../src/client.ts';
import {
  bitsadminJson,
  type SystemDaemon,
  startSystemDaemon,
  systemRoot,
  type TestUser,
  TestUsers,
  teardown,
  writeMachinePolicy,
} from './helpers.ts';

const BITSADMIN = fileURLToPath(new URL('../../bin/bitsadmin.js', import.meta.url));

/**
 * `bitsadmin --system /util /dashboard` as `user` (setpriv execs it: SIGINT reaches the CLI),
 * until it prints the address. Returns the origin, the token and a stop function.
 */
async function dashboardAs(
  user: TestUser,
  env: Record<string, string>,
): Promise<{ origin: string; token: string; stop(): Promise<number | null> }> {
  const child = spawn(
    'setpriv',
    [
      `--reuid=${user.uid}`,
      `--regid=${user.gid}`,
      '--init-groups',
      '--',
      process.execPath,
      BITSADMIN,
      '--system',
      '/util',
      '/dashboard',
    ],
    {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: user.home, OPENBITS_NO_AUTOSTART: '1', ...env },
      cwd: user.home,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  let out = '';
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (c: string) => {
    err += c;
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      const m = /Dashboard: (http:\/\/\S+)/u.exec(out);
      if (m !== null) resolve(m[1] as string);
    });
    void exited.then((code) => reject(new Error(`/util /dashboard exited (${code}): ${out}${err}`)));
  });
  const parsed = new URL(url);
  return {
    origin: parsed.origin,
    token: parsed.hash.replace(/^#token=/u, ''),
    stop() {
      child.kill('SIGINT');
      return exited;
    },
  };
}

// The dashboard and the metrics listener with the system bitsd: the trust boundary of the
// sockets holds through them.
describe('bitsd --system: dashboard and metrics', () => {
  const users = new TestUsers();
  const root = systemRoot();
  let daemon: SystemDaemon | undefined;
  let alice: TestUser;
  let bob: TestUser;
  let env: Record<string, string>;
  const jobs: Record<string, string> = {};

  before(async () => {
    alice = users.user('a', root);
    bob = users.user('b', root);
    // The machine policy asks for both listeners (port 0: any free one).
    writeMachinePolicy(root, { metrics: { listen: '127.0.0.1:0' }, dashboard: { listen: '127.0.0.1:0' } });
    daemon = await startSystemDaemon(root);
    env = daemon.env;
    for (const user of [alice, bob]) {
      const id = (await bitsadminJson(user, ['/create', `${user.name}-secret-job`], env)).id as string;
      await bitsadminJson(
        user,
        ['/addfile', id, `http://127.0.0.1:9/${user.name}-secret-file.bin`, join(user.home, 'secret.bin')],
        env,
      );
      jobs[user.name] = id;
    }
  });

  after(() => teardown({ daemon, users, root }));

  it('serves metrics.listen from a relay that runs as nobody; the text names no job, file, URL or user', async () => {
    const client = connect({ system: true, env, autoStart: false });
    try {
      const status = await client.status();
      assert.equal(status.dashboardUrl, null, 'root serves no dashboard: each user runs their own');
      assert.match(String(status.metricsUrl), /^http:\/\/127\.0\.0\.1:\d+\/metrics$/u);
      const res = await fetch(String(status.metricsUrl));
      assert.equal(res.status, 200);
      const text = await res.text();
      assert.match(text, /openbits_jobs\{state="SUSPENDED",priority="NORMAL"\} 2/u);
      for (const user of [alice, bob]) {
        for (const secret of [user.name, jobs[user.name] as string, String(user.uid), 'secret']) {
          assert.ok(!text.includes(secret), `the metrics show ${secret}`);
        }
      }
    } finally {
      await client.close();
    }
    // The TCP listener is not root's process.
    assert.match(daemon?.stderr() ?? '', /metrics listening \(relay\)/u);
    const relayPid = /"user":"nobody","pid":(\d+)/u.exec(daemon?.stderr() ?? '')?.[1];
    assert.ok(relayPid !== undefined, daemon?.stderr());
    assert.match((await import('node:fs')).readFileSync(`/proc/${relayPid}/status`, 'utf8'), /^Uid:\s+65534\s+65534/mu);
    assert.match(daemon?.stderr() ?? '', /dashboard\.listen is not served by bitsd --system/u);
  });

  it("/util /dashboard serves a user's dashboard through their own socket: their jobs, nobody else's", async () => {
    const dash = await dashboardAs(alice, env);
    try {
      const call = (path: string) =>
        fetch(`${dash.origin}${path}`, { headers: { authorization: `Bearer ${dash.token}` } });
      const listed = (await (await call('/v1/jobs')).json()) as { jobs: Array<{ id: string }> };
      assert.deepEqual(
        listed.jobs.map((j) => j.id),
        [jobs[alice.name]],
      );
      const other = await call(`/v1/jobs/${jobs[bob.name]}`);
      assert.equal(other.status, 404);
      assert.equal(((await other.json()) as { error: { name: string } }).error.name, 'BG_E_NOT_FOUND');
      const all = await call('/v1/jobs?allUsers=true');
      assert.equal(all.status, 403);
      assert.equal(((await all.json()) as { error: { name: string } }).error.name, 'E_ACCESSDENIED');
      // Without the token: nothing.
      assert.equal((await fetch(`${dash.origin}/v1/jobs`)).status, 401);
    } finally {
      assert.equal(await dash.stop(), 0);
    }
  });
});
