import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type DaemonProcess, spawnDaemon, stopDaemon } from '../daemon/helpers.ts';
import { cli, cliOk, createJob, scratchDir } from './helpers.ts';

// Issue 12 item 11: each refusal says its own code's sentence, through bitsd and the CLI.

const UNREACHABLE = 'http://127.0.0.1:9/never.bin';

describe('e2e: bitsadmin messages per code', () => {
  let home: Awaited<ReturnType<typeof scratchDir>>;
  let work: Awaited<ReturnType<typeof scratchDir>>;
  let daemon: DaemonProcess | undefined;
  const bare = (job: string): string => job.replace(/[{}]/gu, '').toLowerCase();

  before(async () => {
    home = await scratchDir('openbits-e2e-messages-home-');
    work = await scratchDir('openbits-e2e-messages-');
    daemon = await spawnDaemon(home.path);
  });
  after(async () => {
    if (daemon !== undefined) await stopDaemon(daemon);
    await home?.remove();
    await work?.remove();
  });

  it('/resume of a job with no files: BG_E_EMPTY says there are no files', async () => {
    const job = await createJob(home.path, 'empty');
    const r = await cli(home.path, ['/resume', job]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `ERROR: BG_E_EMPTY (0x80200003) resume on DOWNLOAD job ${bare(job)} in state SUSPENDED: There are no files attached to this job. Attach files to the job, and then try again.\n`,
    );
  });

  it('a second /addfile on an upload job: BG_E_TOO_MANY_FILES says upload jobs take one file', async () => {
    const job = await createJob(home.path, 'one-file', '/upload');
    const source = join(work.path, 'form.bin');
    await writeFile(source, 'form');
    await cliOk(home.path, ['/addfile', job, 'http://127.0.0.1:9/up/form.bin', source]);
    const r = await cli(home.path, ['/addfile', job, 'http://127.0.0.1:9/up/again.bin', source]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `ERROR: BG_E_TOO_MANY_FILES (0x8020001c) addFile on UPLOAD job ${bare(job)} in state SUSPENDED: Upload jobs can only contain one file. Add no more files.\n`,
    );
  });

  it('/geterror with no error: BG_E_ERROR_INFORMATION_UNAVAILABLE says no errors have occurred', async () => {
    const job = await createJob(home.path, 'no-error');
    const r = await cli(home.path, ['/geterror', job]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `ERROR: BG_E_ERROR_INFORMATION_UNAVAILABLE (0x8020000f) getError on DOWNLOAD job ${bare(job)} in state SUSPENDED: No errors have occurred.\n`,
    );
  });

  it('/rawreturn /complete of a job that transferred nothing prints BG_S_PARTIAL_COMPLETE', async () => {
    const job = await createJob(home.path, 'partial');
    await cliOk(home.path, ['/addfile', job, UNREACHABLE, join(work.path, 'never.bin')]);
    const r = await cli(home.path, ['/rawreturn', '/complete', job]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'BG_S_PARTIAL_COMPLETE');
    // Text mode says it too, after the line.
    const other = await createJob(home.path, 'partial-text');
    await cliOk(home.path, ['/addfile', other, UNREACHABLE, join(work.path, 'never2.bin')]);
    assert.match(
      await cliOk(home.path, ['/complete', other]),
      /^Job completed\.\nNOTE: BG_S_PARTIAL_COMPLETE \(0x00200017\)/u,
    );
  });

  it('/setcredentials with NTLM, NEGOTIATE or PASSPORT: E_NOTIMPL, nothing stored (issue 12 item 10)', async () => {
    const job = await createJob(home.path, 'ntlm');
    for (const scheme of ['NTLM', 'negotiate', 'PASSPORT']) {
      const r = await cli(home.path, ['/setcredentials', job, 'SERVER', scheme, 'alice', 's3cret']);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.equal(
        r.stderr,
        `ERROR: E_NOTIMPL (0x80004001) ${scheme.toUpperCase()} authentication is not implemented: openbits answers Basic and Digest challenges only\n`,
      );
    }
    assert.deepEqual(JSON.parse(await cliOk(home.path, ['--json', '/info', job])).credentials, []);
    await cliOk(home.path, ['/setcredentials', job, 'SERVER', 'DIGEST', 'alice', 's3cret']);
    assert.deepEqual(JSON.parse(await cliOk(home.path, ['--json', '/info', job])).credentials, [
      { target: 'SERVER', scheme: 'DIGEST', userName: 'alice' },
    ]);
  });

  it('/addfile under a regular file: ERROR_PATH_NOT_FOUND says a file stands where the folder should be', async () => {
    const job = await createJob(home.path, 'parent-file');
    const file = join(work.path, 'plain.txt');
    await writeFile(file, 'not a folder');
    const r = await cli(home.path, ['/addfile', job, UNREACHABLE, join(file, 'out.bin')]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `ERROR: ERROR_PATH_NOT_FOUND (0x80070003) ${file} is a file, not a folder: ${join(file, 'out.bin')} cannot be created\n`,
    );
    const deeper = await cli(home.path, ['/addfile', job, UNREACHABLE, join(file, 'sub', 'out.bin')]);
    assert.equal(deeper.code, 1);
    assert.equal(
      deeper.stderr,
      `ERROR: ERROR_PATH_NOT_FOUND (0x80070003) a part of ${join(file, 'sub')} is a file, not a folder\n`,
    );
    const missing = await cli(home.path, ['/addfile', job, UNREACHABLE, join(work.path, 'nope', 'out.bin')]);
    assert.match(missing.stderr, /ERROR_PATH_NOT_FOUND \(0x80070003\) the folder .*\/nope does not exist\n$/u);
  });
});
