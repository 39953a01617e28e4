import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import {
  chmod,
  copyFile,
  cp,
  link,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readlink,
  rename,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BitsError } from '../../src/core/index.ts';
import {
  checkLocalDestination,
  checkLocalDestinations,
  closeDispatchers,
  commitFile,
  deleteTempFile,
  downloadFile,
  isAbortError,
} from '../../src/transfer/index.ts';
import { RecordedFile, sha256, transferFailure } from '../helpers/download-request.ts';
import { type OriginServer, serve, startOrigin } from '../helpers/origin-server.ts';

// Temp files, commit, AddFile checks and local-file failures (reliability-security-performance.md §3.5).

const BODY = randomBytes(2 * 1024 * 1024);
let origin: OriginServer;
let dir: string;
let seq = 0;

before(async () => {
  origin = await startOrigin();
  origin.route('/f', (req, res) => serve(req, res, BODY, { etag: '"l"' }));
  dir = await mkdtemp(join(tmpdir(), 'openbits-local-'));
});
after(async () => {
  await origin.close();
  await closeDispatchers();
  await rm(dir, { recursive: true, force: true });
});

const file = () => new RecordedFile(origin.url('/f'), join(dir, `l${++seq}.bin`));

async function bitsError(p: Promise<unknown>): Promise<BitsError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof BitsError) return err;
    throw err;
  }
  throw new Error('expected a BitsError');
}

