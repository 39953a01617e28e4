import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BitsManager } from '../../src/api/bits-manager.ts';
import { runBitsadmin } from '../../src/cli/run.ts';
import { sleep as realSleep } from '../../src/cli/sleep.ts';
import { FileServer, sha256 } from '../helpers/file-server.ts';
import { waitForState } from '../helpers/manager-harness.ts';
import { TestClock } from '../helpers/test-clock.ts';
import { bitsadmin, body, Capture, makeManager } from './helpers.ts';

// /transfer end to end: the real in-process manager downloading from a real HTTP origin on
// 127.0.0.1 (Content-Length, Range), the CLI following it through events.

let server: FileServer;
let dir: string;
before(async () => {
  server = await FileServer.start();
  dir = await mkdtemp(join(tmpdir(), 'bitsadmin-transfer-'));
});
after(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

async function jobNamed(m: BitsManager, name: string) {
  return (await m.enumJobs()).find((j) => j.displayName === name) ?? null;
}

describe('/transfer against a local HTTP server', () => {
  it('downloads, prints paced progress lines on a pipe, completes the job and exits 0', async () => {
    const m = await makeManager();
    const data = server.add('/drip.bin', 300_000, { rateBps: 150_000 });
    const local = join(dir, 'drip.bin');
    const started = performance.now();
    const r = await bitsadmin(m, ['/transfer', 'drip', server.url('/drip.bin'), local]);
    const seconds = (performance.now() - started) / 1000;
    assert.equal(r.code, 0, r.stderr);
    const lines = body(r.stdout).trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^DISPLAY: 'drip' TYPE: DOWNLOAD PRIORITY: NORMAL JOB: \{[0-9A-F-]{36}\}$/u);
    assert.equal(lines.at(-1), 'Transfer complete.');
    assert.match(lines.at(-2) ?? '', /^Transferred 293 KiB \(1 file\) in \d+:\d\d at [\d.]+ KiB\/s\.$/u);
    assert.equal(lines.at(-3), 'STATE: TRANSFERRED FILES: 1 / 1 BYTES: 300000 / 300000 (100%)');
    const moving = lines.filter((l) => l.startsWith('STATE: TRANSFERRING'));
    assert.ok(moving.length >= 1, r.stdout);
    // A rate only once bytes move; with the size known it always gives a time left (--:-- is
    // for an unknown size only).
    for (const l of moving)
      assert.match(
        l,
        /^STATE: TRANSFERRING FILES: [01] \/ 1 BYTES: \d+ \/ (300000 \(\d+%\)( RATE: [\d.]+ (B|KiB)\/s ETA: \d+:\d\d)?|UNKNOWN( RATE: [\d.]+ (B|KiB)\/s ETA: --:--)?)$/u,
      );
    // Paced: besides state changes, at most one line a second.
    assert.ok(moving.length <= Math.ceil(seconds) + 1, `${moving.length} lines in ${seconds} s`);
    const bytes = moving.map((l) => Number(/BYTES: (\d+)/u.exec(l)?.[1]));
    assert.deepEqual(
      bytes,
      [...bytes].sort((a, b) => a - b),
    );
    assert.equal(sha256(await readFile(local)), sha256(data));
    assert.equal(await jobNamed(m, 'drip'), null, 'completed jobs leave the queue');
  });

  it('takes several pairs, a type and a priority', async () => {
    const m = await makeManager();
    const a = server.add('/pair-a.bin', 10_000);
    const b = server.add('/pair-b.bin', 20_000);
    const r = await bitsadmin(m, [
      '/transfer',
      'pairs',
      '/download',
      '/priority',
      'foreground',
      server.url('/pair-a.bin'),
      join(dir, 'pair-a.bin'),
      server.url('/pair-b.bin'),
      join(dir, 'pair-b.bin'),
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /PRIORITY: FOREGROUND/u);
    assert.match(r.stdout, /STATE: TRANSFERRED FILES: 2 \/ 2 BYTES: 30000 \/ 30000 \(100%\)/u);
    assert.deepEqual(await readFile(join(dir, 'pair-a.bin')), a);
    assert.deepEqual(await readFile(join(dir, 'pair-b.bin')), b);
  });

  it('a fatal error (404) cancels the job and exits 1 with the BITS error', async () => {
    const m = await makeManager();
    const local = join(dir, 'nothing.bin');
    const r = await bitsadmin(m, ['/transfer', 'nothing', server.url('/nothing.bin'), local]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^ERROR: BG_E_HTTP_ERROR_404 \(0x80190194\) /mu);
    assert.ok(r.stdout.includes(`ERROR FILE:    ${server.url('/nothing.bin')} -> ${local}`), r.stdout);
    assert.match(r.stdout, /Unable to complete transfer\.\n$/u);
    assert.equal(await jobNamed(m, 'nothing'), null, 'the job was cancelled');
    assert.equal(existsSync(local), false);
  });

  it('waits through TRANSIENT_ERROR (503, retried after the retry delay) and then completes', async () => {
    const clock = new TestClock();
    const m = await makeManager({ clock });
    const data = server.add('/busy.bin', 5_000, {
      before: (_req, res, hit) => {
        if (hit > 1) return false;
        res.writeHead(503, { 'content-length': '0' }).end();
        return true;
      },
    });
    let sawTransient = false;
    // The retry delay runs on the manager's TestClock: move it on instead of waiting 600 s.
    const sleep = async (_ms: number, signal?: AbortSignal): Promise<void> => {
      const job = await jobNamed(m, 'busy');
      if (job?.state === 'TRANSIENT_ERROR') {
        sawTransient = true;
        clock.advance(600_000);
      }
      await realSleep(20, signal);
    };
    const r = await bitsadmin(m, ['/transfer', 'busy', server.url('/busy.bin'), join(dir, 'busy.bin')], { sleep });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(sawTransient);
    assert.match(r.stdout, /^STATE: TRANSIENT_ERROR /mu);
    assert.match(r.stdout, /Transfer complete\.\n$/u);
    assert.deepEqual(await readFile(join(dir, 'busy.bin')), data);
  });

  it('Ctrl-C suspends the job (exit 130); /resume and /complete finish it later', async () => {
    const m = await makeManager();
    const data = server.add('/slow.bin', 400_000, { rateBps: 40_000 });
    const route = server.routes.get('/slow.bin');
    const stop = new AbortController();
    const sleep = async (_ms: number, signal?: AbortSignal): Promise<void> => {
      const job = await jobNamed(m, 'slow');
      if (job !== null && job.progress.bytesTransferred > 0) stop.abort();
      await realSleep(50, signal);
    };
    const local = join(dir, 'slow.bin');
    const r = await bitsadmin(m, ['/transfer', 'slow', server.url('/slow.bin'), local], { sleep, signal: stop.signal });
    assert.equal(r.code, 130);
    const job = await jobNamed(m, 'slow');
    assert.ok(job !== null);
    assert.equal(job.state, 'SUSPENDED');
    assert.ok(r.stderr.includes(`To resume it: bitsadmin /resume {${job.id.toUpperCase()}}`), r.stderr);
    assert.match(r.stdout, /Transfer interrupted; job \{[0-9A-F-]{36}\} suspended\.\n$/u);

    if (route !== undefined) delete route.rateBps;
    assert.equal((await bitsadmin(m, ['/resume', `{${job.id.toUpperCase()}}`])).code, 0);
    await waitForState(m, job.id, 'TRANSFERRED');
    assert.equal((await bitsadmin(m, ['/complete', 'slow'])).code, 0);
    assert.equal(sha256(await readFile(local)), sha256(data));
  });

  it('follows a job of 60 files from its events: no read of the file list, reads that do not grow with the files', async () => {
    const m = await makeManager();
    const reads: Array<{ files?: boolean } | undefined> = [];
    // The real manager, its getJob counted (what bitsd would serve for each read).
    const counted = new Proxy(m, {
      get(target, key) {
        if (key === 'getJob') {
          return (id: string, options?: { files?: boolean }) => {
            reads.push(options);
            return target.getJob(id, options);
          };
        }
        const v = Reflect.get(target, key);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    }) as BitsManager;
    const argv = ['/transfer', 'many', '/priority', 'foreground'];
    for (let i = 0; i < 60; i++) {
      server.add(`/many-${i}.bin`, 4_096);
      argv.push(server.url(`/many-${i}.bin`), join(dir, `many-${i}.bin`));
    }
    // No poll: what moves the display is the event stream alone.
    const r = await bitsadmin(counted, argv, {
      sleep: (_ms, signal) => new Promise((resolve) => signal?.addEventListener('abort', () => resolve())),
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /STATE: TRANSFERRED FILES: 60 \/ 60 BYTES: 245760 \/ 245760 \(100%\)/u);
    assert.ok(reads.length > 0 && reads.every((o) => o?.files === false), JSON.stringify(reads));
    // One read at the start and one per state change (QUEUED, CONNECTING, TRANSFERRING, TRANSFERRED…).
    assert.ok(reads.length <= 8, `${reads.length} reads for 60 files`);
  });

  it('--json prints one document: the job at TRANSFERRED and the Complete result', async () => {
    const m = await makeManager();
    server.add('/json.bin', 2_000);
    const r = await bitsadmin(m, ['--json', '/transfer', 'js', server.url('/json.bin'), join(dir, 'json.bin')]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.result, 'S_OK');
    assert.equal(doc.job.state, 'TRANSFERRED');
    assert.equal(doc.job.progress.bytesTransferred, 2_000);
    assert.equal(doc.job.files.length, 1, 'the whole job, files included');
  });

  it('on a terminal draws a progress bar instead of lines', async () => {
    const m = await makeManager();
    const data = server.add('/tty.bin', 200_000, { rateBps: 200_000 });
    const stdout = new Capture();
    stdout.isTTY = true;
    const stderr = new Capture();
    const code = await runBitsadmin(['/transfer', 'tty', server.url('/tty.bin'), join(dir, 'tty.bin')], {
      manager: async () => m,
      stdout,
      stderr,
      isTTY: true,
      columns: 120,
    });
    assert.equal(code, 0, stderr.text);
    // IEC sizes, the rate and the time left on the bar; the summary line below it.
    assert.match(stdout.text, /TRANSFERRED {2}\[█{40}\] 100% 195 KiB \/ 195 KiB .*ETA .* files 1\/1/u);
    assert.match(stdout.text, /\nTransferred 195 KiB \(1 file\) in \d+:\d\d at [\d.]+ KiB\/s\.\n/u);
    assert.doesNotMatch(stdout.text, /^STATE: /mu);
    assert.match(stdout.text, /Transfer complete\.\n$/u);
    assert.deepEqual(await readFile(join(dir, 'tty.bin')), data);
  });

  it('/rawreturn /transfer prints only the GUID of the job', async () => {
    const m = await makeManager();
    server.add('/raw.bin', 1_000);
    const r = await bitsadmin(m, ['/rawreturn', '/transfer', 'raw', server.url('/raw.bin'), join(dir, 'raw.bin')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\{[0-9A-F-]{36}\}$/u);
  });
});
