import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTransferArgs } from '../../src/cli/commands/transfer.ts';
import { plainProgress, type progressLine } from '../../src/cli/transfer-progress.ts';
import { bitsadmin, makeManager } from './helpers.ts';

describe('/transfer argument parsing', () => {
  it('takes a type, a priority and pairs, in bitsadmin order', () => {
    assert.deepEqual(parseTransferArgs(['n', '/UPLOAD', '/priority', 'foreground', 'http://h/u', '/tmp/f']), {
      name: 'n',
      type: 'UPLOAD',
      priority: 'FOREGROUND',
      dynamic: false,
      files: [{ remoteName: 'http://h/u', localName: '/tmp/f' }],
    });
    assert.equal(parseTransferArgs(['n', 'http://h/a', '/tmp/a', 'http://h/b', '/tmp/b']).files.length, 2);
    // Windows's /ACLFlags (SMB only; nothing to copy over HTTP) and /DYNAMIC are accepted.
    const win = parseTransferArgs(['n', '/download', '/ACLFlags', 'OG', '/DYNAMIC', 'http://h/u', '/tmp/f']);
    assert.equal(win.dynamic, true);
  });

  it('beyond Windows: no job name when the first argument is a URL, relative local names against the cwd', () => {
    assert.deepEqual(parseTransferArgs(['https://example.org/dl/file%20one.iso', 'out/f.iso'], '/home/me'), {
      name: 'file one.iso',
      type: 'DOWNLOAD',
      priority: null,
      dynamic: false,
      files: [{ remoteName: 'https://example.org/dl/file%20one.iso', localName: '/home/me/out/f.iso' }],
    });
    const t = parseTransferArgs(['/priority', 'high', 'http://h/', 'x'], '/w');
    assert.deepEqual([t.name, t.priority, t.files[0]?.localName], ['transfer', 'HIGH', '/w/x']);
    // A name that is not a URL is still the name (Windows order).
    assert.equal(parseTransferArgs(['nightly', 'http://h/a', 'a'], '/w').name, 'nightly');
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
      assert.match(r.stderr, /Usage: bitsadmin \/transfer \[<name>\]/u);
    }
    assert.deepEqual(await m.enumJobs(), []);
  });

  it('a file that cannot be added fails the call and leaves no job behind', async () => {
    const m = await makeManager();
    const r = await bitsadmin(m, ['/transfer', 'bad', 'ftp://127.0.0.1:9/a', '/tmp/a']);
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
    // The rate is measured over a sliding window of the byte counts seen.
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
      'STATE: TRANSFERRING FILES: 0 / 1 BYTES: 600 / 1000 (60%) RATE: 545 B/s ETA: 0:01',
      'STATE: TRANSFERRED FILES: 1 / 1 BYTES: 1000 / 1000 (100%)',
    ]);
  });
});