describe('temp files', () => {
  test('hidden, next to the destination, mode 0600; commit renames it and fsyncs', async () => {
    const f = file();
    await downloadFile(f.request());
    const temp = f.temporaryName ?? '';
    // The name derived from the job and the file (16 hex of the job id, then the file's index).
    assert.match(temp, new RegExp(`^${dir}/\\.l\\d+\\.bin\\.[0-9a-f]{16}-0\\.bits-tmp$`, 'u'));
    assert.equal((await stat(temp)).mode & 0o777, 0o600);
    await commitFile(temp, f.localName, { lastModified: 'Wed, 01 Jan 2025 00:00:00 GMT' });
    assert.equal(sha256(await readFile(f.localName)), sha256(BODY));
    assert.equal((await stat(f.localName)).mtime.toISOString(), '2025-01-01T00:00:00.000Z');
    await assert.rejects(stat(temp), { code: 'ENOENT' });
  });

  test('a symlink planted at the recorded temp name is never written through', async () => {
    const canary = join(dir, 'canary-temp');
    await writeFile(canary, 'do not touch');
    const f = file();
    await transferFailure(downloadFile(f.request({ remoteName: 'http://127.0.0.1:1/refused' })));
    const recorded = f.temporaryName ?? '';
    await rm(recorded);
    await symlink(canary, recorded);
    f.bytesTransferred = 1000;
    await downloadFile(f.request());
    assert.equal(await readFile(canary, 'utf8'), 'do not touch');
    assert.notEqual(f.temporaryName, recorded, 'a fresh temp file is used');
    assert.equal(await readlink(recorded), canary);
    assert.equal(f.restarts, 1);
    assert.equal(await f.tempSha256(), sha256(BODY));
  });

  test('a hard link at the temp name (nlink 2) or another inode than recorded is refused', async () => {
    const f = file();
    await downloadFile(f.request());
    const recorded = f.temporaryName ?? '';
    const other = join(dir, 'hardlink-other');
    await link(recorded, other);
    f.bytesTransferred = 1000;
    await downloadFile(f.request());
    assert.notEqual(f.temporaryName, recorded);
    assert.equal(sha256(await readFile(other)), sha256(BODY), 'the hard-linked file is unchanged');
    const g = file();
    await downloadFile(g.request());
    const id = g.temporaryFileId;
    const path = g.temporaryName ?? '';
    // Keep the old inode alive so the replacement surely gets another number.
    await rename(path, join(dir, 'old-inode'));
    await writeFile(path, BODY.subarray(0, 5000), { mode: 0o600 });
    g.bytesTransferred = 5000;
    g.temporaryFileId = id;
    await downloadFile(g.request());
    // A regular file of ours at our own derived name is replaced, not trusted (fetched anew).
    assert.equal(g.temporaryName, path);
    assert.notEqual(g.temporaryFileId, id);
    assert.equal(g.restarts, 1);
    assert.equal(await g.tempSha256(), sha256(BODY));
  });

  test('bytes past the recorded checkpoint are truncated before resuming', async () => {
    const f = file();
    await downloadFile(f.request());
    const temp = f.temporaryName ?? '';
    await writeFile(temp, Buffer.concat([BODY.subarray(0, 1000), Buffer.alloc(5000, 0xee)]));
    f.bytesTransferred = 1000;
    await downloadFile(f.request());
    assert.equal(origin.hits('/f').at(-1)?.headers.range, 'bytes=1000-');
    assert.equal(await f.tempSha256(), sha256(BODY));
  });

  test('a temp file left at its published mode (kill -9 before its last sync) fills again at 0600', async () => {
    const f = file();
    await downloadFile(f.request());
    const temp = f.temporaryName ?? '';
    // The finished file's chmod happened, its fsync did not: the record still says 1000 bytes.
    await chmod(temp, 0o644);
    f.bytesTransferred = 1000;
    const modes: number[] = [];
    const req = f.request();
    const onProgress = req.hooks.onProgress;
    await downloadFile({
      ...req,
      hooks: {
        ...req.hooks,
        onProgress: (n) => {
          modes.push(statSync(temp).mode & 0o777);
          onProgress(n);
        },
      },
    });
    assert.equal(f.restarts, 0, 'the same temp file was resumed');
    assert.equal(origin.hits('/f').at(-1)?.headers.range, 'bytes=1000-');
    assert.ok(modes.length > 0);
    assert.deepEqual(new Set(modes), new Set([0o600]));
    assert.equal(await f.tempSha256(), sha256(BODY));
  });

  test('commitFile replaces a symlink planted at the final name instead of following it', async () => {
    const canary = join(dir, 'canary-final');
    await writeFile(canary, 'precious');
    const f = file();
    await downloadFile(f.request());
    await symlink(canary, f.localName);
    await commitFile(f.temporaryName ?? '', f.localName);
    assert.equal(await readFile(canary, 'utf8'), 'precious');
    assert.ok((await lstat(f.localName)).isFile());
    assert.equal(sha256(await readFile(f.localName)), sha256(BODY));
  });

  test('commitFile refuses another regular file of ours put at the temp name (not the recorded inode)', async () => {
    const f = file();
    await downloadFile(f.request());
    const temp = f.temporaryName ?? '';
    // Keep the old inode alive so the replacement surely gets another number.
    await rename(temp, join(dir, 'kept-inode'));
    await writeFile(temp, 'not the download', { mode: 0o600 });
    await assert.rejects(
      commitFile(temp, f.localName, { fileId: f.temporaryFileId }),
      (err: unknown) => err instanceof BitsError && err.name === 'E_ACCESSDENIED',
    );
    await assert.rejects(lstat(f.localName), { code: 'ENOENT' });
  });

  test('deleteTempFile removes the file; a missing one counts as deleted', async () => {
    const f = file();
    await downloadFile(f.request());
    assert.equal(await deleteTempFile(f.temporaryName ?? ''), true);
    assert.equal(await deleteTempFile(f.temporaryName ?? ''), true);
    await assert.rejects(stat(f.temporaryName ?? ''), { code: 'ENOENT' });
  });
});

