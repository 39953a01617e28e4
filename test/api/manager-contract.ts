import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BitsManager, ManagerEvent } from '../../src/api/bits-manager.ts';
import { BitsError, type ErrorName, LIMITS } from '../../src/core/index.ts';

/** What a contract run needs: a manager, a folder its caller may write into, and a teardown. */
export interface ContractSubject {
  readonly manager: BitsManager;
  readonly workDir: string;
  close(): Promise<void>;
}

/** Nothing listens on the discard port: a job pointed here never transfers a byte. */
export const UNREACHABLE = 'http://127.0.0.1:9/never.bin';

/**
 * Assert a call fails with one BITS error name, as a rejected promise carrying a real BitsError
 * (a method that throws synchronously instead breaks `await`-less callers, so it fails here).
 */
export async function rejectsWith(call: () => Promise<unknown>, name: ErrorName): Promise<BitsError> {
  let pending: Promise<unknown>;
  try {
    pending = call();
  } catch (err) {
    assert.fail(`threw synchronously instead of returning a rejected promise: ${String(err)}`);
  }
  try {
    await pending;
  } catch (err) {
    assert.ok(err instanceof BitsError, `expected a BitsError, got ${String(err)}`);
    assert.equal(err.name, name, `expected ${name}, got ${err.name}: ${err.message}`);
    return err;
  }
  assert.fail(`expected ${name}, but the call succeeded`);
}

const PENDING_STATES = ['QUEUED', 'CONNECTING', 'TRANSFERRING', 'TRANSIENT_ERROR'];

/**
 * The one BitsManager contract: the same calls, states and BITS errors whether the manager
 * runs in-process (createManager) or behind bitsd (connect). `factory` runs once per suite;
 * every test makes its own jobs, so tests never depend on each other's.
 */
