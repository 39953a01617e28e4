import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { downloadFile } from '../../src/transfer/index.ts';
import { RecordedFile, sha256 } from '../helpers/download-request.ts';

// fsyncgate (reliability-security-performance.md §1.2): an fdatasync error loses the bytes since
// the last good checkpoint, so the temp file goes back to it. EIO injected with strace.

const MiB = 1024 * 1024;
const BODY = randomBytes(8 * MiB);
let dir: string;

function strace(): string {
  if (!existsSync('/usr/bin/strace')) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env });
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'strace'], { stdio: 'ignore', env });
  }
  return '/usr/bin/strace';
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'openbits-fsync-'));
  await writeFile(join(dir, 'source.bin'), BODY);
});
after(() => rm(dir, { recursive: true, force: true }));

test('EIO from fdatasync (second call per thread on): LOCAL_FILE failure, temp file back at the last good checkpoint', async () => {
  const child = new URL('../helpers/download-child.ts', import.meta.url).pathname;
  const src = pathToFileURL(join(dir, 'source.bin')).href;
  const local = join(dir, 'out.bin');
  const r = spawnSync(
    strace(),
    [
      '-f',
      '-qq',
      '-o',
      '/dev/null',
      '-e',
      'trace=fdatasync',
      '-e',
      'inject=fdatasync:error=EIO:when=2+',
      process.execPath,
      child,
      src,
      local,
      String(MiB),
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}');
  assert.equal(out.failure.kind, 'transient');
  assert.equal(out.failure.error.name, 'E_FAIL');
  assert.equal(out.failure.error.context, 'LOCAL_FILE');
  assert.match(out.failure.error.message, /EIO/u);
  // strace counts calls per thread (libuv's pool), so which checkpoint fails varies; the rule
  // does not: only fdatasync'ed offsets are reported, and the file goes back to the last one.
  const last: number = out.checkpoints.at(-1) ?? 0;
  assert.ok(last < BODY.length, `the failed fdatasync was not reported (last ${last})`);
  assert.deepEqual(
    out.checkpoints,
    [...out.checkpoints].sort((a: number, b: number) => a - b),
  );
  assert.equal((await stat(out.temporaryName)).size, last, 'truncated to the last good checkpoint');
  // The manager's record lets the next attempt resume from there.
  const f = new RecordedFile(src, local);
  Object.assign(f, {
    bytesTransferred: last,
    bytesTotal: out.bytesTotal,
    validators: out.validators,
    temporaryName: out.temporaryName,
    temporaryFileId: out.temporaryFileId,
  });
  await downloadFile(f.request());
  assert.equal(f.restarts, 0);
  assert.equal(await f.tempSha256(), sha256(BODY));
});