describe('checkLocalDestination (AddFile)', () => {
  test('missing folder → ERROR_PATH_NOT_FOUND; existing folder as the name → E_INVALIDARG', async () => {
    assert.equal((await bitsError(checkLocalDestination(join(dir, 'no-such', 'x')))).name, 'ERROR_PATH_NOT_FOUND');
    await mkdir(join(dir, 'a-folder'));
    assert.equal((await bitsError(checkLocalDestination(join(dir, 'a-folder')))).name, 'E_INVALIDARG');
    await checkLocalDestination(join(dir, 'fine.bin'));
  });

  test('AddFileSet: the names in order, the first that fails throws (each folder looked at once)', async () => {
    const a = join(dir, 'set-a');
    const b = join(dir, 'set-b');
    await mkdir(a);
    await mkdir(b);
    await mkdir(join(b, 'taken'));
    await checkLocalDestinations([join(a, '1'), join(b, '1'), join(a, '2'), join(b, '2')]);
    // The missing folder comes first in the list, the folder name second: the folder wins.
    const missing = await bitsError(
      checkLocalDestinations([join(a, '3'), join(dir, 'set-none', 'x'), join(b, 'taken')]),
    );
    assert.equal(missing.name, 'ERROR_PATH_NOT_FOUND');
    assert.match(missing.message, /set-none/u);
    // A name of a folder already checked fails on its own, after the names before it passed.
    const taken = await bitsError(checkLocalDestinations([join(b, '3'), join(a, '4'), join(b, 'taken')]));
    assert.equal(taken.name, 'E_INVALIDARG');
    assert.match(taken.message, /taken/u);
    // A file where the folder should be: named with the first local name in it.
    await writeFile(join(dir, 'set-file'), '');
    const file = await bitsError(checkLocalDestinations([join(a, '5'), join(dir, 'set-file', 'y'), join(b, 'taken')]));
    assert.equal(file.name, 'ERROR_PATH_NOT_FOUND');
    assert.match(file.message, /set-file\/y cannot be created/u);
  });

  test('a folder this user cannot write → E_ACCESSDENIED (checked as uid nobody)', async () => {
    // The check runs in a child process as nobody, from a copy of node and src/ that nobody can
    // read wherever the checkout lives.
    const sandbox = await mkdtemp(join(tmpdir(), 'openbits-nobody-'));
    try {
      await chmod(sandbox, 0o755);
      await cp(new URL('../../src', import.meta.url), join(sandbox, 'src'), { recursive: true });
      await writeFile(join(sandbox, 'package.json'), '{"type":"module"}');
      await copyFile(process.execPath, join(sandbox, 'node'));
      spawnSync('chmod', ['-R', 'a+rX', sandbox]);
      await chmod(join(sandbox, 'node'), 0o755);
      const shared = join(dir, 'root-only');
      await mkdir(shared);
      await chmod(dir, 0o755);
      await chmod(shared, 0o755);
      const writable = join(dir, 'nobody-can');
      await mkdir(writable);
      await chmod(writable, 0o777);
      const script = `import { checkLocalDestination } from './src/transfer/commit-file.ts';
        for (const p of process.argv.slice(1)) {
          try { await checkLocalDestination(p); console.log('ok'); } catch (e) { console.log(e.name); }
        }`;
      const r = spawnSync(
        join(sandbox, 'node'),
        ['--input-type=module', '-e', script, join(shared, 'x'), join(writable, 'x')],
        { uid: 65534, gid: 65534, cwd: sandbox, encoding: 'utf8' },
      );
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(r.stdout.trim().split('\n'), ['E_ACCESSDENIED', 'ok']);
    } finally {
      await rm(sandbox, { recursive: true, force: true });
    }
  });

  test('a read-only mount → E_ACCESSDENIED even for root', async () => {
    const ro = join(dir, 'ro');
    await mkdir(ro);
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', ro], { encoding: 'utf8' });
    assert.equal(m.status, 0, `mount failed: ${m.stderr}`);
    try {
      assert.equal((await bitsError(checkLocalDestination(join(ro, 'x')))).name, 'E_ACCESSDENIED');
    } finally {
      spawnSync('umount', [ro]);
    }
  });
});

