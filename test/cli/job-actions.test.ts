import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FileServer } from '../helpers/file-server.ts';
import { waitForState } from '../helpers/manager-harness.ts';
import { bitsadmin, body, makeManager } from './helpers.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bitsadmin-actions-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const URL_A = 'http://127.0.0.1:9/a.bin';
const URL_B = 'http://127.0.0.1:9/b.bin';

describe('bitsadmin file switches', () => {
  it('/addfile adds a file to the job named by display name', async () => {
    const m = await makeManager();
    const job = await m.createJob('files');
    const r = await bitsadmin(m, ['/addfile', 'files', URL_A, join(dir, 'a.bin')]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(body(r.stdout), `Added ${URL_A} -> ${join(dir, 'a.bin')} to job.\n`);
    const files = await m.enumFiles(job.id);
    assert.deepEqual(
      files.map((f) => [f.remoteName, f.localName]),
      [[URL_A, join(dir, 'a.bin')]],
    );
  });

  it('/addfile with a relative local name fails with the BITS code (exit 1), adding nothing', async () => {
    const m = await makeManager();
    const job = await m.createJob('rel');
    const r = await bitsadmin(m, ['/addfile', job.id, URL_A, 'relative.bin']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^ERROR: E_INVALIDARG \(0x80070057\) /u);
    assert.equal((await m.enumFiles(job.id)).length, 0);
  });

  it('/addfile with two arguments prints its usage and exits 2', async () => {
    const m = await makeManager();
    await m.createJob('short');
    const r = await bitsadmin(m, ['/addfile', 'short', URL_A]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /missing argument.*\nUsage: bitsadmin \/addfile <job> <remoteURL> <localname>\n/u);
  });

  it('/addfileset reads "remote local" lines, skipping # comments and blank lines', async () => {
    const m = await makeManager();
    const job = await m.createJob('set');
    const list = join(dir, 'files.txt');
    await writeFile(list, `# two files\n${URL_A} ${join(dir, 'a')}\n\n  ${URL_B}   ${join(dir, 'b')}\n`);
    const r = await bitsadmin(m, ['/addfileset', 'set', list]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(body(r.stdout), 'Added 2 file(s) to job.\n');
    assert.deepEqual(
      (await m.enumFiles(job.id)).map((f) => f.remoteName),
      [URL_A, URL_B],
    );
  });

  it('/addfileset rejects a malformed line with usage (exit 2) and a missing file likewise', async () => {
    const m = await makeManager();
    const job = await m.createJob('badset');
    const list = join(dir, 'bad.txt');
    await writeFile(list, `${URL_A}\n`);
    const r = await bitsadmin(m, ['/addfileset', 'badset', list]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /line 1 of the file set must be "remote local"/u);
    const missing = await bitsadmin(m, ['/addfileset', 'badset', join(dir, 'nope.txt')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read/u);
    assert.equal((await m.enumFiles(job.id)).length, 0);
  });

  it('/addfilewithranges parses offset:length and eof', async () => {
    const m = await makeManager();
    const job = await m.createJob('ranges');
    const r = await bitsadmin(m, ['/addfilewithranges', 'ranges', URL_A, join(dir, 'r'), '0:100,2000:100,5000:eof']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(body(r.stdout), /with 3 range\(s\)\./u);
    const [file] = await m.enumFiles(job.id);
    assert.deepEqual(file?.ranges, [
      { offset: 0, length: 100 },
      { offset: 2000, length: 100 },
      { offset: 5000, length: -1 },
    ]);
  });

  it('/addfilewithranges: a malformed list is a usage error; overlapping ranges are BG_E_OVERLAPPING_RANGES', async () => {
    const m = await makeManager();
    await m.createJob('rr');
    const bad = await bitsadmin(m, ['/addfilewithranges', 'rr', URL_A, join(dir, 'x'), '0-100']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /offset:length/u);
    const overlap = await bitsadmin(m, ['/addfilewithranges', 'rr', URL_A, join(dir, 'x'), '0:100,50:10']);
    assert.equal(overlap.code, 1);
    assert.match(overlap.stderr, /^ERROR: BG_E_OVERLAPPING_RANGES \(0x8020002c\)/u);
  });

  it('/listfiles prints each file and the count; --json the FileInfo array', async () => {
    const m = await makeManager();
    const job = await m.createJob('lf');
    await m.addFileSet(job.id, [
      { remoteName: URL_A, localName: join(dir, 'a') },
      { remoteName: URL_B, localName: join(dir, 'b') },
    ]);
    const r = await bitsadmin(m, ['/listfiles', 'lf']);
    assert.equal(
      body(r.stdout),
      `0 / UNKNOWN WORKING ${URL_A} -> ${join(dir, 'a')}\n0 / UNKNOWN WORKING ${URL_B} -> ${join(dir, 'b')}\nListed 2 file(s).\n`,
    );
    const j = await bitsadmin(m, ['--json', '/listfiles', 'lf']);
    assert.deepEqual(
      JSON.parse(j.stdout).map((f: { index: number }) => f.index),
      [0, 1],
    );
  });

  it('/gettemporaryname takes a file index; a bad index is a usage error', async () => {
    const m = await makeManager();
    const job = await m.createJob('tmpname');
    await m.addFile(job.id, URL_A, join(dir, 'a'));
    const r = await bitsadmin(m, ['/rawreturn', '/gettemporaryname', 'tmpname', '0']);
    assert.equal(r.code, 0, r.stderr);
    const expected = (await m.enumFiles(job.id))[0]?.temporaryName ?? 'NULL';
    assert.equal(r.stdout, expected);
    assert.equal((await bitsadmin(m, ['/gettemporaryname', 'tmpname', 'first'])).code, 2);
    const missing = await bitsadmin(m, ['/gettemporaryname', 'tmpname', '7']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /E_INVALIDARG/u);
  });

  it('/replaceremoteprefix rewrites matching remote names', async () => {
    const m = await makeManager();
    const job = await m.createJob('prefix');
    await m.addFile(job.id, URL_A, join(dir, 'a'));
    const r = await bitsadmin(m, ['/replaceremoteprefix', 'prefix', 'http://127.0.0.1:9/', 'http://127.0.0.1:10/']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await m.enumFiles(job.id))[0]?.remoteName, 'http://127.0.0.1:10/a.bin');
    const none = await bitsadmin(m, ['/replaceremoteprefix', 'prefix', 'http://nomatch/', 'http://x/']);
    assert.equal(none.code, 0);
    assert.match(none.stdout, /No remote name starts with http:\/\/nomatch\//u);
  });
});

describe('bitsadmin state switches', () => {
  it('/resume on an empty job fails with BG_E_EMPTY and the job stays SUSPENDED', async () => {
    const m = await makeManager();
    const job = await m.createJob('empty');
    const r = await bitsadmin(m, ['/resume', 'empty']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^ERROR: BG_E_EMPTY \(0x80200003\) /u);
    assert.equal((await m.getJob(job.id)).state, 'SUSPENDED');
  });

  it('/resume then /suspend move the job between SUSPENDED and an active state', async () => {
    const m = await makeManager();
    const job = await m.createJob('rs');
    // An unroutable port keeps the job from finishing while the test looks at it.
    await m.addFile(job.id, URL_A, join(dir, 'rs.bin'));
    const r = await bitsadmin(m, ['/resume', 'rs']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(body(r.stdout), 'Job resumed.\n');
    assert.notEqual((await m.getJob(job.id)).state, 'SUSPENDED');
    const s = await bitsadmin(m, ['--json', '/suspend', `{${job.id}}`]);
    assert.equal(s.code, 0, s.stderr);
    assert.equal(JSON.parse(s.stdout).state, 'SUSPENDED');
    assert.equal((await m.getJob(job.id)).state, 'SUSPENDED');
  });

  it('/cancel removes the job from the queue', async () => {
    const m = await makeManager();
    const job = await m.createJob('gone');
    const r = await bitsadmin(m, ['/cancel', 'gone']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(body(r.stdout), 'Job canceled.\n');
    await assert.rejects(m.getJob(job.id), { name: 'BG_E_NOT_FOUND' });
    const again = await bitsadmin(m, ['/cancel', job.id]);
    assert.equal(again.code, 1);
  });

  it('/complete on a download job acknowledges it; --json reports the result code', async () => {
    const m = await makeManager();
    const job = await m.createJob('done');
    const r = await bitsadmin(m, ['--json', '/complete', 'done']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { jobId: job.id, result: 'S_OK' });
    await assert.rejects(m.getJob(job.id), { name: 'BG_E_NOT_FOUND' });
  });

  it('/complete of a job with a failed file notes BG_S_PARTIAL_COMPLETE and publishes the good one', async () => {
    const m = await makeManager();
    const server = await FileServer.start();
    try {
      const good = server.add('/good.bin', 5_000);
      const job = await m.createJob('partial');
      await m.addFileSet(job.id, [
        { remoteName: server.url('/good.bin'), localName: join(dir, 'good.bin') },
        { remoteName: server.url('/gone.bin'), localName: join(dir, 'gone.bin') },
      ]);
      await m.resume(job.id);
      await waitForState(m, job.id, 'ERROR');
      const r = await bitsadmin(m, ['/complete', 'partial']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(body(r.stdout), /^Job completed\.\nNOTE: BG_S_PARTIAL_COMPLETE \(0x00200017\) /u);
      assert.deepEqual(await readFile(join(dir, 'good.bin')), good);
      assert.equal(existsSync(join(dir, 'gone.bin')), false);
    } finally {
      await server.close();
    }
  });

  it('/complete on an upload job before TRANSFERRED is BG_E_INVALID_STATE', async () => {
    const m = await makeManager();
    const job = await m.createJob('up', 'UPLOAD');
    const r = await bitsadmin(m, ['/complete', job.id]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^ERROR: BG_E_INVALID_STATE \(0x80200002\) /u);
  });

  it('/takeownership needs an administrator: E_ACCESSDENIED otherwise, nothing changed', async () => {
    const m = await makeManager({ isAdmin: false });
    const job = await m.createJob('mine');
    await m.setCustomHeaders(job.id, ['X-Kept: 1']);
    const r = await bitsadmin(m, ['/takeownership', 'mine']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^ERROR: E_ACCESSDENIED \(0x80070005\) /u);
    assert.equal((await m.getJob(job.id)).hasCustomHeaders, true);
  });
});

describe('job names', () => {
  it('a GUID works with and without braces, in any case', async () => {
    const m = await makeManager();
    const job = await m.createJob('guid');
    for (const ref of [job.id, `{${job.id}}`, `{${job.id.toUpperCase()}}`]) {
      const r = await bitsadmin(m, ['/rawreturn', '/getdisplayname', ref]);
      assert.equal(r.stdout, 'guid');
    }
  });

  it('an ambiguous display name is an error that lists the GUIDs', async () => {
    const m = await makeManager();
    const a = await m.createJob('twin');
    const b = await m.createJob('twin');
    const r = await bitsadmin(m, ['/getstate', 'twin']);
    assert.equal(r.code, 1);
    assert.ok(r.stderr.toLowerCase().includes(a.id) && r.stderr.toLowerCase().includes(b.id), r.stderr);
  });

  it('an unknown name is BG_E_NOT_FOUND', async () => {
    const r = await bitsadmin(await makeManager(), ['/info', 'nobody']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /BG_E_NOT_FOUND/u);
  });

  it('a switch that only acts on the job sends a GUID straight to the call (no read first); a name is looked up', async () => {
    const m = await makeManager();
    const job = await m.createJob('direct');
    const list = join(dir, 'direct-set.txt');
    await writeFile(list, `${URL_A} ${join(dir, 'direct-a.bin')}\n${URL_B} ${join(dir, 'direct-b.bin')}\n`);
    const calls: string[] = [];
    const counted = new Proxy(m, {
      get(target, name, receiver) {
        const v = Reflect.get(target, name, receiver);
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => {
          calls.push(String(name));
          return v.apply(target, args);
        };
      },
    });
    const run = async (argv: string[]): Promise<string[]> => {
      calls.length = 0;
      const r = await bitsadmin(counted, argv);
      assert.equal(r.code, 0, r.stderr);
      return [...calls];
    };
    assert.deepEqual(await run(['/addfileset', `{${job.id.toUpperCase()}}`, list]), ['addFileSet']);
    assert.equal((await m.getJob(job.id)).progress.filesTotal, 2);
    assert.deepEqual(await run(['/setpriority', job.id, 'high']), ['setPriority']);
    assert.deepEqual(await run(['/suspend', 'direct']), ['findJob', 'suspend']);
    assert.deepEqual(await run(['/cancel', `{${job.id}}`]), ['cancel']);
    const unknown = await bitsadmin(counted, ['/resume', '{11111111-2222-3333-4444-555555555555}']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /BG_E_NOT_FOUND/u);
  });
});
