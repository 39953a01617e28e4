import assert from 'node:assert/strict';
import { lstatSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { systemUserSocket } from '../../src/api/paths.ts';
import {
  bitsadminError,
  bitsadminJson,
  runNodeAs,
  type SystemDaemon,
  startSystemDaemon,
  systemRoot,
  type TestUser,
  TestUsers,
  teardown,
} from './helpers.ts';

// The real bitsd --system as root, and the real bitsadmin as throwaway users (useradd/runuser).
describe('bitsd --system: users, sockets and ownership', () => {
  const users = new TestUsers();
  const root = systemRoot();
  let daemon: SystemDaemon | undefined;
  let alice: TestUser;
  let bob: TestUser;
  let admin: TestUser;
  let env: Record<string, string>;

  before(async () => {
    const admins = users.group('adm');
    alice = users.user('a', root);
    bob = users.user('b', root);
    admin = users.user('c', root, [admins]);
    daemon = await startSystemDaemon(root, [`--admin-group=${admins}`]);
    env = daemon.env;
  });

  after(() => teardown({ daemon, users, root }));

  it('gives each user a socket of their own, 0600, that nobody else can open', async () => {
    const job = await bitsadminJson(alice, ['/create', 'alice-job'], env);
    assert.equal(job.owner, String(alice.uid));
    const socket = systemUserSocket(daemon?.paths as NonNullable<SystemDaemon>['paths'], alice.uid);
    const st = lstatSync(socket);
    assert.ok(st.isSocket());
    assert.equal(st.uid, alice.uid);
    assert.equal(st.mode & 0o777, 0o600);
    const folder = lstatSync(daemon?.paths.usersDir as string);
    assert.equal(folder.uid, 0);
    assert.equal(folder.mode & 0o777, 0o755);
    // Bob pointed at Alice's socket: the kernel refuses the connection.
    const probe = `require('node:net').connect(${JSON.stringify(socket)}).on('connect', () => { console.log('connected'); process.exit(0); }).on('error', (e) => { console.log(e.code); process.exit(0); });`;
    const r = await runNodeAs(bob, ['-e', probe], env);
    assert.equal(r.stdout.trim(), 'EACCES');
  });

  it('keeps users apart: another user cannot see, change or cancel a job (BG_E_NOT_FOUND), nor list all users', async () => {
    const job = await bitsadminJson(alice, ['/create', 'private'], env);
    const id = job.id as string;
    const bobs = (await bitsadminJson(bob, ['/list'], env)) as unknown as Array<{ id: string }>;
    assert.ok(!bobs.some((j) => j.id === id));
    assert.equal(await bitsadminError(bob, ['/info', id], env), 'BG_E_NOT_FOUND');
    assert.equal(await bitsadminError(bob, ['/cancel', id], env), 'BG_E_NOT_FOUND');
    assert.equal(await bitsadminError(bob, ['/setdisplayname', id, 'mine'], env), 'BG_E_NOT_FOUND');
    assert.equal(await bitsadminError(bob, ['/takeownership', id], env), 'BG_E_NOT_FOUND');
    assert.equal(await bitsadminError(bob, ['/list', '/allusers'], env), 'E_ACCESSDENIED');
    assert.equal(
      await bitsadminError(bob, ['/util', '/setpolicy', 'quotas.maxJobsPerUser', '100000'], env),
      'E_ACCESSDENIED',
    );
    // Still Alice's, unchanged.
    const again = await bitsadminJson(alice, ['/info', id], env);
    assert.equal(again.displayName, 'private');
    assert.equal(again.state, 'SUSPENDED');
  });

  it('lets root and the admin group see every job; takeownership moves one and strips its credentials', async () => {
    const job = await bitsadminJson(alice, ['/create', 'to-take'], env);
    const id = job.id as string;
    await bitsadminJson(alice, ['/setcredentials', id, 'SERVER', 'BASIC', 'alice', 'secret'], env);
    await bitsadminJson(alice, ['/setcustomheaders', id, 'X-Alice: 1'], env);
    for (const who of [null, admin]) {
      const all = (await bitsadminJson(who, ['/list', '/allusers'], env)) as unknown as Array<{ id: string }>;
      assert.ok(
        all.some((j) => j.id === id),
        `${who?.name ?? 'root'} lists Alice's job`,
      );
    }
    // An administrator may change another user's job (BITS: admins manage every job).
    await bitsadminJson(admin, ['/setdescription', id, 'seen by admin'], env);
    await bitsadminJson(admin, ['/takeownership', id], env);
    const taken = await bitsadminJson(admin, ['/info', id], env);
    assert.equal(taken.owner, String(admin.uid));
    assert.deepEqual(taken.credentials, []);
    assert.equal(taken.hasCustomHeaders, false);
    assert.equal(await bitsadminError(alice, ['/info', id], env), 'BG_E_NOT_FOUND');
  });

  it('enforces the machine policy: only administrators change it; quotas hold per user and per machine', async () => {
    await bitsadminJson(null, ['/util', '/setpolicy', 'quotas.maxJobsPerUser', '3'], env);
    await bitsadminJson(null, ['/util', '/setpolicy', 'quotas.maxJobsPerMachine', '6'], env);
    // Alice has 2 jobs in the queue so far (the taken one is the admin's now): one more fits.
    await bitsadminJson(alice, ['/create', 'fourth'], env);
    assert.equal(await bitsadminError(alice, ['/create', 'fifth'], env), 'BG_E_TOO_MANY_JOBS_PER_USER');
    // Bob's quota is his own; the machine's fills up across users: 3 + 1 (admin's) + 2 = 6.
    await bitsadminJson(bob, ['/create', 'bob-1'], env);
    await bitsadminJson(bob, ['/create', 'bob-2'], env);
    assert.equal(await bitsadminError(bob, ['/create', 'bob-3'], env), 'BG_E_TOO_MANY_JOBS_PER_MACHINE');
    // Administrators are exempt, as in BITS.
    await bitsadminJson(null, ['/create', 'root-job'], env);
    await bitsadminJson(null, ['/util', '/setpolicy', 'quotas.maxJobsPerUser', 'null'], env);
    await bitsadminJson(null, ['/util', '/setpolicy', 'quotas.maxJobsPerMachine', 'null'], env);
    const policy = lstatSync(daemon?.paths.configPath as string);
    assert.equal(policy.uid, 0);
    assert.equal(policy.mode & 0o022, 0);
  });

  it('answers a hello for an unknown uid with E_INVALIDARG and makes no socket', async () => {
    const { sayHello } = await import('../../src/client/system-hello.ts');
    await assert.rejects(
      sayHello(daemon?.paths as SystemDaemon['paths'], 0x7ffffff0),
      (err: Error) => err.name === 'E_INVALIDARG',
    );
  });
});
