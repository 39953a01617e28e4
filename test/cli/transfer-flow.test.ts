import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BitsManager } from '../../src/api/contract.ts';
import { parseTransferArgs } from '../../src/cli/commands/transfer.ts';
import { plainProgress, type progressLine } from '../../src/cli/transfer-progress.ts';
import { bitsadmin, body, makeManager } from './helpers.ts';

/** The id of the one job with this display name, or null once it has left the queue. */
async function jobNamed(m: BitsManager, name: string): Promise<string | null> {
  return (await m.enumJobs()).find((j) => j.displayName === name)?.id ?? null;
}

describe('/transfer argument parsing', () => {
  it('takes a type, a priority and pairs, in bitsadmin order', () => {
    assert.deepEqual(parseTransferArgs(['n', '/UPLOAD', '/priority', 'foreground', 'http://h/u', '/tmp/f']), {
      name: 'n',
      type: 'UPLOAD',
      priority: 'FOREGROUND',
      files: [{ remoteName: 'http://h/u', localName: '/tmp/f' }],
    });
    assert.equal(parseTransferArgs(['n', 'http://h/a', '/tmp/a', 'http://h/b', '/tmp/b']).files.length, 2);
  });

  it('bad command lines exit 2 with the usage of /transfer, and create no job', async () => {
    const m = await makeManager();
    for (const argv of [
      ['/transfer'],
      ['/transfer', 'n'],
      ['/transfer', 'n', 'http://h/a'],
      ['/transfer', 'n', '/priority'],
      ['/transfer', 'n', '/priority', 'asap', 'http://h/a', '/tmp/a'],
    ]) {
      const r = await bitsadmin(m, argv);
      assert.equal(r.code, 2, argv.join(' '));
      assert.match(r.stderr, /Usage: bitsadmin \/transfer <name>/u);
    }
    assert.deepEqual(await m.enumJobs(), []);
  });

  it('a file that cannot be added fails the call and leaves no job behind', async () => {
    const m = await makeManager();
    const r = await bitsadmin(m, ['/transfer', 'bad', 'http://127.0.0.1:9/a', 'relative/path']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^ERROR: E_INVALIDARG/mu);
    assert.deepEqual(await m.enumJobs(), []);
  });
});

describe('/transfer progress rendering', () => {
  it('plain progress prints on every state change and at most once per interval otherwise', () => {
    const lines: string[] = [];
    let now = 0;
    const view = plainProgress(
      (l) => lines.push(l),
      () => now,
      1000,
    );
    const job = (state: string, done: number) =>
      ({
        state,
        progress: { bytesTotal: 1000, bytesTransferred: done, filesTotal: 1, filesTransferred: done === 1000 ? 1 : 0 },
      }) as unknown as Parameters<typeof progressLine>[0];
    view.update(job('QUEUED', 0));
    view.update(job('TRANSFERRING', 10));
    now = 300;
    view.update(job('TRANSFERRING', 200));
    now = 900;
    view.update(job('TRANSFERRING', 400));
    now = 1100;
    view.update(job('TRANSFERRING', 600));
    now = 1200;
    view.update(job('TRANSFERRED', 1000));
    assert.deepEqual(lines, [
      'STATE: QUEUED FILES: 0 / 1 BYTES: 0 / 1000 (0%)',
      'STATE: TRANSFERRING FILES: 0 / 1 BYTES: 10 / 1000 (1%)',
      'STATE: TRANSFERRING FILES: 0 / 1 BYTES: 600 / 1000 (60%)',
      'STATE: TRANSFERRED FILES: 1 / 1 BYTES: 1000 / 1000 (100%)',
    ]);
  });
});

