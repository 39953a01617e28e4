import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  bitsadminJson,
  type SystemDaemon,
  startSystemDaemon,
  systemRoot,
  type TestUser,
  TestUsers,
  teardown,
  waitForJob,
} from './helpers.ts';

const errorName = (job: Record<string, unknown>): string | undefined => (job.error as { name?: string } | null)?.name;
const waitsForNetwork = (j: Record<string, unknown>): boolean =>
  j.state === 'TRANSIENT_ERROR' && errorName(j) === 'BG_E_NETWORK_DISCONNECTED';

// §18.17 with the system bitsd: it runs in a network namespace of its own (unshare -n), where
// the test makes the route out come and go (a veth pair); the jobs of two users, moved by their
// own workers, wait for the network and go on together when it is back.
describe('bitsd --system: network loss and restoration for every user', () => {
  const users = new TestUsers();
  const root = systemRoot();
  let daemon: SystemDaemon | undefined;
  let alice: TestUser;
  let bob: TestUser;
  let env: Record<string, string>;
  /** `ip …` inside the daemon's network namespace. */
  const ip = (...args: string[]): void => {
    execFileSync('nsenter', ['-t', String(daemon?.child.pid), '-n', 'ip', ...args], { stdio: 'ignore' });
  };

  before(async () => {
    alice = users.user('a', root);
    bob = users.user('b', root);
    daemon = await startSystemDaemon(root, [], {}, ['unshare', '--net', '--']);
    env = daemon.env;
  });

  after(() => teardown({ daemon, users, root }));

  it('no route out: both users’ jobs wait (ErrorCount unchanged); a route back: both are queued again', async () => {
    // Nothing answers at 10.9.9.2 once the route exists: what matters is that the jobs leave the wait.
    const ids: string[] = [];
    for (const user of [alice, bob]) {
      const id = (await bitsadminJson(user, ['/create', 'offline'], env)).id as string;
      await bitsadminJson(user, ['/addfile', id, 'http://10.9.9.2:9/file.bin', join(user.home, 'file.bin')], env);
      await bitsadminJson(user, ['/setminretrydelay', id, '600'], env);
      await bitsadminJson(user, ['/resume', id], env);
      ids.push(id);
    }
    for (const id of ids) {
      const parked = await waitForJob(null, id, env, waitsForNetwork);
      assert.equal(parked.errorCount, 0, 'a lost network is no error of the job');
    }
    ip('link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
    ip('addr', 'add', '10.9.9.1/24', 'dev', 'v0');
    ip('link', 'set', 'v1', 'up');
    ip('link', 'set', 'v0', 'up');
    for (const id of ids) await waitForJob(null, id, env, (j) => !waitsForNetwork(j));
    for (const [i, user] of [alice, bob].entries()) await bitsadminJson(user, ['/cancel', ids[i] as string], env);
  });
});
