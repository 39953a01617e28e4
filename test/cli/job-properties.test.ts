import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FileServer } from '../helpers/file-server.ts';
import { bitsadmin, body, jobInError, makeManager } from './helpers.ts';

let server: FileServer;
let dir: string;
before(async () => {
  server = await FileServer.start();
  dir = await mkdtemp(join(tmpdir(), 'bitsadmin-props-'));
});
after(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

const URL_A = 'http://127.0.0.1:9/a.bin';

describe('bitsadmin getters', () => {
  it('each getter prints its value after the banner, bare with /rawreturn, typed with --json', async () => {
    const m = await makeManager();
    const job = await m.createJob('props');
    await m.addFile(job.id, URL_A, '/tmp/props-a.bin');
    const info = await m.getJob(job.id);
    // [switch, text, json]
    const cases: Array<[string, string, unknown]> = [
      ['getstate', 'SUSPENDED', 'SUSPENDED'],
      ['gettype', 'DOWNLOAD', 'DOWNLOAD'],
      ['getowner', info.owner, info.owner],
      ['getbytestotal', 'UNKNOWN', -1],
      ['getbytestransferred', '0', 0],
      ['getfilestotal', '1', 1],
      ['getfilestransferred', '0', 0],
      ['getcompletiontime', 'UNKNOWN', null],
      ['geterrorcount', '0', 0],
      ['getpriority', 'NORMAL', 'NORMAL'],
      ['getdisplayname', 'props', 'props'],
      ['getdescription', '', ''],
      ['getnotifyflags', '3', 3],
      ['getnotifyinterface', 'UNREGISTERED', 'UNREGISTERED'],
      ['getnotifycmdline', 'none', null],
      ['getminretrydelay', '600', 600],
      ['getnoprogresstimeout', '1209600', 1209600],
      ['getmaxdownloadtime', '7776000', 7776000],
      ['getproxyusage', 'PRECONFIG', 'PRECONFIG'],
      ['getproxylist', 'NULL', null],
      ['getproxybypasslist', 'NULL', null],
      ['getsecurityflags', '0x0000', 0],
      ['getmaxbandwidth', '0', 0],
      ['getmaxconnections', '1', 1],
      ['getcustomheaders', 'NULL', null],
    ];
    for (const [name, text, json] of cases) {
      const t = await bitsadmin(m, [`/${name}`, 'props']);
      assert.equal(t.code, 0, `${name}: ${t.stderr}`);
      assert.equal(body(t.stdout), `${text}\n`, name);
      const raw = await bitsadmin(m, ['/rawreturn', `/${name}`, 'props']);
      assert.equal(raw.stdout, text, `${name} /rawreturn`);
      const j = await bitsadmin(m, ['--json', `/${name}`, 'props']);
      assert.deepEqual(JSON.parse(j.stdout), json, `${name} --json`);
    }
  });

  it('/getcreationtime and /getmodificationtime print bitsadmin-style local times; --json epoch ms', async () => {
    const m = await makeManager();
    const job = await m.createJob('times');
    for (const name of ['getcreationtime', 'getmodificationtime']) {
      const r = await bitsadmin(m, ['/rawreturn', `/${name}`, 'times']);
      assert.match(r.stdout, /^\d{1,2}\/\d{1,2}\/\d{4} \d{1,2}:\d\d:\d\d [AP]M$/u, name);
    }
    const j = await bitsadmin(m, ['--json', '/getcreationtime', 'times']);
    assert.equal(JSON.parse(j.stdout), job.times.creationTime);
  });

  it('/geterror without an error is BG_E_ERROR_INFORMATION_UNAVAILABLE; with one it prints the three lines', async () => {
    const m = await makeManager();
    await m.createJob('fine');
    const none = await bitsadmin(m, ['/geterror', 'fine']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /^ERROR: BG_E_ERROR_INFORMATION_UNAVAILABLE \(0x8020000f\)/u);
    const job = await jobInError(m, server, 'err', dir);
    const r = await bitsadmin(m, ['/geterror', 'err']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      body(r.stdout).split('\n')[0],
      `ERROR FILE:    ${server.url('/missing.bin')} -> ${job.files[0]?.localName}`,
    );
    assert.match(
      body(r.stdout),
      /\nERROR CODE: {4}0x80190194 - BG_E_HTTP_ERROR_404: .*\nERROR CONTEXT: 0x00000005 - /u,
    );
    const j = await bitsadmin(m, ['--json', '/geterror', 'err']);
    assert.equal(JSON.parse(j.stdout).name, 'BG_E_HTTP_ERROR_404');
    assert.equal((await bitsadmin(m, ['/rawreturn', '/geterrorcount', 'err'])).stdout, '1');
  });

  it('upload-reply getters: /getreplyfilename, /getreplyprogress, /getreplydata', async () => {
    const m = await makeManager();
    await m.createJob('reply', 'UPLOAD_REPLY');
    const name = await bitsadmin(m, ['/rawreturn', '/getreplyfilename', 'reply']);
    assert.equal(name.code, 0, name.stderr);
    assert.equal(name.stdout, 'NULL');
    const progress = await bitsadmin(m, ['/rawreturn', '/getreplyprogress', 'reply']);
    assert.equal(progress.code, 0, progress.stderr);
    assert.match(progress.stdout, /^\d+ \/ (\d+|UNKNOWN)$/u);
    const data = await bitsadmin(m, ['/getreplydata', 'reply']);
    // Before TRANSFERRED the reply is not available.
    assert.equal(data.code, 1);
    assert.match(data.stderr, /BG_E_INVALID_STATE/u);
  });

  it('upload-reply getters on a download job are E_NOTIMPL', async () => {
    const m = await makeManager();
    await m.createJob('dl');
    const r = await bitsadmin(m, ['/getreplyfilename', 'dl']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^ERROR: E_NOTIMPL/u);
  });
});

describe('bitsadmin setters', () => {
  it('/setpriority, /setdisplayname, /setdescription change the job', async () => {
    const m = await makeManager();
    const job = await m.createJob('s1');
    assert.equal((await bitsadmin(m, ['/setpriority', 's1', 'high'])).code, 0);
    assert.equal((await bitsadmin(m, ['/setdescription', 's1', 'nightly build'])).code, 0);
    const r = await bitsadmin(m, ['/setdisplayname', 's1', 'renamed']);
    assert.equal(body(r.stdout), 'Display name set to renamed.\n');
    const now = await m.getJob(job.id);
    assert.equal(now.priority, 'HIGH');
    assert.equal(now.description, 'nightly build');
    assert.equal(now.displayName, 'renamed');
  });

  it('/setpriority with an unknown priority prints usage and exits 2', async () => {
    const m = await makeManager();
    const job = await m.createJob('s2');
    const r = await bitsadmin(m, ['/setpriority', 's2', 'urgent']);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /priority must be one of FOREGROUND, HIGH, NORMAL, LOW.*\nUsage: bitsadmin \/setpriority <job>/su,
    );
    assert.equal((await m.getJob(job.id)).priority, 'NORMAL');
  });

  it('/setnotifyflags takes decimal or hex; an unsupported bit is E_NOTIMPL', async () => {
    const m = await makeManager();
    const job = await m.createJob('nf');
    assert.equal((await bitsadmin(m, ['/setnotifyflags', 'nf', '0x1'])).code, 0);
    assert.equal((await m.getJob(job.id)).notifyFlags, 1);
    const bad = await bitsadmin(m, ['/setnotifyflags', 'nf', '1024']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^ERROR: E_NOTIMPL/u);
    assert.equal((await bitsadmin(m, ['/setnotifyflags', 'nf', 'lots'])).code, 2);
  });

  it('/setnotifycmdline sets program and parameters; NULL clears', async () => {
    const m = await makeManager();
    const job = await m.createJob('cmd');
    const r = await bitsadmin(m, ['/setnotifycmdline', 'cmd', '/bin/echo', '/bin/echo done']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((await m.getJob(job.id)).notifyCmdLine, { program: '/bin/echo', parameters: '/bin/echo done' });
    const shown = await bitsadmin(m, ['/getnotifycmdline', 'cmd']);
    assert.equal(body(shown.stdout), "'/bin/echo' /bin/echo done\n");
    assert.equal((await bitsadmin(m, ['/setnotifycmdline', 'cmd', 'NULL', 'NULL'])).code, 0);
    assert.equal((await m.getJob(job.id)).notifyCmdLine, null);
  });

  it('/setminretrydelay, /setnoprogresstimeout, /setmaxdownloadtime take seconds', async () => {
    const m = await makeManager();
    const job = await m.createJob('secs');
    assert.equal((await bitsadmin(m, ['/setminretrydelay', 'secs', '60'])).code, 0);
    assert.equal((await bitsadmin(m, ['/setnoprogresstimeout', 'secs', '3600'])).code, 0);
    const r = await bitsadmin(m, ['/setmaxdownloadtime', 'secs', '86400']);
    assert.equal(body(r.stdout), 'Maximum download time set to 86400.\n');
    const now = await m.getJob(job.id);
    assert.equal(now.minimumRetryDelay, 60);
    assert.equal(now.noProgressTimeout, 3600);
    assert.equal(now.maximumDownloadTime, 86400);
    assert.equal((await bitsadmin(m, ['/setminretrydelay', 'secs', '-5'])).code, 2);
    assert.equal((await bitsadmin(m, ['/setnoprogresstimeout', 'secs'])).code, 2);
  });

  it('/setproxysettings OVERRIDE with lists, then NO_PROXY; the getters show them', async () => {
    const m = await makeManager();
    const job = await m.createJob('proxy');
    const r = await bitsadmin(m, ['/setproxysettings', 'proxy', 'override', 'http://127.0.0.1:3128', '<local>']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((await m.getJob(job.id)).proxy, {
      usage: 'OVERRIDE',
      proxyList: 'http://127.0.0.1:3128',
      bypassList: '<local>',
    });
    assert.equal((await bitsadmin(m, ['/rawreturn', '/getproxylist', 'proxy'])).stdout, 'http://127.0.0.1:3128');
    assert.equal((await bitsadmin(m, ['/rawreturn', '/getproxybypasslist', 'proxy'])).stdout, '<local>');
    assert.equal((await bitsadmin(m, ['/setproxysettings', 'proxy', 'NO_PROXY'])).code, 0);
    assert.equal((await m.getJob(job.id)).proxy.usage, 'NO_PROXY');
    const missing = await bitsadmin(m, ['/setproxysettings', 'proxy', 'OVERRIDE']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^ERROR: E_INVALIDARG/u);
    assert.equal((await bitsadmin(m, ['/setproxysettings', 'proxy', 'SOMETIMES'])).code, 2);
  });

  it('/setcredentials and /removecredentials (passwords never shown)', async () => {
    const m = await makeManager();
    const job = await m.createJob('creds');
    const r = await bitsadmin(m, ['/setcredentials', 'creds', 'server', 'basic', 'alice', 's3cret']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((await m.getJob(job.id)).credentials, [{ target: 'SERVER', scheme: 'BASIC', userName: 'alice' }]);
    const j = await bitsadmin(m, ['--json', '/info', 'creds']);
    assert.ok(!j.stdout.includes('s3cret'));
    const rm = await bitsadmin(m, ['/removecredentials', 'creds', 'SERVER', 'BASIC']);
    assert.equal(body(rm.stdout), 'SERVER BASIC credentials removed.\n');
    assert.deepEqual((await m.getJob(job.id)).credentials, []);
    const none = await bitsadmin(m, ['/removecredentials', 'creds', 'SERVER', 'BASIC']);
    assert.equal(body(none.stdout), 'No SERVER BASIC credentials to remove.\n');
    assert.equal((await bitsadmin(m, ['/setcredentials', 'creds', 'CLIENT', 'BASIC', 'a', 'b'])).code, 2);
    assert.equal((await bitsadmin(m, ['/setcredentials', 'creds', 'SERVER', 'KERBEROS', 'a', 'b'])).code, 2);
  });

  it('/setcustomheaders, /getcustomheaders, /makecustomheaderswriteonly', async () => {
    const m = await makeManager();
    const job = await m.createJob('hdr');
    const r = await bitsadmin(m, ['/setcustomheaders', 'hdr', 'X-Build: 42', 'X-Channel: beta']);
    assert.equal(r.code, 0, r.stderr);
    const got = await bitsadmin(m, ['/getcustomheaders', 'hdr']);
    assert.equal(body(got.stdout), 'X-Build: 42\nX-Channel: beta\n');
    assert.deepEqual(JSON.parse((await bitsadmin(m, ['--json', '/getcustomheaders', 'hdr'])).stdout), [
      'X-Build: 42',
      'X-Channel: beta',
    ]);
    const bad = await bitsadmin(m, ['/setcustomheaders', 'hdr', 'X-Evil: a\r\nInjected: b']);
    assert.equal(bad.code, 1);
    assert.equal((await bitsadmin(m, ['/makecustomheaderswriteonly', 'hdr'])).code, 0);
    const hidden = await bitsadmin(m, ['/getcustomheaders', 'hdr']);
    assert.equal(hidden.code, 1);
    assert.match(hidden.stderr, /^ERROR: E_ACCESSDENIED/u);
    assert.equal((await m.getJob(job.id)).hasCustomHeaders, true);
  });

  it('/setcustomheaders NULL removes the headers', async () => {
    const m = await makeManager();
    const job = await m.createJob('hdr2');
    await m.setCustomHeaders(job.id, ['X-A: 1']);
    assert.equal((await bitsadmin(m, ['/setcustomheaders', 'hdr2', 'NULL'])).code, 0);
    assert.equal((await m.getJob(job.id)).hasCustomHeaders, false);
  });

  it('/setsecurityflags takes decimal or 0x-hex; /getsecurityflags prints hex', async () => {
    const m = await makeManager();
    const job = await m.createJob('sec');
    assert.equal((await bitsadmin(m, ['/setsecurityflags', 'sec', '0x0200'])).code, 0);
    assert.equal((await m.getJob(job.id)).securityFlags, 0x200);
    assert.equal((await bitsadmin(m, ['/rawreturn', '/getsecurityflags', 'sec'])).stdout, '0x0200');
    assert.equal((await bitsadmin(m, ['/setsecurityflags', 'sec', '2'])).code, 0);
    assert.equal((await m.getJob(job.id)).securityFlags, 2);
  });

  it('/setreplyfilename on an upload-reply job; on a download job E_NOTIMPL', async () => {
    const m = await makeManager();
    const job = await m.createJob('rf', 'UPLOAD_REPLY');
    const r = await bitsadmin(m, ['/setreplyfilename', 'rf', '/tmp/reply.bin']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await m.getReplyFileName(job.id), '/tmp/reply.bin');
    await m.createJob('rfd');
    const d = await bitsadmin(m, ['/setreplyfilename', 'rfd', '/tmp/reply.bin']);
    assert.equal(d.code, 1);
    assert.match(d.stderr, /E_NOTIMPL/u);
  });

  it('/setmaxbandwidth accepts plain numbers and k/M suffixes (binary)', async () => {
    const m = await makeManager();
    const job = await m.createJob('bw');
    for (const [arg, bps] of [
      ['65536', 65536],
      ['512k', 512 * 1024],
      ['10M', 10 * 1024 * 1024],
      ['1.5m', 1.5 * 1024 * 1024],
      ['0', 0],
    ] as const) {
      const r = await bitsadmin(m, ['/setmaxbandwidth', 'bw', arg]);
      assert.equal(r.code, 0, `${arg}: ${r.stderr}`);
      assert.equal((await m.getJob(job.id)).maxBandwidth, bps, arg);
    }
    const bad = await bitsadmin(m, ['/setmaxbandwidth', 'bw', 'fast']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Usage: bitsadmin \/setmaxbandwidth <job> <bytes_per_second>/u);
  });

  it('/setmaxconnections takes 1 to 16; anything else prints the usage; /getmaxconnections shows it', async () => {
    const m = await makeManager();
    const job = await m.createJob('conn');
    const r = await bitsadmin(m, ['/setmaxconnections', 'conn', '8']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await m.getJob(job.id)).maxConnections, 8);
    assert.equal((await bitsadmin(m, ['/rawreturn', '/getmaxconnections', 'conn'])).stdout, '8');
    for (const bad of ['0', '17', 'four', '2.5']) {
      const b = await bitsadmin(m, ['/setmaxconnections', 'conn', bad]);
      assert.equal(b.code, 2, bad);
      assert.match(b.stderr, /Usage: bitsadmin \/setmaxconnections <job> <1-16>/u);
    }
    assert.equal((await m.getJob(job.id)).maxConnections, 8);
  });

  it('/setdynamic true|false before the first resume', async () => {
    const m = await makeManager();
    const job = await m.createJob('dyn');
    assert.equal((await bitsadmin(m, ['/setdynamic', 'dyn', 'true'])).code, 0);
    assert.equal((await m.getJob(job.id)).dynamicContent, true);
    assert.equal((await bitsadmin(m, ['/setdynamic', 'dyn', 'false'])).code, 0);
    assert.equal((await m.getJob(job.id)).dynamicContent, false);
    assert.equal((await bitsadmin(m, ['/setdynamic', 'dyn', 'maybe'])).code, 2);
  });

  it('a setter prints the changed JobInfo with --json', async () => {
    const m = await makeManager();
    await m.createJob('jj');
    const r = await bitsadmin(m, ['--json', '/setpriority', 'jj', 'LOW']);
    assert.equal(JSON.parse(r.stdout).priority, 'LOW');
  });

  it('a setter on a cancelled job fails: BG_E_NOT_FOUND by GUID', async () => {
    const m = await makeManager();
    const job = await m.createJob('late');
    await m.cancel(job.id);
    const r = await bitsadmin(m, ['/setdescription', job.id, 'x']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /BG_E_NOT_FOUND/u);
  });
});
