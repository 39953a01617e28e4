import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type DaemonProcess, spawnDaemon, stopDaemon } from '../daemon/helpers.ts';
import { cli, cliOk, createJob, scratchDir } from './helpers.ts';

// Issue 12 item 12: switches openbits does not know are errors wherever they stand, and the
// Windows switches it does not implement say so (E_NOTIMPL) instead of "unknown switch".

/** Windows bitsadmin's switches openbits does not implement (bits-client.md §12). */
const NOT_IMPLEMENTED = [
  'setaclflags',
  'getaclflags',
  'setclientcertificatebyid',
  'setclientcertificatebyname',
  'getclientcertificate',
  'removeclientcertificate',
  'sethttpmethod',
  'gethttpmethod',
  'setpeercachingflags',
  'getpeercachingflags',
  'sethelpertoken',
  'sethelpertokenflags',
  'gethelpertokenflags',
  'gethelpertokensid',
  'setvalidationstate',
  'getvalidationstate',
  'cache',
  'peercaching',
  'peers',
];

describe('e2e: bitsadmin switches', () => {
  let home: Awaited<ReturnType<typeof scratchDir>>;
  let daemon: DaemonProcess | undefined;

  before(async () => {
    home = await scratchDir('openbits-e2e-switches-home-');
    daemon = await spawnDaemon(home.path);
  });
  after(async () => {
    if (daemon !== undefined) await stopDaemon(daemon);
    await home?.remove();
  });

  it('/create /bogus is an unknown switch (exit 2) and creates no job; so is a switch where a job or a URL belongs', async () => {
    for (const args of [
      ['/create', '/bogus'],
      ['/create', '/bogus', 'named'],
      ['/create', '/upload', '/bogus'],
    ]) {
      const r = await cli(home.path, args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /^Invalid argument: unknown switch: \/bogus\nUsage: bitsadmin \/create /u);
    }
    assert.match(await cliOk(home.path, ['/list']), /^Listed 0 job\(s\)\.$/mu);

    const job = await createJob(home.path, 'real');
    for (const args of [
      ['/getstate', '/bogus'],
      ['/setpriority', '/bogus', 'HIGH'],
      ['/info', job, '/bogus'],
      ['/transfer', '/bogus', 'http://127.0.0.1:9/x', join(home.path, 'x')],
      ['/transfer', 'named', '/bogus', 'http://127.0.0.1:9/x', join(home.path, 'x')],
    ]) {
      const r = await cli(home.path, args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /^Invalid argument: unknown switch: \/bogus\nUsage: bitsadmin \/[a-z]+ /u);
    }
    assert.match(await cliOk(home.path, ['/list']), /^Listed 1 job\(s\)\.$/mu);
  });

  it('the 19 Windows switches openbits does not implement answer E_NOTIMPL saying they are not supported', async () => {
    const job = await createJob(home.path, 'acl');
    const results = await Promise.all(NOT_IMPLEMENTED.map((name) => cli(home.path, [`/${name}`, job, 'x'])));
    NOT_IMPLEMENTED.forEach((name, i) => {
      const r = results[i];
      assert.equal(r?.code, 1, `/${name}: ${r?.stdout}${r?.stderr}`);
      assert.match(
        r?.stderr ?? '',
        new RegExp(
          `^ERROR: E_NOTIMPL \\(0x80004001\\) /${name} is not supported by openbits \\(E_NOTIMPL\\): .+\\n$`,
          'u',
        ),
      );
    });
    // The name Windows documents the ACL page under works too.
    const alias = await cli(home.path, ['/setaclflag', job, 'og']);
    assert.match(alias.stderr, /^ERROR: E_NOTIMPL \(0x80004001\) \/setaclflags is not supported/u);
  });

  it('/help SWITCH for one of them says it is not supported; /help names all 19', async () => {
    const one = await cliOk(home.path, ['/help', 'sethttpmethod']);
    assert.equal(
      one,
      'Usage: bitsadmin /sethttpmethod <job> <method>\n  Not supported by openbits (E_NOTIMPL): custom HTTP methods (IBackgroundCopyJobHttpOptions2) are not implemented\n',
    );
    const usage = await cliOk(home.path, ['/peers', '/?']);
    assert.match(usage, /^Usage: bitsadmin \/peers .*\n {2}Not supported by openbits \(E_NOTIMPL\): peer caching/u);
    const all = await cliOk(home.path, ['/help']);
    assert.ok(all.includes(`Not supported (E_NOTIMPL): ${NOT_IMPLEMENTED.map((n) => `/${n}`).join(', ')}.`), all);
  });
});
