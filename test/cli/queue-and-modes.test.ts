import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FileServer } from '../helpers/file-server.ts';
import { bitsadmin, body, createdId, jobInError, makeManager } from './helpers.ts';

let server: FileServer;
let dir: string;
before(async () => {
  server = await FileServer.start();
  dir = await mkdtemp(join(tmpdir(), 'bitsadmin-queue-'));
});
after(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

const GUID = /^\{[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\}$/u;

describe('bitsadmin /create and output modes', () => {
  it('/create on a terminal prints the banner and "Created job {GUID}." and the job is SUSPENDED', async () => {
    const m = await makeManager();
    const r = await bitsadmin(m, ['/create', 'myjob'], { isTTY: true });
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^BITSADMIN version 3\.0 \[ openbits \d+\.\d+\.\d+ \]\nBITS administration utility\.\n\n/u);
    assert.match(body(r.stdout), /^Created job \{[0-9A-F-]{36}\}\.\n$/u);
    const job = await m.getJob(createdId(r.stdout));
    assert.equal(job.state, 'SUSPENDED');
    assert.equal(job.type, 'DOWNLOAD');
    assert.equal(job.displayName, 'myjob');
  });

  // Issue 13: every command printed the banner, errors and pipes included.
  it('the banner is left out on a pipe, with /nologo, and before errors', async () => {
    const m = await makeManager();
    const piped = await bitsadmin(m, ['/create', 'a']);
    assert.match(piped.stdout, /^Created job \{[0-9A-F-]{36}\}\.\n$/u);
    const nologo = await bitsadmin(m, ['/nologo', '/create', 'b'], { isTTY: true });
    assert.match(nologo.stdout, /^Created job /u);
    const failed = await bitsadmin(m, ['/getstate', 'nosuchjob'], { isTTY: true });
    assert.equal(failed.code, 1);
    assert.equal(failed.stdout, '');
    assert.match(failed.stderr, /^ERROR: BG_E_NOT_FOUND/u);
  });

  it('-h, --help and --version answer as on Linux', async () => {
    const m = await makeManager();
    for (const flag of ['-h', '--help']) {
      const r = await bitsadmin(m, [flag]);
      assert.equal(r.code, 0, flag);
      assert.match(r.stdout, /^Usage: bitsadmin /u);
    }
    const v = await bitsadmin(m, ['--version']);
    assert.match(v.stdout, /^bitsadmin \(openbits\) \d+\.\d+\.\d+\n$/u);
    const usage = await bitsadmin(m, ['/addfile', '-h']);
    assert.match(usage.stdout, /^Usage: bitsadmin \/addfile <job>/u);
  });

  it('/create /upload and /upload-reply set the type; verbs work without the slash, in any case', async () => {
    const m = await makeManager();
    const up = await bitsadmin(m, ['CREATE', '/UPLOAD', 'up']);
    const reply = await bitsadmin(m, ['-create', '/upload-reply', 'rep']);
    assert.equal((await m.getJob(createdId(up.stdout))).type, 'UPLOAD');
    assert.equal((await m.getJob(createdId(reply.stdout))).type, 'UPLOAD_REPLY');
  });

  it('/rawreturn /create prints only the GUID, with no banner and no line ending', async () => {
    const m = await makeManager();
    const r = await bitsadmin(m, ['/rawreturn', '/create', 'raw']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, GUID);
    assert.equal((await m.getJob(r.stdout)).displayName, 'raw');
  });

  it('--json /create prints exactly one JSON document: the JobInfo', async () => {
    const m = await makeManager();
    const r = await bitsadmin(m, ['--json', '/create', 'j']);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.displayName, 'j');
    assert.equal(doc.state, 'SUSPENDED');
    assert.equal(doc.minimumRetryDelay, 600);
    assert.equal((await m.getJob(doc.id)).id, doc.id);
  });

  it('--json may follow the switch', async () => {
    const m = await makeManager();
    const r = await bitsadmin(m, ['/create', 'j', '--json']);
    assert.equal(JSON.parse(r.stdout).displayName, 'j');
  });
});

