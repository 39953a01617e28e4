import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BitsManager } from '../../src/api/bits-manager.ts';
import { nameFromContentDisposition, nameFromUrl } from '../../src/cli/openbits/file-name.ts';
import type { OpenbitsIo } from '../../src/cli/openbits/io.ts';
import { runOpenbits } from '../../src/cli/openbits/run.ts';
import type { BitsClient } from '../../src/client/index.ts';
import { currentUmask } from '../../src/transfer/commit-file.ts';
import { FileServer, sha256 } from '../helpers/file-server.ts';
import { type OriginServer, serving, startOrigin } from '../helpers/origin-server.ts';
import { Capture, makeManager } from './helpers.ts';

// `openbits` verbs end to end: the real in-process manager downloading from real local HTTP
// servers, the command's output captured.

let server: FileServer;
let origin: OriginServer;
let dir: string;
before(async () => {
  server = await FileServer.start();
  origin = await startOrigin();
  dir = await mkdtemp(join(tmpdir(), 'openbits-verbs-'));
});
after(async () => {
  await server.close();
  await origin.close();
  await rm(dir, { recursive: true, force: true });
});

/** The in-process manager as the client the verbs expect (close is the test's business). */
function asClient(m: BitsManager): BitsClient {
  const extra: Record<string | symbol, unknown> = {
    socketPath: '(in-process)',
    status: async () => ({ service: 'bitsd', version: 'test', pid: process.pid, startedAt: Date.now() }),
    close: async () => undefined,
  };
  return new Proxy(m, {
    get(target, key) {
      if (key in extra) return extra[key];
      const value = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  }) as BitsClient;
}

async function openbits(
  m: BitsManager,
  argv: readonly string[],
  extra: Partial<OpenbitsIo> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await runOpenbits(argv, {
    connect: () => asClient(m),
    stdout,
    stderr,
    isTTY: false,
    cwd: dir,
    env: {},
    self: ['/usr/bin/node', '/opt/openbits/bin/openbits.js'],
    ...extra,
  });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

describe('openbits get', () => {
  it('saves into the current folder under the URL’s name, follows the umask, and ends with a summary', async () => {
    const m = await makeManager();
    const data = server.add('/dl/report%20one.pdf', 200_000);
    const cwd = join(dir, 'get-cwd');
    await mkdir(cwd);
    const r = await openbits(m, ['get', server.url('/dl/report%20one.pdf')], { cwd });
    assert.equal(r.code, 0, r.stderr);
    const file = join(cwd, 'report one.pdf');
    assert.equal(sha256(await readFile(file)), sha256(data));
    // Issue 13: published files were always 0600; now 0666 & ~umask, as curl creates them.
    assert.equal(statSync(file).mode & 0o777, 0o666 & ~currentUmask());
    assert.match(r.stdout, /^Transferred 195 KiB \(1 file\) in \d+:\d\d at [\d.]+ (KiB|MiB)\/s\.$/mu);
    assert.deepEqual(await m.enumJobs(), [], 'the job was completed and left the queue');
  });

  it('-o FILE is relative to the current folder, -P DIR takes several URLs, --private publishes 0600', async () => {
    const m = await makeManager();
    const a = server.add('/a.bin', 10_000);
    const b = server.add('/b.bin', 20_000);
    const one = await openbits(m, ['get', '-o', 'sub/named.bin', '--private', '-q', server.url('/a.bin')], {
      cwd: dir,
    }).catch((e) => e);
    // sub/ does not exist: a clear BITS error, no job left behind.
    assert.equal(one.code, 1);
    assert.match(one.stderr, /^openbits: ERROR: ERROR_PATH_NOT_FOUND \(0x80070003\)/u);
    assert.deepEqual(await m.enumJobs(), []);
    await mkdir(join(dir, 'sub'), { recursive: true });
    const ok = await openbits(m, ['get', '-o', 'sub/named.bin', '--private', '-q', server.url('/a.bin')]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, '', '-q prints nothing on success');
    assert.equal(sha256(await readFile(join(dir, 'sub', 'named.bin'))), sha256(a));
    assert.equal(statSync(join(dir, 'sub', 'named.bin')).mode & 0o777, 0o600);
    const many = await openbits(m, ['get', '-P', 'sub', server.url('/a.bin'), server.url('/b.bin')]);
    assert.equal(many.code, 0, many.stderr);
    assert.equal(sha256(await readFile(join(dir, 'sub', 'b.bin'))), sha256(b));
    const bad = await openbits(m, ['get', '-o', 'x', server.url('/a.bin'), server.url('/b.bin')]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /-o names one file/u);
  });

  it('-J names the file as the server’s Content-Disposition says (never a path or a hidden name)', async () => {
    const m = await makeManager();
    const body = randomBytes(5000);
    origin.route(
      '/download?id=7',
      serving(body, { extraHeaders: { 'content-disposition': 'attachment; filename="../../etc/.evil name.txt"' } }),
    );
    const cwd = join(dir, 'cd');
    await mkdir(cwd);
    const r = await openbits(m, ['get', '-J', '-q', origin.url('/download?id=7')], { cwd });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sha256(await readFile(join(cwd, 'evil name.txt'))), sha256(body));
    assert.ok(!existsSync(join(dir, '..', 'etc')));
  });

  it('--detach returns at once; bitsd runs `openbits complete JOB` when the job is transferred', async () => {
    const m = await makeManager();
    server.add('/bg.bin', 1000);
    const r = await openbits(m, ['get', '--detach', server.url('/bg.bin')]);
    assert.equal(r.code, 0, r.stderr);
    const [job] = await m.enumJobs();
    assert.ok(job);
    assert.match(
      r.stdout,
      new RegExp(`bg\\.bin: downloading in the background \\(openbits watch ${job.id.slice(0, 8)}\\)`, 'u'),
    );
    assert.equal(job.priority, 'NORMAL');
    assert.equal(job.notifyFlags, 1, 'only TRANSFERRED runs it: a failed job stays in the queue to be seen');
    assert.deepEqual(job.notifyCmdLine, {
      program: '/usr/bin/node',
      parameters: `/usr/bin/node /opt/openbits/bin/openbits.js complete ${job.id}`,
    });
    await m.cancel(job.id);
  });
});

describe('openbits ls, info, state verbs', () => {
  it('lists one line per job, shows a job by name or id prefix, and runs the state methods', async () => {
    const m = await makeManager();
    const job = await m.createJob('nightly');
    await m.addFile(job.id, server.url('/a.bin'), join(dir, 'nightly.bin'));
    const ls = await openbits(m, ['ls']);
    assert.match(
      ls.stdout,
      new RegExp(`^${job.id.slice(0, 8)}  nightly\\s+SUSPENDED\\s+\\?%\\s+0 B / \\?\\s+0/1 files$`, 'mu'),
    );
    const info = await openbits(m, ['info', job.id.slice(0, 8)]);
    assert.match(info.stdout, /^name: {6}nightly$/mu);
    assert.match(info.stdout, /^file mode: umask$/mu);
    const json = await openbits(m, ['info', '--json', 'nightly']);
    assert.equal(JSON.parse(json.stdout).id, job.id);
    assert.equal((await openbits(m, ['suspend', 'nightly'])).code, 0);
    assert.match((await openbits(m, ['cancel', 'nightly'])).stdout, /^nightly: cancelled\n$/u);
    const gone = await openbits(m, ['info', 'nightly']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /^openbits: ERROR: BG_E_NOT_FOUND \(0x80200001\)/u);
  });

  it('bad command lines exit 2 with the verb’s usage; --help and --version exit 0', async () => {
    const m = await makeManager();
    const unknown = await openbits(m, ['fetch']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown verb: fetch/u);
    const badOption = await openbits(m, ['ls', '--long']);
    assert.equal(badOption.code, 2);
    assert.match(badOption.stderr, /^Usage: openbits ls/mu);
    assert.match((await openbits(m, ['get', '--help'])).stdout, /^ {2}-o, --output=FILE/mu);
    assert.match((await openbits(m, ['--version'])).stdout, /^openbits \d+\.\d+\.\d+\n$/u);
  });
});

describe('file names from the server', () => {
  it('takes the last URL segment or the Content-Disposition name, made safe', () => {
    assert.equal(nameFromUrl('https://h/a/b/file.iso?x=1'), 'file.iso');
    assert.equal(nameFromUrl('https://h/'), 'index.html');
    assert.equal(nameFromUrl('https://h/..'), 'index.html');
    assert.equal(nameFromContentDisposition('attachment; filename="a b.txt"'), 'a b.txt');
    assert.equal(
      nameFromContentDisposition("attachment; filename*=UTF-8''%E2%82%AC%20rates.csv; filename=x"),
      '€ rates.csv',
    );
    assert.equal(nameFromContentDisposition('attachment; filename=/etc/passwd'), 'passwd');
    assert.equal(nameFromContentDisposition('attachment; filename=".."'), undefined);
    assert.equal(nameFromContentDisposition('inline'), undefined);
  });
});

describe('openbits completion', () => {
  // zsh and fish are not installed here: their scripts are checked for the verbs and options
  // they offer, bash's also by `bash -n`.
  it('prints bash, zsh and fish scripts generated from the verb table', () => {
    for (const shell of ['bash', 'zsh', 'fish']) {
      const out = execFileSync(
        process.execPath,
        [join(import.meta.dirname, '../../bin/openbits.js'), 'completion', shell],
        {
          encoding: 'utf8',
        },
      );
      for (const word of ['get', 'watch', 'daemon', 'output', 'directory-prefix', 'detach', '/transfer']) {
        assert.ok(out.includes(word), `${shell} completion offers ${word}`);
      }
      if (shell === 'bash') execFileSync('bash', ['-n'], { input: out });
    }
  });
});
