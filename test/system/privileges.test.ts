import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type OriginServer, serving, startOrigin } from '../helpers/origin-server.ts';
import {
  bitsadminError,
  bitsadminJson,
  runAs,
  type SystemDaemon,
  startSystemDaemon,
  systemRoot,
  type TestUser,
  TestUsers,
  teardown,
  waitForJob,
} from './helpers.ts';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

// Every file operation and HTTP transfer of a user's job happens in a worker running as that
// user: files end up theirs, and neither a name nor a planted symlink makes root write.
describe('bitsd --system: transfers run with the owner’s rights', () => {
  const users = new TestUsers();
  const root = systemRoot();
  const body = randomBytes(300_000);
  let origin: OriginServer;
  let daemon: SystemDaemon | undefined;
  let alice: TestUser;
  let bob: TestUser;
  let env: Record<string, string>;
  /** A folder only root can write, with a file of root's in it. */
  let rootOnly: string;

  before(async () => {
    alice = users.user('a', root);
    bob = users.user('b', root);
    rootOnly = join(root, 'rootonly');
    mkdirSync(rootOnly, { mode: 0o755 });
    writeFileSync(join(rootOnly, 'secret'), 'root data\n', { mode: 0o644 });
    origin = await startOrigin();
    origin.route('/file.bin', serving(body));
    // The first answer of each crash test drips (≥ 5 s), the next ones are quick.
    origin.route(
      '/slow-a.bin',
      serving(body, (n) => (n === 1 ? { dripBytes: 8192, dripMs: 150 } : {})),
    );
    origin.route(
      '/slow-b.bin',
      serving(body, (n) => (n === 1 ? { dripBytes: 8192, dripMs: 150 } : {})),
    );
    daemon = await startSystemDaemon(root);
    env = daemon.env;
  });

  after(() => teardown({ daemon, origin, users, root }));

  it('downloads into the owner’s folder as the owner: the file is theirs, the bytes right', async () => {
    const target = join(alice.home, 'file.bin');
    const r = await runAs(alice, 'bitsadmin', ['/transfer', 'dl', origin.url('/file.bin'), target], env);
    assert.equal(r.code, 0, r.stderr);
    const st = lstatSync(target);
    assert.equal(st.uid, alice.uid);
    assert.equal(st.gid, alice.gid);
    assert.equal(sha(readFileSync(target)), sha(body));
    // The worker that moved the bytes ran as Alice (its start is logged with her uid).
    assert.match(
      daemon?.stderr() ?? '',
      new RegExp(`"uid":${alice.uid},"user":"${alice.name}","pid":\\d+,"msg":"worker started"`),
    );
  });

  it('runs the notify command line as the owner, with the owner’s groups and none of root’s environment', async () => {
    const out = join(alice.home, 'notified');
    const job = await bitsadminJson(alice, ['/create', 'notify'], env);
    const id = job.id as string;
    await bitsadminJson(alice, ['/addfile', id, origin.url('/file.bin'), join(alice.home, 'n.bin')], env);
    await bitsadminJson(alice, ['/setnotifyflags', id, '1'], env);
    const script = `id -u > ${out}.tmp; id -g >> ${out}.tmp; echo "$HOME" >> ${out}.tmp; echo "\${OPENBITS_SYSTEM_ROOT:-unset}" >> ${out}.tmp; mv ${out}.tmp ${out}`;
    await bitsadminJson(alice, ['/setnotifycmdline', id, '/bin/sh', `/bin/sh -c '${script}'`], env);
    await bitsadminJson(alice, ['/resume', id], env);
    const deadline = Date.now() + 60_000;
    while (!existsSync(out)) {
      if (Date.now() > deadline) throw new Error('the notify command did not run');
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.deepEqual(readFileSync(out, 'utf8').trim().split('\n'), [
      String(alice.uid),
      String(alice.gid),
      alice.home,
      'unset',
    ]);
    assert.equal(lstatSync(out).uid, alice.uid);
  });

  it('sends the job’s webhooks from the owner’s worker: the receiver’s peer socket is the owner’s', async () => {
    const seen: Array<{ event: string; uid: number | undefined }> = [];
    const receiver = createServer((req, res) => {
      // The kernel's table of TCP sockets names the uid that owns the sending end.
      const port = (req.socket.remotePort ?? 0).toString(16).toUpperCase().padStart(4, '0');
      const line = readFileSync('/proc/net/tcp', 'utf8')
        .split('\n')
        .map((l) => l.trim().split(/\s+/u))
        .find((f) => f[1]?.endsWith(`:${port}`));
      seen.push({
        event: String(req.headers['openbits-event'] ?? ''),
        uid: line === undefined ? undefined : Number(line[7]),
      });
      req.resume();
      req.on('end', () => res.writeHead(204).end());
    });
    receiver.listen(0, '127.0.0.1');
    await once(receiver, 'listening');
    try {
      const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
      const job = await bitsadminJson(alice, ['/create', 'hooked'], env);
      const id = job.id as string;
      await bitsadminJson(alice, ['/addfile', id, origin.url('/file.bin'), join(alice.home, 'hooked.bin')], env);
      await bitsadminJson(alice, ['/setnotifyurl', id, url, 'a-secret-of-16-chars-or-more'], env);
      await bitsadminJson(alice, ['/resume', id], env);
      const deadline = Date.now() + 60_000;
      while (seen.length === 0) {
        if (Date.now() > deadline) throw new Error('no webhook arrived');
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.equal(seen[0]?.uid, alice.uid);
    } finally {
      receiver.close();
    }
  });

  it('refuses a local name in a folder only root can write (E_ACCESSDENIED), writing nothing', async () => {
    const job = await bitsadminJson(alice, ['/create', 'into-root'], env);
    const code = await bitsadminError(
      alice,
      ['/addfile', job.id as string, origin.url('/file.bin'), join(rootOnly, 'x')],
      env,
    );
    assert.equal(code, 'E_ACCESSDENIED');
    assert.deepEqual(readdirSync(rootOnly).sort(), ['secret']);
    // Nor into Bob's private folder.
    const intoBob = await bitsadminError(
      alice,
      ['/addfile', job.id as string, origin.url('/file.bin'), join(bob.home, 'x')],
      env,
    );
    assert.equal(intoBob, 'E_ACCESSDENIED');
    assert.deepEqual(readdirSync(bob.home), []);
  });

  it('a symlink planted by the user cannot make the service write as root', async () => {
    // A folder swapped for a symlink to root's folder after AddFile checked it.
    const dir = join(alice.home, 'd');
    mkdirSync(dir);
    chownSync(dir, alice.uid, alice.gid);
    const job = await bitsadminJson(alice, ['/create', 'swap'], env);
    const id = job.id as string;
    await bitsadminJson(alice, ['/addfile', id, origin.url('/file.bin'), join(dir, 'out.bin')], env);
    // Alice replaces her folder by a link to root's (as she can: it is hers).
    execFileSync('runuser', ['-u', alice.name, '--', 'sh', '-c', `rmdir '${dir}' && ln -s '${rootOnly}' '${dir}'`]);
    await bitsadminJson(alice, ['/resume', id], env);
    const ended = await waitForJob(alice, id, env, (j) => j.state === 'ERROR' || j.state === 'TRANSFERRED');
    assert.equal(ended.state, 'ERROR');
    assert.equal((ended.error as { name: string }).name, 'E_ACCESSDENIED');
    assert.deepEqual(readdirSync(rootOnly).sort(), ['secret']);
    assert.equal(readFileSync(join(rootOnly, 'secret'), 'utf8'), 'root data\n');

    // A local name that is a symlink to root's file: Complete replaces the link, never its target.
    const link = join(alice.home, 'link.bin');
    symlinkSync(join(rootOnly, 'secret'), link);
    const r = await runAs(alice, 'bitsadmin', ['/transfer', 'link', origin.url('/file.bin'), link], env);
    assert.equal(readFileSync(join(rootOnly, 'secret'), 'utf8'), 'root data\n');
    assert.equal(lstatSync(join(rootOnly, 'secret')).uid, 0);
    if (r.code === 0) {
      assert.equal(lstatSync(link).uid, alice.uid);
      assert.equal(sha(readFileSync(link)), sha(body));
    }
  });

  it('an upload cannot read a file the owner cannot read (E_ACCESSDENIED)', async () => {
    const secret = join(root, 'root-secret');
    writeFileSync(secret, 'only root\n', { mode: 0o600 });
    chmodSync(secret, 0o600);
    const job = await bitsadminJson(alice, ['/create', '/upload', 'up'], env);
    const code = await bitsadminError(alice, ['/addfile', job.id as string, origin.url('/up'), secret], env);
    assert.equal(code, 'E_ACCESSDENIED');
    assert.ok(existsSync(secret));
  });

  it('kill -9 of a user’s worker loses nothing: the job waits in TRANSIENT_ERROR and finishes on resume', async () => {
    const target = join(alice.home, 'slow-a.bin');
    const job = await bitsadminJson(alice, ['/create', 'crash-worker'], env);
    const id = job.id as string;
    await bitsadminJson(alice, ['/addfile', id, origin.url('/slow-a.bin'), target], env);
    await bitsadminJson(alice, ['/resume', id], env);
    await waitForJob(alice, id, env, (j) => (j.progress as { bytesTransferred: number }).bytesTransferred > 0);
    const started = [
      ...(daemon?.stderr() ?? '').matchAll(
        new RegExp(`"uid":${alice.uid},"user":"[^"]+","pid":(\\d+),"msg":"worker started"`, 'gu'),
      ),
    ];
    const pid = Number(started.at(-1)?.[1]);
    assert.ok(pid > 0);
    process.kill(pid, 'SIGKILL');
    const waiting = await waitForJob(alice, id, env, (j) => j.state === 'TRANSIENT_ERROR');
    assert.match((waiting.error as { message: string }).message, /worker of uid \d+ ended/u);
    await bitsadminJson(alice, ['/resume', id], env);
    await waitForJob(alice, id, env, (j) => j.state === 'TRANSFERRED');
    await bitsadminJson(alice, ['/complete', id], env);
    assert.equal(sha(readFileSync(target)), sha(body));
    assert.equal(lstatSync(target).uid, alice.uid);
  });

  it('kill -9 of the system bitsd loses no job of any user; a transfer goes on after the restart', async () => {
    const kept = await bitsadminJson(alice, ['/create', 'kept'], env);
    const target = join(bob.home, 'slow-b.bin');
    const job = await bitsadminJson(bob, ['/create', 'crash-daemon'], env);
    const id = job.id as string;
    await bitsadminJson(bob, ['/addfile', id, origin.url('/slow-b.bin'), target], env);
    await bitsadminJson(bob, ['/resume', id], env);
    await waitForJob(bob, id, env, (j) => (j.progress as { bytesTransferred: number }).bytesTransferred > 0);
    daemon?.child.kill('SIGKILL');
    await daemon?.exited;
    daemon = await startSystemDaemon(root);
    const again = await bitsadminJson(alice, ['/info', kept.id as string], env);
    assert.equal(again.displayName, 'kept');
    await waitForJob(bob, id, env, (j) => j.state === 'TRANSFERRED');
    await bitsadminJson(bob, ['/complete', id], env);
    assert.equal(sha(readFileSync(target)), sha(body));
    assert.equal(lstatSync(target).uid, bob.uid);
  });
});