describe('disk full (ENOSPC) on a 1 MiB tmpfs', () => {
  test('fatal LOCAL_FILE, truncated to the checkpoint; after enlarging, resume finishes', async () => {
    const small = join(dir, 'small');
    await mkdir(small);
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', small], { encoding: 'utf8' });
    assert.equal(m.status, 0, `mount failed: ${m.stderr}`);
    try {
      await writeFile(join(small, 'neighbour'), 'keep me');
      const f = new RecordedFile(origin.url('/f'), join(small, 'big.bin'));
      const err = await transferFailure(downloadFile(f.request({ options: { checkpointBytes: 256 * 1024 } })));
      assert.equal(err.failure.kind, 'fatal');
      assert.equal(err.failure.error.context, 'LOCAL_FILE');
      assert.equal(err.failure.error.name, 'ERROR_DISK_FULL');
      assert.ok(f.bytesTransferred > 0 && f.bytesTransferred < BODY.length);
      assert.equal((await stat(f.temporaryName ?? '')).size, f.bytesTransferred, 'truncated to the checkpoint');
      assert.equal(await readFile(join(small, 'neighbour'), 'utf8'), 'keep me');
      const r = spawnSync('mount', ['-o', 'remount,size=8m', small], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const kept = f.bytesTransferred;
      await downloadFile(f.request());
      assert.equal(origin.hits('/f').at(-1)?.headers.range, `bytes=${kept}-`);
      assert.equal(await f.tempSha256(), sha256(BODY));
    } finally {
      spawnSync('umount', ['-l', small]);
    }
  });
});

describe('abort', () => {
  test('abort stops at a checkpoint and rejects with an AbortError; resume completes', async () => {
    origin.route('/slow', (req, res) => serve(req, res, BODY, { etag: '"s"', dripBytes: 64 * 1024, dripMs: 5 }));
    const f = new RecordedFile(origin.url('/slow'), join(dir, 'abort.bin'));
    const ac = new AbortController();
    const req = f.request({ signal: ac.signal, options: { checkpointBytes: 128 * 1024 } });
    const hooks = req.hooks;
    const p = downloadFile({
      ...req,
      hooks: {
        ...hooks,
        onCheckpoint: (n) => {
          hooks.onCheckpoint(n);
          if (n >= 256 * 1024) ac.abort();
        },
      },
    });
    await assert.rejects(p, (err) => isAbortError(err));
    const kept = f.bytesTransferred;
    assert.ok(kept >= 256 * 1024 && kept < BODY.length);
    assert.equal((await stat(f.temporaryName ?? '')).size, kept);
    await downloadFile(f.request());
    assert.equal(await f.tempSha256(), sha256(BODY));
  });

  test('an exception thrown by a hook stops the transfer and is rethrown as is, after a checkpoint', async () => {
    // The body stalls after 1.5 MiB: the hook's exception (a checkpoint beside the writes) must
    // stop the transfer by itself, not wait for a next chunk that never comes.
    origin.route('/hook', (req, res) =>
      serve(req, res, BODY, { etag: '"h"', faultAfter: 1536 * 1024, fault: 'stall' }),
    );
    const f = new RecordedFile(origin.url('/hook'), join(dir, 'hook.bin'));
    const req = f.request({ options: { checkpointBytes: 512 * 1024 } });
    const boom = new Error('store is read-only');
    let calls = 0;
    await assert.rejects(
      downloadFile({
        ...req,
        hooks: {
          ...req.hooks,
          onCheckpoint: (n) => {
            req.hooks.onCheckpoint(n);
            if (++calls === 2) throw boom;
          },
        },
      }),
      (err) => err === boom,
    );
    assert.ok(f.bytesTransferred >= 1024 * 1024 && f.bytesTransferred < BODY.length);
  });
});