// These drive the job's state from the test (the in-memory double moves no bytes); the
// transfer tests against a real server are in transfer-http.test.ts.
describe('/transfer outcomes', () => {
  it('completes the job when it reaches TRANSFERRED and says "Transfer complete."', async () => {
    const m = await makeManager();
    if (m.force === undefined) return assert.ok(true, 'only with the in-memory double');
    const force = m.force.bind(m);
    const sleep = async (): Promise<void> => {
      const id = await jobNamed(m, 'ok');
      if (id !== null) force(id, 'TRANSFERRED');
    };
    const r = await bitsadmin(m, ['/transfer', 'ok', '/priority', 'HIGH', 'http://127.0.0.1:9/a', '/tmp/ok-a'], {
      sleep,
    });
    assert.equal(r.code, 0, r.stderr);
    const text = body(r.stdout);
    assert.match(text, /^DISPLAY: 'ok' TYPE: DOWNLOAD PRIORITY: HIGH JOB: \{[0-9A-F-]{36}\}\n/u);
    assert.match(text, /^STATE: QUEUED FILES: 0 \/ 1 BYTES: 0 \/ UNKNOWN$/mu);
    assert.match(text, /\nTransfer complete\.\n$/u);
    assert.equal(await jobNamed(m, 'ok'), null);
  });

  it('cancels the job on ERROR and exits 1 with the BITS error', async () => {
    const m = await makeManager();
    if (m.force === undefined) return assert.ok(true, 'only with the in-memory double');
    const force = m.force.bind(m);
    const sleep = async (): Promise<void> => {
      const id = await jobNamed(m, 'bad');
      if (id !== null) {
        force(id, 'ERROR', {
          name: 'BG_E_HTTP_ERROR_404',
          hresult: 0x80190194,
          context: 'REMOTE_FILE',
          message: 'The server returned HTTP status 404.',
        });
      }
    };
    const r = await bitsadmin(m, ['/transfer', 'bad', 'http://127.0.0.1:9/a', '/tmp/bad-a'], { sleep });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^ERROR: BG_E_HTTP_ERROR_404 \(0x80190194\) The server returned HTTP status 404\.$/mu);
    assert.match(r.stdout, /ERROR CODE: {4}0x80190194/u);
    assert.match(r.stdout, /Unable to complete transfer\.\n$/u);
    assert.equal(await jobNamed(m, 'bad'), null);
  });

  it('waits through TRANSIENT_ERROR', async () => {
    const m = await makeManager();
    if (m.force === undefined) return assert.ok(true, 'only with the in-memory double');
    const force = m.force.bind(m);
    let calls = 0;
    const sleep = async (): Promise<void> => {
      const id = await jobNamed(m, 'flaky');
      if (id === null) return;
      calls++;
      if (calls === 1) {
        force(id, 'TRANSIENT_ERROR', {
          name: 'ERROR_INTERNET_CANNOT_CONNECT',
          hresult: 0x80072efd,
          context: 'REMOTE_FILE',
          message: 'A connection with the server could not be established.',
        });
      } else force(id, 'TRANSFERRED');
    };
    const r = await bitsadmin(m, ['/transfer', 'flaky', 'http://127.0.0.1:9/a', '/tmp/flaky-a'], { sleep });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /STATE: TRANSIENT_ERROR/u);
    assert.match(r.stdout, /Transfer complete\./u);
  });

  it('Ctrl-C suspends the job, says how to resume it and exits 130', async () => {
    const m = await makeManager();
    const stop = new AbortController();
    const sleep = async (): Promise<void> => stop.abort();
    const r = await bitsadmin(m, ['/transfer', 'stopped', 'http://127.0.0.1:9/a', '/tmp/stopped-a'], {
      sleep,
      signal: stop.signal,
    });
    assert.equal(r.code, 130);
    const id = await jobNamed(m, 'stopped');
    assert.ok(id !== null);
    assert.equal((await m.getJob(id)).state, 'SUSPENDED');
    assert.ok(r.stderr.includes(`bitsadmin /resume {${id.toUpperCase()}}`), r.stderr);
  });

  it('--json prints one document at the end', async () => {
    const m = await makeManager();
    if (m.force === undefined) return assert.ok(true, 'only with the in-memory double');
    const force = m.force.bind(m);
    const sleep = async (): Promise<void> => {
      const id = await jobNamed(m, 'js');
      if (id !== null) force(id, 'TRANSFERRED');
    };
    const r = await bitsadmin(m, ['--json', '/transfer', 'js', 'http://127.0.0.1:9/a', '/tmp/js-a'], { sleep });
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.result, 'S_OK');
    assert.equal(doc.job.state, 'TRANSFERRED');
  });
});