describe('bitsadmin /list, /info, /reset', () => {
  it('/list prints one line per job then "Listed N job(s)."', async () => {
    const m = await makeManager();
    const a = await m.createJob('first');
    await m.createJob('second');
    await m.addFile(a.id, 'http://127.0.0.1:9/a.bin', '/tmp/a.bin');
    const r = await bitsadmin(m, ['/list']);
    assert.equal(r.code, 0);
    const lines = body(r.stdout).trimEnd().split('\n');
    assert.equal(lines.length, 4);
    assert.equal(lines[0], `{${a.id.toUpperCase()}} first SUSPENDED 0 / 1 0 / UNKNOWN`);
    assert.match(lines[1] ?? '', /^\{[0-9A-F-]{36}\} second SUSPENDED 0 \/ 0 0 \/ 0$/u);
    assert.equal(lines[2], '');
    assert.equal(lines[3], 'Listed 2 job(s).');
  });

  it('/list on an empty queue says "Listed 0 job(s)."', async () => {
    const r = await bitsadmin(await makeManager(), ['list']);
    assert.equal(body(r.stdout), 'Listed 0 job(s).\n');
  });

  it('/list /verbose prints the verbose block of each job; --json prints the array', async () => {
    const m = await makeManager();
    await m.createJob('v1');
    await m.createJob('v2');
    const r = await bitsadmin(m, ['/list', '/verbose']);
    assert.equal(body(r.stdout).match(/^GUID: /gmu)?.length, 2);
    assert.match(r.stdout, /Listed 2 job\(s\)\.\n$/u);
    const j = await bitsadmin(m, ['--json', '/list', '/allusers']);
    assert.deepEqual(
      JSON.parse(j.stdout).map((x: { displayName: string }) => x.displayName),
      ['v1', 'v2'],
    );
  });

  it('/list /allusers needs an administrator', async () => {
    const m = await makeManager({ isAdmin: false });
    const r = await bitsadmin(m, ['/list', '/allusers']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^ERROR: E_ACCESSDENIED \(0x80070005\) /u);
  });

  it('/wrap and /nowrap are accepted before the switch and change nothing', async () => {
    const m = await makeManager();
    await m.createJob('w');
    const r = await bitsadmin(m, ['/NOWRAP', '/rawreturn', '/getstate', 'w']);
    assert.equal(r.stdout, 'SUSPENDED');
    const t = await bitsadmin(m, ['/wrap', '/getstate', 'w']);
    assert.equal(body(t.stdout), 'SUSPENDED\n');
  });

  it('/list rejects an unknown argument with its usage and exit code 2', async () => {
    const r = await bitsadmin(await makeManager(), ['/list', '/bogus']);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /Invalid argument: unknown switch: \/bogus\nUsage: bitsadmin \/list \[\/allusers\] \[\/verbose\]/u,
    );
    const extra = await bitsadmin(await makeManager(), ['/list', 'extra']);
    assert.equal(extra.code, 2);
    assert.match(extra.stderr, /Invalid argument: too many arguments: extra\n/u);
  });

  it('/info prints the list line; /info /verbose the field list of bitsadmin', async () => {
    const m = await makeManager();
    const job = await m.createJob('infojob');
    await m.addFile(job.id, 'http://127.0.0.1:9/f.bin', '/tmp/f.bin');
    await m.setDescription(job.id, 'a description');
    const short = await bitsadmin(m, ['/info', 'infojob']);
    assert.equal(body(short.stdout), `{${job.id.toUpperCase()}} infojob SUSPENDED 0 / 1 0 / UNKNOWN\n`);
    const r = await bitsadmin(m, ['/info', job.id, '/verbose']);
    assert.equal(r.code, 0);
    const text = body(r.stdout);
    const expected = [
      /^GUID: \{[0-9A-F-]{36}\} DISPLAY: infojob$/mu,
      /^TYPE: DOWNLOAD STATE: SUSPENDED OWNER: \S+$/mu,
      /^PRIORITY: NORMAL FILES: 0 \/ 1 BYTES: 0 \/ UNKNOWN$/mu,
      /^CREATION TIME: \d+\/\d+\/\d{4} \d+:\d\d:\d\d [AP]M MODIFICATION TIME: \d+\/\d+\/\d{4} \d+:\d\d:\d\d [AP]M$/mu,
      /^COMPLETION TIME: UNKNOWN$/mu,
      /^NOTIFY INTERFACE: UNREGISTERED NOTIFICATION FLAGS: 3$/mu,
      /^RETRY DELAY: 600 NO PROGRESS TIMEOUT: 1209600 ERROR COUNT: 0$/mu,
      /^PROXY USAGE: PRECONFIG PROXY LIST: NULL PROXY BYPASS LIST: NULL$/mu,
      /^DESCRIPTION: a description$/mu,
      /^JOB FILES:\n0 \/ UNKNOWN WORKING http:\/\/127\.0\.0\.1:9\/f\.bin -> \/tmp\/f\.bin$/mu,
      /^NOTIFICATION COMMAND LINE: none$/mu,
    ];
    for (const re of expected) assert.match(text, re);
    assert.doesNotMatch(text, /ERROR FILE/u);
  });

  it('/info /verbose shows the ERROR FILE / CODE / CONTEXT lines of a failed job', async () => {
    const m = await makeManager();
    const job = await jobInError(m, server, 'failing', dir);
    const r = await bitsadmin(m, ['/info', 'failing', '/verbose']);
    assert.match(r.stdout, /^TYPE: DOWNLOAD STATE: ERROR /mu);
    assert.ok(
      r.stdout.includes(`ERROR FILE:    ${server.url('/missing.bin')} -> ${job.files[0]?.localName}\n`),
      r.stdout,
    );
    assert.match(r.stdout, /^ERROR CODE: {4}0x80190194 - BG_E_HTTP_ERROR_404: /mu);
    assert.match(
      r.stdout,
      /^ERROR CONTEXT: 0x00000005 - The error occurred while the remote file was being processed\.$/mu,
    );
    assert.match(r.stdout, /^RETRY DELAY: 600 NO PROGRESS TIMEOUT: 1209600 ERROR COUNT: 1$/mu);
  });

  it('/reset cancels every job and prints "{GUID} canceled." lines and the count', async () => {
    const m = await makeManager();
    const a = await m.createJob('a');
    const b = await m.createJob('b');
    const r = await bitsadmin(m, ['/reset']);
    assert.equal(r.code, 0);
    assert.equal(
      body(r.stdout),
      `{${a.id.toUpperCase()}} canceled.\n{${b.id.toUpperCase()}} canceled.\n2 out of 2 jobs canceled.\n`,
    );
    assert.deepEqual(await m.enumJobs(), []);
    const again = await bitsadmin(m, ['--json', '/reset', '/allusers']);
    assert.deepEqual(JSON.parse(again.stdout), { canceled: [], failed: [], total: 0 });
  });
});

