import assert from 'node:assert/strict';
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
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
  let service: TestUser;
  let env: Record<string, string>;

  before(async () => {
    const admins = users.group('adm');
    alice = users.user('a', root);
    bob = users.user('b', root);
    admin = users.user('c', root, [admins]);
    service = users.user('s', root, [], { system: true });
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
    // An administrator may change another user's job (BITS: admins manage every job)…
    await bitsadminJson(admin, ['/setdescription', id, 'seen by admin'], env);
    // …but not what is the owner's alone: headers, credentials, and what runs or is sent as the
    // owner (the notify command line, webhooks).
    for (const args of [
      ['/getcustomheaders', id],
      ['/setcustomheaders', id, 'X-Admin: 1'],
      ['/setcredentials', id, 'SERVER', 'BASIC', 'admin', 'pw'],
      ['/setnotifycmdline', id, '/bin/sh', '/bin/sh -c id'],
    ]) {
      assert.equal(await bitsadminError(admin, args, env), 'E_ACCESSDENIED', args.join(' '));
    }
    assert.equal((await bitsadminJson(alice, ['/info', id], env)).notifyCmdLine, null);
    await bitsadminJson(admin, ['/takeownership', id], env);
    const taken = await bitsadminJson(admin, ['/info', id], env);
    assert.equal(taken.owner, String(admin.uid));
    assert.deepEqual(taken.credentials, []);
    assert.equal(taken.hasCustomHeaders, false);
    assert.equal(await bitsadminError(alice, ['/info', id], env), 'BG_E_NOT_FOUND');
    // The owner now, the administrator sets them.
    await bitsadminJson(admin, ['/setnotifycmdline', id, '/bin/true', 'NULL'], env);
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

  it('§18.15: files and ranges quotas bind users; administrators and service accounts are exempt', async () => {
    const quota = (key: string, value: string) =>
      bitsadminJson(null, ['/util', '/setpolicy', `quotas.${key}`, value], env);
    await quota('maxFilesPerJob', '1');
    await quota('maxRangesPerFile', '1');
    try {
      const url = (n: number) => `http://127.0.0.1:9/f${n}.bin`;
      for (const who of [alice, admin, service]) {
        const id = (await bitsadminJson(who, ['/create', 'quota'], env)).id as string;
        await bitsadminJson(who, ['/addfile', id, url(1), join(who.home, 'f1.bin')], env);
        const second = ['/addfile', id, url(2), join(who.home, 'f2.bin')];
        if (who !== alice) {
          await bitsadminJson(who, second, env);
          continue;
        }
        assert.equal(await bitsadminError(who, second, env), 'BG_E_TOO_MANY_FILES_IN_JOB');
        await quota('maxFilesPerJob', 'null');
        const ranges = ['/addfilewithranges', id, url(3), join(who.home, 'f3.bin'), '0:10,20:10'];
        assert.equal(await bitsadminError(who, ranges, env), 'BG_E_TOO_MANY_RANGES_IN_FILE');
        await quota('maxFilesPerJob', '1');
      }
      // A service account is exempt from the job quota too, and still sees only its own jobs.
      await quota('maxJobsPerUser', '1');
      for (let i = 0; i < 3; i++) await bitsadminJson(service, ['/create', `svc-${i}`], env);
      assert.equal(await bitsadminError(alice, ['/create', 'one-too-many'], env), 'BG_E_TOO_MANY_JOBS_PER_USER');
      assert.equal(await bitsadminError(service, ['/list', '/allusers'], env), 'E_ACCESSDENIED');
      const own = (await bitsadminJson(service, ['/list'], env)) as unknown as Array<{ owner: string }>;
      assert.ok(own.length >= 4 && own.every((j) => j.owner === String(service.uid)));
    } finally {
      for (const key of ['maxFilesPerJob', 'maxRangesPerFile', 'maxJobsPerUser']) await quota(key, 'null');
    }
  });

  it('answers a hello for an unknown uid with E_INVALIDARG and makes no socket', async () => {
    const { sayHello } = await import('../../src/client/system-hello.ts');
    await assert.rejects(
      sayHello(daemon?.paths as SystemDaemon['paths'], 0x7ffffff0),
      (err: Error) => err.name === 'E_INVALIDARG',
    );
  });
});