export function managerContract(label: string, factory: () => Promise<ContractSubject>): void {
  describe(`BitsManager contract: ${label}`, () => {
    let subject: ContractSubject;
    let m: BitsManager;
    let n = 0;
    const local = (): string => join(subject.workDir, `file-${n++}.bin`);
    const newJob = async (name = `contract-${n++}`) => (await m.createJob(name)).id;

    before(async () => {
      subject = await factory();
      m = subject.manager;
    });
    after(async () => {
      await subject?.close();
    });

    it('createJob: a SUSPENDED DOWNLOAD job with BITS defaults, listed and readable', async () => {
      const job = await m.createJob('defaults');
      assert.match(job.id, /^[0-9a-f-]{36}$/);
      assert.equal(job.state, 'SUSPENDED');
      assert.equal(job.type, 'DOWNLOAD');
      assert.equal(job.priority, 'NORMAL');
      assert.equal(job.notifyFlags, 3);
      assert.equal(job.minimumRetryDelay, 600);
      assert.equal(job.noProgressTimeout, 1_209_600);
      assert.equal(job.errorCount, 0);
      assert.deepEqual(job.files, []);
      assert.equal(job.error, null);
      assert.deepEqual(await m.getJob(job.id), job);
      assert.equal((await m.getJob(`{${job.id.toUpperCase()}}`)).id, job.id);
      assert.ok((await m.enumJobs()).some((j) => j.id === job.id));
    });

    it('enumJobSummaries: each listed job in brief, the same fields as its enumJobs view, changes shown', async () => {
      const id = await newJob('brief');
      await m.addFile(id, UNREACHABLE, local());
      await m.setPriority(id, 'HIGH');
      const whole = (await m.enumJobs()).find((j) => j.id === id);
      const brief = (await m.enumJobSummaries()).find((j) => j.id === id);
      assert.ok(whole !== undefined && brief !== undefined);
      assert.deepEqual(brief, {
        id,
        type: whole.type,
        displayName: 'brief',
        owner: whole.owner,
        state: 'SUSPENDED',
        priority: 'HIGH',
        progress: whole.progress,
        errorCount: 0,
      });
      assert.equal(brief.progress.filesTotal, 1);
      assert.deepEqual(
        (await m.enumJobSummaries()).map((j) => j.id),
        (await m.enumJobs()).map((j) => j.id),
        'the same jobs in the same order',
      );
      // A change reaches the summary (a kept summary is per record, not per job).
      await m.setDisplayName(id, 'renamed');
      await m.setPriority(id, 'LOW');
      const again = (await m.enumJobSummaries()).find((j) => j.id === id);
      assert.equal(again?.displayName, 'renamed');
      assert.equal(again?.priority, 'LOW');
      await m.cancel(id);
      assert.ok(!(await m.enumJobSummaries()).some((j) => j.id === id), 'a cancelled job leaves the list');
    });

    it('createJob refuses a name over 256 characters and an unknown type with E_INVALIDARG', async () => {
      await rejectsWith(() => m.createJob('x'.repeat(LIMITS.displayName + 1)), 'E_INVALIDARG');
      await rejectsWith(() => m.createJob('t', 'SIDEWAYS' as never), 'E_INVALIDARG');
      assert.equal((await m.createJob('x'.repeat(LIMITS.displayName))).displayName.length, LIMITS.displayName);
    });

    it('getJob: unknown and malformed ids are BG_E_NOT_FOUND', async () => {
      await rejectsWith(() => m.getJob('00000000-0000-4000-8000-000000000000'), 'BG_E_NOT_FOUND');
      await rejectsWith(() => m.getJob('not-a-guid'), 'BG_E_NOT_FOUND');
    });

    it('findJob: by unique display name and by {GUID} in upper case', async () => {
      const name = `findable-${process.pid}-${n++}`;
      const id = await newJob(name);
      assert.equal((await m.findJob(name)).id, id);
      assert.equal((await m.findJob(`{${id.toUpperCase()}}`)).id, id);
      await m.addFile(id, UNREACHABLE, local());
      const whole = await m.findJob(name);
      const filesLess = await m.findJob(name, { files: false });
      assert.equal(whole.files.length, 1);
      assert.deepEqual(filesLess.files, [], 'files: false leaves the list out');
      assert.deepEqual(filesLess.progress, whole.progress, 'and still totals every file');
      await rejectsWith(() => m.findJob(`no-such-${name}`), 'BG_E_NOT_FOUND');
      await newJob(name);
      await rejectsWith(() => m.findJob(name), 'E_INVALIDARG');
    });

    it('addFile / enumFiles: files keep order, names and unknown size', async () => {
      const id = await newJob();
      const [a, b] = [local(), local()];
      await m.addFile(id, `${UNREACHABLE}?a`, a);
      await m.addFileSet(id, [{ remoteName: `${UNREACHABLE}?b`, localName: b }]);
      const files = await m.enumFiles(id);
      assert.deepEqual(
        files.map((f) => [f.index, f.remoteName, f.localName, f.ranges]),
        [
          [0, `${UNREACHABLE}?a`, a, null],
          [1, `${UNREACHABLE}?b`, b, null],
        ],
      );
      assert.equal(files[0]?.progress.bytesTotal, -1);
      assert.equal((await m.getProgress(id)).filesTotal, 2);
    });

    it('addFile refuses a relative path or a bad URL, and adds nothing', async () => {
      const id = await newJob();
      await rejectsWith(() => m.addFile(id, UNREACHABLE, 'relative/file.bin'), 'E_INVALIDARG');
      await rejectsWith(() => m.addFile(id, 'gopher://example/x', local()), 'E_INVALIDARG');
      assert.deepEqual(await m.enumFiles(id), []);
    });

    it('addFileSet is all or nothing', async () => {
      const id = await newJob();
      const set = [
        { remoteName: `${UNREACHABLE}?1`, localName: local() },
        { remoteName: `${UNREACHABLE}?2`, localName: 'not/absolute' },
      ];
      await rejectsWith(() => m.addFileSet(id, set), 'E_INVALIDARG');
      assert.deepEqual(await m.enumFiles(id), []);
    });

    it('addFileSet with a name in a missing folder refuses the whole set (ERROR_PATH_NOT_FOUND)', async () => {
      const id = await newJob();
      const set = [
        { remoteName: `${UNREACHABLE}?1`, localName: local() },
        { remoteName: `${UNREACHABLE}?2`, localName: local() },
        { remoteName: `${UNREACHABLE}?3`, localName: join(subject.workDir, 'no-such-folder', 'x.bin') },
      ];
      await rejectsWith(() => m.addFileSet(id, set), 'ERROR_PATH_NOT_FOUND');
      assert.deepEqual(await m.enumFiles(id), []);
    });

    it('addFileWithRanges keeps ranges and refuses overlapping ones', async () => {
      const id = await newJob();
      const ranges = [
        { offset: 0, length: 10 },
        { offset: 100, length: -1 },
      ];
      await m.addFileWithRanges(id, UNREACHABLE, local(), ranges);
      assert.deepEqual((await m.enumFiles(id))[0]?.ranges, ranges);
      const overlapping = [
        { offset: 0, length: 10 },
        { offset: 5, length: 10 },
      ];
      await rejectsWith(() => m.addFileWithRanges(id, UNREACHABLE, local(), overlapping), 'BG_E_OVERLAPPING_RANGES');
      assert.equal((await m.enumFiles(id)).length, 1);
    });

    it('resume: BG_E_EMPTY without files; with files the job leaves SUSPENDED; suspend brings it back', async () => {
      const id = await newJob();
      await rejectsWith(() => m.resume(id), 'BG_E_EMPTY');
      assert.equal((await m.getJob(id)).state, 'SUSPENDED');
      await m.addFile(id, UNREACHABLE, local());
      await m.resume(id);
      assert.ok(PENDING_STATES.includes((await m.getJob(id)).state));
      await m.suspend(id);
      assert.equal((await m.getJob(id)).state, 'SUSPENDED');
    });

    it('cancel: S_OK, then the job is gone from GetJob and EnumJobs; its methods are BG_E_INVALID_STATE', async () => {
      const id = await newJob();
      await m.addFile(id, UNREACHABLE, local());
      assert.equal(await m.cancel(id), 'S_OK');
      await rejectsWith(() => m.getJob(id), 'BG_E_NOT_FOUND');
      assert.ok(!(await m.enumJobs()).some((j) => j.id === id));
      // As on a BITS job pointer kept after Cancel: every state method is refused.
      await rejectsWith(() => m.resume(id), 'BG_E_INVALID_STATE');
      await rejectsWith(() => m.cancel(id), 'BG_E_INVALID_STATE');
    });

    it('complete before TRANSFERRED: a download keeps what finished (BG_S_PARTIAL_COMPLETE); an upload cannot', async () => {
      const id = await newJob();
      await m.addFile(id, UNREACHABLE, local());
      assert.equal(await m.complete(id), 'BG_S_PARTIAL_COMPLETE');
      await rejectsWith(() => m.getJob(id), 'BG_E_NOT_FOUND');
      const upload = (await m.createJob('upload', 'UPLOAD')).id;
      await rejectsWith(() => m.complete(upload), 'BG_E_INVALID_STATE');
      assert.equal((await m.getJob(upload)).state, 'SUSPENDED');
    });

    it('getters answer in every state: after Cancel and Complete, CANCELLED / ACKNOWLEDGED (§2.3)', async () => {
      const cancelled = await newJob();
      const remote = `${UNREACHABLE}?getters`;
      await m.addFile(cancelled, remote, local());
      assert.equal(await m.cancel(cancelled), 'S_OK');
      await rejectsWith(() => m.getJob(cancelled), 'BG_E_NOT_FOUND');
      assert.equal(await m.getState(cancelled), 'CANCELLED');
      assert.equal((await m.getProgress(cancelled)).filesTotal, 1);
      assert.ok((await m.getTimes(cancelled)).modificationTime >= (await m.getTimes(cancelled)).creationTime);
      assert.deepEqual(
        (await m.enumFiles(cancelled)).map((f) => f.remoteName),
        [remote],
      );
      await rejectsWith(() => m.getError(cancelled), 'BG_E_ERROR_INFORMATION_UNAVAILABLE');
      await rejectsWith(() => m.setDescription(cancelled, 'x'), 'BG_E_INVALID_STATE');

      const completed = await newJob();
      await m.addFile(completed, UNREACHABLE, local());
      assert.equal(await m.complete(completed), 'BG_S_PARTIAL_COMPLETE');
      assert.equal(await m.getState(completed), 'ACKNOWLEDGED');
      const progress = await m.getProgress(completed);
      assert.deepEqual([progress.filesTotal, progress.filesTransferred], [1, 0]);
      assert.equal((await m.enumFiles(completed)).length, 1);
      assert.equal(await m.getCustomHeaders(completed), null);
      await rejectsWith(() => m.resume(completed), 'BG_E_INVALID_STATE');
      await rejectsWith(() => m.getState('00000000-0000-4000-8000-00000000dead'), 'BG_E_NOT_FOUND');
    });

    it('property setters round-trip and bad values get their BITS error', async () => {
      const id = await newJob();
      await m.setDisplayName(id, 'renamed');
      await m.setDescription(id, 'a description');
      await m.setPriority(id, 'HIGH');
      await m.setNotifyFlags(id, 0x3f);
      await m.setMinimumRetryDelay(id, 1); // clamped to 5
      await m.setNoProgressTimeout(id, 120);
      await m.setMaximumDownloadTime(id, 3600);
      await m.setSecurityFlags(id, 0x0200);
      await m.setProxySettings(id, { usage: 'OVERRIDE', proxyList: 'proxy.local:3128', bypassList: null });
      await m.setNotifyCmdLine(id, '/bin/true', 'arg');
      const job = await m.getJob(id);
      assert.equal(job.displayName, 'renamed');
      assert.equal(job.description, 'a description');
      assert.equal(job.priority, 'HIGH');
      assert.equal(job.notifyFlags, 0x3f);
      assert.equal(job.minimumRetryDelay, 5);
      assert.equal(job.noProgressTimeout, 120);
      assert.equal(job.maximumDownloadTime, 3600);
      assert.equal(job.securityFlags, 0x0200);
      assert.deepEqual(job.proxy, { usage: 'OVERRIDE', proxyList: 'proxy.local:3128', bypassList: null });
      assert.deepEqual(job.notifyCmdLine, { program: '/bin/true', parameters: 'arg' });
      assert.ok(job.times.modificationTime >= job.times.creationTime);

      await rejectsWith(() => m.setPriority(id, 'URGENT' as never), 'E_NOTIMPL');
      await rejectsWith(() => m.setNotifyFlags(id, 0x40), 'E_NOTIMPL');
      await rejectsWith(() => m.setDescription(id, 'd'.repeat(LIMITS.description + 1)), 'BG_E_STRING_TOO_LONG');
      await rejectsWith(() => m.setNoProgressTimeout(id, -1), 'E_INVALIDARG');
      await rejectsWith(
        () => m.setProxySettings(id, { usage: 'NO_PROXY', proxyList: 'x:1', bypassList: null }),
        'E_INVALIDARG',
      );
      assert.equal((await m.getJob(id)).priority, 'HIGH');
    });

    it('setFileMode: null (follow the umask) by default; permission bits only; null again', async () => {
      const id = await newJob();
      assert.equal((await m.getJob(id)).fileMode, null);
      await m.setFileMode(id, 0o600);
      assert.equal((await m.getJob(id)).fileMode, 0o600);
      for (const bad of [0o4755, 0o1777, -1, 1.5, 0o1000]) {
        await rejectsWith(() => m.setFileMode(id, bad), 'E_INVALIDARG');
      }
      assert.equal((await m.getJob(id)).fileMode, 0o600, 'a refused value changes nothing');
      await m.setFileMode(id, null);
      assert.equal((await m.getJob(id)).fileMode, null);
    });

    it('custom headers: owner reads them until made write-only, then E_ACCESSDENIED', async () => {
      const id = await newJob();
      assert.equal(await m.getCustomHeaders(id), null);
      await m.setCustomHeaders(id, ['X-One: 1', 'X-Two: two']);
      assert.deepEqual(await m.getCustomHeaders(id), ['X-One: 1', 'X-Two: two']);
      await rejectsWith(() => m.setCustomHeaders(id, ['X-Bad: a\r\nHost: evil']), 'E_INVALIDARG');
      await m.makeCustomHeadersWriteOnly(id);
      await rejectsWith(() => m.getCustomHeaders(id), 'E_ACCESSDENIED');
      const job = await m.getJob(id);
      assert.equal(job.hasCustomHeaders, true);
      assert.equal(job.customHeadersWriteOnly, true);
    });

    it('credentials: listed without the password; removing twice gives S_OK then S_FALSE', async () => {
      const id = await newJob();
      await m.setCredentials(id, { target: 'SERVER', scheme: 'BASIC', userName: 'ann', password: 's3cret' });
      const job = await m.getJob(id);
      assert.deepEqual(job.credentials, [{ target: 'SERVER', scheme: 'BASIC', userName: 'ann' }]);
      assert.ok(!JSON.stringify(job).includes('s3cret'));
      await rejectsWith(
        () => m.setCredentials(id, { target: 'ELSEWHERE' as never, scheme: 'BASIC', userName: 'a', password: 'b' }),
        'BG_E_INVALID_AUTH_TARGET',
      );
      // Schemes no engine answers are refused, not stored (issue 12 item 10).
      for (const scheme of ['NTLM', 'NEGOTIATE', 'PASSPORT'] as const) {
        await rejectsWith(
          () => m.setCredentials(id, { target: 'SERVER', scheme, userName: 'a', password: 'b' }),
          'E_NOTIMPL',
        );
      }
      assert.deepEqual((await m.getJob(id)).credentials, [{ target: 'SERVER', scheme: 'BASIC', userName: 'ann' }]);
      assert.equal(await m.removeCredentials(id, 'SERVER', 'BASIC'), 'S_OK');
      assert.equal(await m.removeCredentials(id, 'SERVER', 'BASIC'), 'S_FALSE');
      assert.deepEqual((await m.getJob(id)).credentials, []);
    });

    it('replaceRemotePrefix and setRemoteName', async () => {
      const id = await newJob();
      await m.addFile(id, 'http://127.0.0.1:9/a/one.bin', local());
      assert.equal(await m.replaceRemotePrefix(id, 'http://127.0.0.1:9/a/', 'http://127.0.0.1:9/b/'), 'S_OK');
      assert.equal(await m.replaceRemotePrefix(id, 'http://nowhere.invalid/', 'http://127.0.0.1:9/c/'), 'S_FALSE');
      assert.equal((await m.enumFiles(id))[0]?.remoteName, 'http://127.0.0.1:9/b/one.bin');
      await m.setRemoteName(id, 0, 'http://127.0.0.1:9/z.bin');
      assert.equal((await m.enumFiles(id))[0]?.remoteName, 'http://127.0.0.1:9/z.bin');
      await rejectsWith(() => m.setRemoteName(id, 7, UNREACHABLE), 'E_INVALIDARG');
    });

    it('getError without an error, and reply calls on a download job', async () => {
      const id = await newJob();
      await rejectsWith(() => m.getError(id), 'BG_E_ERROR_INFORMATION_UNAVAILABLE');
      await rejectsWith(() => m.getReplyData(id), 'E_NOTIMPL');
      await rejectsWith(() => m.getReplyFileName(id), 'E_NOTIMPL');
    });

    it('upload-reply jobs answer the reply calls; reply data only once TRANSFERRED', async () => {
      const job = await m.createJob('reply', 'UPLOAD_REPLY');
      assert.equal(job.type, 'UPLOAD_REPLY');
      assert.equal(await m.getReplyFileName(job.id), null);
      assert.equal((await m.getReplyProgress(job.id)).bytesTransferred, 0);
      await rejectsWith(() => m.getReplyData(job.id), 'BG_E_INVALID_STATE');
    });

    it('upload-reply: with no reply file name BITS generates one beside the file once it is added; NULL returns to it', async () => {
      const job = await m.createJob('reply-name', 'UPLOAD_REPLY');
      const source = local();
      await writeFile(source, 'form');
      await m.addFile(job.id, 'http://127.0.0.1:9/form', source);
      const generated = `${source}.${job.id}.reply`;
      assert.equal(await m.getReplyFileName(job.id), generated);
      assert.equal((await m.getJob(job.id)).replyFileName, generated);
      await m.setReplyFileName(job.id, join(subject.workDir, 'mine.reply'));
      assert.equal(await m.getReplyFileName(job.id), join(subject.workDir, 'mine.reply'));
      await m.setReplyFileName(job.id, null);
      assert.equal(await m.getReplyFileName(job.id), generated);
    });

    it('getErrorDescription gives the registry text', async () => {
      assert.equal(await m.getErrorDescription(0x80200001), 'The requested job was not found.');
      assert.equal(await m.getErrorDescription(0x80190194), 'The server returned HTTP status 404.');
    });

    it('events: subscribe sees this job’s state and modification events only; unsubscribe stops them', async () => {
      const id = await newJob();
      const other = await newJob();
      await m.addFile(id, UNREACHABLE, local());
      const seen: ManagerEvent[] = [];
      const unsubscribe = m.subscribe((e) => seen.push(e), { jobId: id });
      await unsubscribe.ready;
      const modified = waitFor(m, id, (e) => e.type === 'job:modified');
      await m.setDescription(other, 'not for this listener');
      await m.setDescription(id, 'changed');
      await modified;
      const resumed = waitFor(m, id, (e) => e.type === 'job:state' && e.previous === 'SUSPENDED');
      await m.resume(id);
      const state = await resumed;
      assert.ok(state.type === 'job:state' && PENDING_STATES.includes(state.state));
      const suspended = waitFor(m, id, (e) => e.type === 'job:state' && e.state === 'SUSPENDED');
      await m.suspend(id);
      await suspended;
      assert.ok(seen.every((e) => e.jobId === id));
      assert.ok(seen.some((e) => e.type === 'job:modified'));
      assert.ok(seen.some((e) => e.type === 'job:state' && e.state === 'SUSPENDED'));
      unsubscribe();
      const count = seen.length;
      await m.setDescription(id, 'after unsubscribe');
      await m.getJob(id); // a round trip after the change: its event would have come first
      assert.equal(seen.length, count);
    });

    it('events(): an async iterator that ends when its signal aborts', async () => {
      const id = await newJob();
      const abort = new AbortController();
      const iterator = m.events({ jobId: id, signal: abort.signal })[Symbol.asyncIterator]();
      const first = iterator.next();
      await settle(m);
      await m.setDisplayName(id, 'iterated');
      const { value } = await first;
      assert.deepEqual(value, { type: 'job:modified', jobId: id });
      abort.abort();
      assert.equal((await iterator.next()).done, true);
    });
  });
}

/** Resolve with the first event for `jobId` that matches (subscribed before the caller acts). */
function waitFor(m: BitsManager, jobId: string, match: (e: ManagerEvent) => boolean): Promise<ManagerEvent> {
  return new Promise((resolve) => {
    const off = m.subscribe(
      (e) => {
        if (!match(e)) return;
        off();
        resolve(e);
      },
      { jobId },
    );
  });
}

/** Over a socket the event stream opens in the background: wait until it is live. */
async function settle(m: BitsManager): Promise<void> {
  const off = m.subscribe(() => {});
  await off.ready;
  off();
}
