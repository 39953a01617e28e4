import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ManagerEvent } from '../../src/api/bits-manager.ts';
import { BitsError } from '../../src/core/index.ts';
import { ManualNetworkSource } from '../../src/scheduler/network.ts';
import { createManager, type ManagerOptions } from '../../src/service/manager.ts';
import { FileServer, sha256 } from '../helpers/file-server.ts';
import { tempDir, waitForState } from '../helpers/manager-harness.ts';
import { TestClock } from '../helpers/test-clock.ts';
import { until } from '../helpers/until.ts';

let server: FileServer;
before(async () => {
  server = await FileServer.start();
});
after(async () => {
  await server.close();
});

const open = (extra: Partial<ManagerOptions> = {}) =>
  createManager({ home: tempDir(), clock: new TestClock(), network: new ManualNetworkSource(true), ...extra });

const rejectsWith = async (p: Promise<unknown>, name: string): Promise<void> => {
  await assert.rejects(p, (err: unknown) => err instanceof BitsError && err.name === name);
};

let n = 0;
const path = (stem: string): string => `/conf-${stem}-${++n}.bin`;

describe('manager conformance (bits-client.md §18)', () => {
  it('§18.10 a 404 sends the job to ERROR; after SetRemoteName it resumes and finished files are not fetched again', async () => {
    const m = await open();
    const dir = tempDir();
    const first = path('first');
    const fixed = path('fixed');
    server.add(first, 40_000);
    const body = server.add(fixed, 30_000);
    const job = await m.createJob('fix-url');
    await m.addFileSet(job.id, [
      { remoteName: server.url(first), localName: join(dir, 'a.bin') },
      { remoteName: server.url('/conf-nowhere.bin'), localName: join(dir, 'b.bin') },
    ]);
    await m.resume(job.id);
    await waitForState(m, job.id, 'ERROR');
    assert.equal((await m.getError(job.id)).hresult, 0x80190194);
    const hitsFirst = server.hits.get(first);
    await m.setRemoteName(job.id, 1, server.url(fixed));
    assert.equal(await m.replaceRemotePrefix(job.id, 'http://nowhere.invalid/', 'http://x/'), 'S_FALSE');
    await m.resume(job.id);
    await waitForState(m, job.id, 'TRANSFERRED');
    assert.equal(server.hits.get(first), hitsFirst, 'the finished first file was not fetched again');
    assert.equal(await m.complete(job.id), 'S_OK');
    assert.equal(sha256(readFileSync(join(dir, 'b.bin'))), sha256(body));
    await m.close();
  });

  it('§18.10 ReplaceRemotePrefix rewrites every matching remote name', async () => {
    const m = await open();
    const dir = tempDir();
    const p = path('prefix');
    const body = server.add(p, 10_000);
    const job = await m.createJob('prefix');
    await m.addFile(job.id, `http://127.0.0.1:1${p}`, join(dir, 'p.bin'));
    assert.equal(
      await m.replaceRemotePrefix(job.id, 'http://127.0.0.1:1/', `http://127.0.0.1:${server.port}/`),
      'S_OK',
    );
    assert.equal((await m.enumFiles(job.id))[0]?.remoteName, server.url(p));
    await rejectsWith(m.replaceRemotePrefix(job.id, '', 'x'), 'E_INVALIDARG');
    await m.resume(job.id);
    await waitForState(m, job.id, 'TRANSFERRED');
    await m.complete(job.id);
    assert.equal(sha256(readFileSync(join(dir, 'p.bin'))), sha256(body));
    await m.close();
  });

  it('§18.12 dynamic content is set before the first Resume only; it accepts a server without Content-Length', async () => {
    const m = await open();
    const dir = tempDir();
    const p = path('dynamic');
    const body = Buffer.from('generated '.repeat(1000));
    server.add(p, 0, {
      body,
      before: (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(body);
        return true;
      },
    });
    const plain = await m.createJob('plain');
    await m.addFile(plain.id, server.url(p), join(dir, 'plain.txt'));
    await m.resume(plain.id);
    await waitForState(m, plain.id, 'ERROR');
    assert.equal((await m.getError(plain.id)).name, 'BG_E_MISSING_FILE_SIZE');
    await rejectsWith(m.setDynamicContent(plain.id, true), 'BG_E_READ_ONLY_PROPERTY_AFTER_RESUME');

    const dyn = await m.createJob('dynamic');
    await m.setDynamicContent(dyn.id, true);
    await m.setPriority(dyn.id, 'FOREGROUND');
    await m.addFile(dyn.id, server.url(p), join(dir, 'dyn.txt'));
    await m.resume(dyn.id);
    await waitForState(m, dyn.id, 'TRANSFERRED');
    await m.complete(dyn.id);
    assert.deepEqual(readFileSync(join(dir, 'dyn.txt')), body);
    await m.close();
  });

  it('§18.14 AddFileWithRanges: ranges written back to back in the order given; BytesTotal = sum of lengths', async () => {
    const m = await open();
    const dir = tempDir();
    const p = path('ranges');
    const body = server.add(p, 5000);
    const job = await m.createJob('ranges');
    const ranges = [
      { offset: 100, length: 100 },
      { offset: 900, length: 100 },
      { offset: 400, length: 100 },
    ];
    await rejectsWith(m.addFileWithRanges(job.id, server.url(p), join(dir, 'r.bin'), []), 'E_INVALIDARG');
    await rejectsWith(
      m.addFileWithRanges(job.id, server.url(p), join(dir, 'r.bin'), [
        { offset: 0, length: 10 },
        { offset: 5, length: 10 },
      ]),
      'BG_E_OVERLAPPING_RANGES',
    );
    await rejectsWith(
      m.addFileWithRanges(job.id, server.url(p), join(dir, 'r.bin'), [{ offset: -1, length: 10 }]),
      'BG_E_INVALID_RANGE',
    );
    await m.addFileWithRanges(job.id, server.url(p), join(dir, 'r.bin'), ranges);
    await m.resume(job.id);
    await waitForState(m, job.id, 'TRANSFERRED');
    assert.equal((await m.getProgress(job.id)).bytesTotal, 300);
    await m.complete(job.id);
    const want = Buffer.concat(ranges.map((r) => body.subarray(r.offset, r.offset + r.length)));
    assert.deepEqual(readFileSync(join(dir, 'r.bin')), want);
    await m.close();
  });

  it('§18.15 the 61st job of a user is refused; admins are exempt', async () => {
    const m = await open({ isAdmin: false });
    for (let i = 0; i < 60; i++) await m.createJob(`q${i}`);
    await rejectsWith(m.createJob('one too many'), 'BG_E_TOO_MANY_JOBS_PER_USER');
    await m.close();
    const admin = await open({ isAdmin: true });
    for (let i = 0; i < 61; i++) await admin.createJob(`a${i}`);
    assert.equal((await admin.enumJobs()).length, 61);
    await admin.close();
  });

  it('§18.18 events: FileTransferred per file before JobTransferred; JobModification on property changes', async () => {
    const m = await open();
    const dir = tempDir();
    const p = path('events');
    server.add(p, 20_000);
    const job = await m.createJob('events');
    const events: ManagerEvent[] = [];
    m.subscribe((e) => events.push(e), { jobId: job.id });
    await m.setDescription(job.id, 'watched');
    await m.addFileSet(job.id, [
      { remoteName: server.url(p), localName: join(dir, '1.bin') },
      { remoteName: server.url(p), localName: join(dir, '2.bin') },
    ]);
    await m.resume(job.id);
    await waitForState(m, job.id, 'TRANSFERRED');
    const kinds = events.map((e) => (e.type === 'file:transferred' ? `file${e.fileIndex}` : e.type));
    assert.ok(kinds.includes('job:modified'));
    const f0 = kinds.indexOf('file0');
    const f1 = kinds.indexOf('file1');
    const done = kinds.indexOf('job:transferred');
    assert.ok(f0 >= 0 && f0 < f1 && f1 < done, kinds.join(' '));
    const iterated: string[] = [];
    const ac = new AbortController();
    const reader = (async () => {
      for await (const e of m.events({ jobId: job.id, signal: ac.signal })) {
        iterated.push(e.type);
        if (e.type === 'job:state') ac.abort();
      }
    })();
    await m.complete(job.id);
    await reader;
    assert.deepEqual(iterated.slice(-1), ['job:state']);
    await m.close();
  });

  it('§18.18 the notify command line runs for TRANSFERRED, as argv without a shell, and again after a non-zero exit', async () => {
    const clock = new TestClock();
    const m = await open({ clock });
    const dir = tempDir();
    const p = path('notify');
    server.add(p, 1000);
    const script = join(dir, 'notify.sh');
    const log = join(dir, 'calls.log');
    // Fails the first time, succeeds after; records its arguments.
    const { writeFileSync } = await import('node:fs');
    writeFileSync(script, `#!/bin/sh\necho "$@" >> '${log}'\n[ "$(wc -l < '${log}')" -ge 2 ]\n`, { mode: 0o755 });
    chmodSync(script, 0o755);
    const job = await m.createJob('notify');
    await m.addFile(job.id, server.url(p), join(dir, 'n.bin'));
    // A delay no other timer of the manager uses, so the re-run's timer can be told apart.
    await m.setMinimumRetryDelay(job.id, 37);
    await m.setNotifyCmdLine(job.id, script, `notify.sh "a b" ; $(touch ${join(dir, 'pwned')})`);
    await m.resume(job.id);
    await waitForState(m, job.id, 'TRANSFERRED');
    const lines = async (count: number): Promise<string[]> => {
      // A spawn on a loaded machine can take seconds: a generous deadline.
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        if (existsSync(log)) {
          // The script may have created the file but not written its line yet.
          const l = readFileSync(log, 'utf8')
            .split('\n')
            .filter((line) => line !== '');
          if (l.length >= count) return l;
        }
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error('the notify program did not run');
    };
    assert.deepEqual(await lines(1), [`a b ; $(touch ${join(dir, 'pwned')})`]);
    assert.equal(existsSync(join(dir, 'pwned')), false, 'never through a shell');
    // The line is written before the script exits: advance only once the manager has seen the
    // non-zero exit and armed the re-run (advancing earlier missed it and the re-run never came).
    await until(() => clock.pendingWithDelay(37_000) === 1, 'the notify re-run timer', 60_000);
    clock.advance(37_000);
    assert.equal((await lines(2)).length, 2, 're-run after MinimumRetryDelay on a non-zero exit');
    await m.cancel(job.id);
    await m.close();
  });

  it('§18.19 security: non-admins cannot list all users or take ownership; write-only headers cannot be read', async () => {
    const m = await open({ isAdmin: false });
    const job = await m.createJob('secrets');
    await rejectsWith(m.enumJobs({ allUsers: true }), 'E_ACCESSDENIED');
    await rejectsWith(m.enumJobSummaries({ allUsers: true }), 'E_ACCESSDENIED');
    await rejectsWith(m.takeOwnership(job.id), 'E_ACCESSDENIED');
    await m.setCustomHeaders(job.id, ['X-Api-Key: s3cret']);
    assert.deepEqual(await m.getCustomHeaders(job.id), ['X-Api-Key: s3cret']);
    await m.makeCustomHeadersWriteOnly(job.id);
    await rejectsWith(m.getCustomHeaders(job.id), 'E_ACCESSDENIED');
    const info = await m.getJob(job.id);
    assert.equal(JSON.stringify(info).includes('s3cret'), false);
    await m.setCredentials(job.id, { target: 'SERVER', scheme: 'BASIC', userName: 'u', password: 'pw-secret' });
    assert.equal(JSON.stringify(await m.getJob(job.id)).includes('pw-secret'), false);
    await rejectsWith(m.getJob('00000000-0000-4000-8000-000000000000'), 'BG_E_NOT_FOUND');
    await m.close();
  });

  it('§18.19 TakeOwnership by an administrator changes the owner and strips credentials, headers and the notify command line', async () => {
    const home = tempDir();
    const clock = new TestClock();
    const alice = await createManager({
      home,
      clock,
      owner: '1000',
      isAdmin: false,
      network: new ManualNetworkSource(true),
    });
    const job = await alice.createJob('alice');
    await alice.setCustomHeaders(job.id, ['X-Token: t']);
    await alice.makeCustomHeadersWriteOnly(job.id);
    await alice.setCredentials(job.id, { target: 'SERVER', scheme: 'BASIC', userName: 'alice', password: 'pw' });
    await alice.setNotifyCmdLine(job.id, '/bin/true', null);
    await alice.close();
    const root = await createManager({
      home,
      clock,
      owner: '0',
      isAdmin: true,
      network: new ManualNetworkSource(true),
    });
    assert.equal((await root.getJob(job.id)).owner, '1000', 'an admin sees other users’ jobs');
    // What is the owner's alone (§10): an administrator takes ownership before setting it.
    await rejectsWith(root.setCustomHeaders(job.id, ['X-Root: 1']), 'E_ACCESSDENIED');
    await rejectsWith(
      root.setCredentials(job.id, { target: 'SERVER', scheme: 'BASIC', userName: 'root', password: 'pw' }),
      'E_ACCESSDENIED',
    );
    await rejectsWith(root.removeCredentials(job.id, 'SERVER', 'BASIC'), 'E_ACCESSDENIED');
    await rejectsWith(root.setNotifyCmdLine(job.id, '/bin/false', null), 'E_ACCESSDENIED');
    await rejectsWith(root.setWebhooks(job.id, null), 'E_ACCESSDENIED');
    await root.setDescription(job.id, 'an admin changes the rest');
    await root.takeOwnership(job.id);
    const taken = await root.getJob(job.id);
    assert.equal(taken.owner, '0');
    assert.deepEqual(taken.credentials, []);
    assert.equal(taken.hasCustomHeaders, false);
    assert.equal(taken.notifyCmdLine, null);
    await root.close();
    const again = await createManager({
      home,
      clock,
      owner: '1000',
      isAdmin: false,
      network: new ManualNetworkSource(true),
    });
    await rejectsWith(again.getJob(job.id), 'BG_E_NOT_FOUND');
    await again.close();
  });

  it('§18.20 setter limits and codes', async () => {
    const m = await open();
    const job = await m.createJob('limits');
    await rejectsWith(m.setDescription(job.id, 'd'.repeat(1025)), 'BG_E_STRING_TOO_LONG');
    await rejectsWith(m.setCustomHeaders(job.id, [`X-Big: ${'h'.repeat(16_400)}`]), 'BG_E_STRING_TOO_LONG');
    await rejectsWith(m.setCustomHeaders(job.id, ['X-Evil: a\r\nHost: evil']), 'E_INVALIDARG');
    await rejectsWith(
      m.setProxySettings(job.id, { usage: 'OVERRIDE', proxyList: null, bypassList: null }),
      'E_INVALIDARG',
    );
    await rejectsWith(
      m.setProxySettings(job.id, { usage: 'PRECONFIG', proxyList: 'proxy:8080', bypassList: null }),
      'E_INVALIDARG',
    );
    await rejectsWith(m.setPriority(job.id, 'URGENT' as never), 'E_NOTIMPL');
    await rejectsWith(m.setNotifyFlags(job.id, 0x100), 'E_NOTIMPL');
    await rejectsWith(m.addFile(job.id, 'http://127.0.0.1/x', 'relative/path'), 'E_INVALIDARG');
    await rejectsWith(
      m.setCredentials(job.id, { target: 'SERVER', scheme: 'BASIC', userName: null, password: null }),
      'E_INVALIDARG',
    );
    const before = await m.getJob(job.id);
    assert.equal(before.description, '', 'failed setters changed nothing');
    assert.equal(before.hasCustomHeaders, false);
    await m.close();
  });
});