describe('bitsadmin help and errors', () => {
  it('no arguments, /help and /? list every switch', async () => {
    const m = await makeManager();
    for (const argv of [[], ['/help'], ['/?']]) {
      const r = await bitsadmin(m, argv);
      assert.equal(r.code, 0);
      for (const s of ['/create', '/addfilewithranges', '/transfer', '/monitor', '/setmaxbandwidth', '/util']) {
        assert.ok(r.stdout.includes(s), `${argv.join(' ')} lists ${s}`);
      }
    }
  });

  it('docs/cli.md documents every switch', async () => {
    const { SWITCH_NAMES } = await import('../../src/cli/run.ts');
    const doc = await readFile(new URL('../../docs/cli.md', import.meta.url), 'utf8');
    assert.ok(SWITCH_NAMES.length >= 60);
    for (const name of SWITCH_NAMES) assert.ok(doc.includes(`\`/${name}`), `docs/cli.md lacks /${name}`);
  });

  it('"/addfile /?" prints the usage of that switch', async () => {
    const r = await bitsadmin(await makeManager(), ['/addfile', '/?']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Usage: bitsadmin \/addfile <job> <remoteURL> <localname>/u);
  });

  it('/examples prints examples', async () => {
    const r = await bitsadmin(await makeManager(), ['/examples']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /bitsadmin \/transfer myDownloadJob/u);
  });

  it('an unknown switch exits 2 with the general usage', async () => {
    const r = await bitsadmin(await makeManager(), ['/frobnicate', 'x']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Invalid argument: unknown switch: \/frobnicate\nUsage: bitsadmin/u);
  });

  it('a failed call prints "ERROR: <name> (0x…) <message>" on stderr and exits 1', async () => {
    const r = await bitsadmin(await makeManager(), ['/getstate', '{00000000-0000-0000-0000-000000000000}']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^ERROR: BG_E_NOT_FOUND \(0x80200001\) /u);
  });

  it('--json on failure prints one error document', async () => {
    const r = await bitsadmin(await makeManager(), ['--json', '/resume', 'nosuchjob']);
    assert.equal(r.code, 1);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.error.name, 'BG_E_NOT_FOUND');
    assert.equal(doc.error.hresult, 0x80200001);
  });

  it('a manager that cannot be opened is reported as E_FAIL with the reason', async () => {
    const { runBitsadmin } = await import('../../src/cli/run.ts');
    const { Capture } = await import('./helpers.ts');
    const stdout = new Capture();
    const stderr = new Capture();
    const code = await runBitsadmin(['/list'], {
      manager: () => Promise.reject(new Error('connect ECONNREFUSED /run/openbits/bitsd.sock')),
      stdout,
      stderr,
      isTTY: false,
    });
    assert.equal(code, 1);
    assert.match(stderr.text, /^ERROR: E_FAIL \(0x80004005\) connect ECONNREFUSED/u);
  });
});
