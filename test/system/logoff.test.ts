import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type OriginServer, serving, startOrigin } from '../helpers/origin-server.ts';
import {
  bitsadminError,
  bitsadminJson,
  type SystemDaemon,
  startSystemDaemon,
  systemRoot,
  type TestUser,
  TestUsers,
  teardown,
  waitForJob,
} from './helpers.ts';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const errorName = (job: Record<string, unknown>): string | undefined => (job.error as { name?: string } | null)?.name;

// BITS: jobs transfer only while their owner is logged on. The system daemon parks a user's
// jobs in TRANSIENT_ERROR (ERROR_NOT_LOGGED_ON) when their last session ends and queues them
// again when one begins.
describe('bitsd --system: owner logoff and logon', () => {
  const users = new TestUsers();
  const root = systemRoot();
  const body = randomBytes(400_000);
  let origin: OriginServer;
  let alice: TestUser;
  let carol: TestUser;
  let unattended: string;
  let daemon: SystemDaemon | undefined;

  before(async () => {
    alice = users.user('a', root);
    unattended = users.group('u');
    carol = users.user('c', root, [unattended]);
    origin = await startOrigin();
    // Slow enough (≥ 10 s) that the logoff finds it transferring; later requests are quick.
    origin.route(
      '/slow.bin',
      serving(body, (n) => (n === 1 ? { dripBytes: 8192, dripMs: 200 } : {})),
    );
    origin.route('/file.bin', serving(body));
    origin.route('/drip.bin', serving(body, { dripBytes: 8192, dripMs: 200 }));
  });

  after(() => teardown({ daemon, origin, users, root }));

  it('logind: a transfer stops at logoff, waits with ERROR_NOT_LOGGED_ON and goes on at logon', async () => {
    const sessions = join(root, 'sessions');
    mkdirSync(sessions);
    const session = join(sessions, String(alice.uid));
    writeFileSync(session, 'STATE=active\n');
    daemon = await startSystemDaemon(root, ['--sessions=logind'], { OPENBITS_SESSIONS_DIR: sessions });
    const env = daemon.env;
    try {
      const target = join(alice.home, 'slow.bin');
      const job = await bitsadminJson(alice, ['/create', 'logoff'], env);
      const id = job.id as string;
      await bitsadminJson(alice, ['/addfile', id, origin.url('/slow.bin'), target], env);
      await bitsadminJson(alice, ['/resume', id], env);
      await waitForJob(alice, id, env, (j) => (j.progress as { bytesTransferred: number }).bytesTransferred > 0);
      rmSync(session);
      const parked = await waitForJob(alice, id, env, (j) => j.state === 'TRANSIENT_ERROR');
      assert.equal(errorName(parked), 'ERROR_NOT_LOGGED_ON');
      assert.equal(parked.errorCount, 0, 'a logoff is no error of the job');
      const requests = origin.hits('/slow.bin').length;
      writeFileSync(session, 'STATE=active\n');
      await waitForJob(alice, id, env, (j) => j.state === 'TRANSFERRED');
      assert.equal(origin.hits('/slow.bin').length, requests + 1, 'one request after the logon, from the checkpoint');
      await bitsadminJson(alice, ['/complete', id], env);
      assert.equal(sha(readFileSync(target)), sha(body));
    } finally {
      await daemon.stop();
      daemon = undefined;
    }
  });

  it('without logind: a user with no process waits; one process of theirs lets the job run', async () => {
    daemon = await startSystemDaemon(root, ['--sessions=processes']);
    const env = daemon.env;
    let shell: ChildProcess | undefined;
    try {
      const target = join(alice.home, 'file.bin');
      const job = await bitsadminJson(alice, ['/create', 'no-session'], env);
      const id = job.id as string;
      await bitsadminJson(alice, ['/addfile', id, origin.url('/file.bin'), target], env);
      // Resumed while the CLI (Alice's process) runs; once it exited, Alice has no process.
      await bitsadminJson(alice, ['/resume', id], env);
      const waiting = await waitForJob(
        null,
        id,
        env,
        (j) => j.state === 'TRANSIENT_ERROR' || j.state === 'TRANSFERRED',
      );
      if (waiting.state === 'TRANSIENT_ERROR') assert.equal(errorName(waiting), 'ERROR_NOT_LOGGED_ON');
      // Alice "logs on": a process of hers that stays (setpriv execs it: killing it ends it).
      shell = spawn(
        'setpriv',
        [`--reuid=${alice.uid}`, `--regid=${alice.gid}`, '--init-groups', '--', 'sleep', '600'],
        { stdio: 'ignore' },
      );
      await waitForJob(null, id, env, (j) => j.state === 'TRANSFERRED');
      await bitsadminJson(alice, ['/complete', id], env);
      assert.equal(sha(readFileSync(target)), sha(body));

      // And when she has none again, a new job of hers waits.
      shell.kill('SIGKILL');
      await once(shell, 'exit');
      shell = undefined;
      const later = await bitsadminJson(alice, ['/create', 'later'], env);
      // (It drips: Alice's own CLI calls count as her processes for up to one look, 2 s.)
      await bitsadminJson(
        alice,
        ['/addfile', later.id as string, origin.url('/drip.bin'), join(alice.home, 'later.bin')],
        env,
      );
      await bitsadminJson(alice, ['/setpriority', later.id as string, 'FOREGROUND'], env);
      await bitsadminJson(alice, ['/suspend', later.id as string], env);
      // Root resumes it for her (an administrator may): it waits for Alice, FOREGROUND or not.
      await bitsadminJson(null, ['/resume', later.id as string], env);
      const parked = await waitForJob(null, later.id as string, env, (j) => j.state === 'TRANSIENT_ERROR');
      assert.equal(errorName(parked), 'ERROR_NOT_LOGGED_ON');
    } finally {
      if (shell !== undefined) {
        shell.kill('SIGKILL');
        await once(shell, 'exit');
      }
      await daemon.stop();
      daemon = undefined;
    }
  });

  it('policy logoff.keepBackgroundJobs: listed accounts transfer in the background without a session; FOREGROUND jobs wait', async () => {
    const sessions = join(root, 'sessions-keep');
    mkdirSync(sessions);
    // Carol has no session at all: she is never in logind's folder.
    daemon = await startSystemDaemon(root, ['--sessions=logind'], { OPENBITS_SESSIONS_DIR: sessions });
    const env = daemon.env;
    const keep = (value: string): string[] => ['/util', '/setpolicy', 'logoff.keepBackgroundJobs', value];
    const waitsForCarol = (j: Record<string, unknown>): boolean =>
      j.state === 'TRANSIENT_ERROR' && errorName(j) === 'ERROR_NOT_LOGGED_ON';
    const download = async (name: string, path: string, priority?: string): Promise<string> => {
      const id = (await bitsadminJson(carol, ['/create', name], env)).id as string;
      await bitsadminJson(carol, ['/addfile', id, origin.url(path), join(carol.home, `${name}.bin`)], env);
      if (priority !== undefined) await bitsadminJson(carol, ['/setpriority', id, priority], env);
      await bitsadminJson(carol, ['/resume', id], env);
      return id;
    };
    try {
      // The machine's policy: a user cannot list herself.
      assert.equal(await bitsadminError(carol, keep(`["${carol.name}"]`), env), 'E_ACCESSDENIED');
      await bitsadminJson(null, keep(`["${carol.name}"]`), env);
      const policy = await bitsadminJson(carol, ['/util', '/getpolicy'], env);
      assert.deepEqual((policy.logoff as { keepBackgroundJobs: string[] }).keepBackgroundJobs, [carol.name]);

      const background = await download('background', '/file.bin');
      await waitForJob(carol, background, env, (j) => j.state === 'TRANSFERRED');
      await bitsadminJson(carol, ['/complete', background], env);
      assert.equal(sha(readFileSync(join(carol.home, 'background.bin'))), sha(body));

      const foreground = await download('foreground', '/drip.bin', 'FOREGROUND');
      await waitForJob(carol, foreground, env, waitsForCarol);

      // The key removed: her transferring background job stops and waits too.
      const slow = await download('slow', '/drip.bin');
      await waitForJob(carol, slow, env, (j) => (j.progress as { bytesTransferred: number }).bytesTransferred > 0);
      await bitsadminJson(null, keep('null'), env);
      await waitForJob(carol, slow, env, waitsForCarol);

      // Listed through a group: queued again at once; FOREGROUND still waits until it is not.
      await bitsadminJson(null, keep(`["@${unattended}"]`), env);
      await waitForJob(carol, slow, env, (j) => j.state === 'TRANSFERRED');
      assert.ok(waitsForCarol(await bitsadminJson(carol, ['/info', foreground], env)));
      await bitsadminJson(carol, ['/setpriority', foreground, 'NORMAL'], env);
      await waitForJob(carol, foreground, env, (j) => j.state === 'TRANSFERRED');
    } finally {
      await daemon.stop();
      daemon = undefined;
    }
  });
});
