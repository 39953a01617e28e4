import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { systemClock } from '../../src/core/clock.ts';
import type { RunReports } from '../../src/service/download-runner.ts';
import { MemoryJobStore } from '../../src/store/index.ts';
import type { FileChange } from '../../src/store/job-store.ts';
import { startOrigin } from '../helpers/origin-server.ts';
import { runFileJob } from '../helpers/run-file-job.ts';

// The next file's request leaves once the previous body is read: the previous file's write,
// digest check and sync hand-over overlap it. Records still come in file order, and a file
// after a failed one is never recorded transferred.

const JOB = '00000000-0000-4000-8000-0000000000b1';
const made: string[] = [];
after(() => {
  for (const path of made) rmSync(path, { recursive: true, force: true });
});

const origin = await startOrigin();
after(() => origin.close());

function answer(res: ServerResponse, body: Buffer, status = 200): void {
  res.writeHead(status, { 'content-length': String(body.length) }).end(body);
}

/** Resolves when `path` has been asked for (or at once if it was). */
function requested(path: string): Promise<void> {
  return new Promise((resolve) => {
    const poll = (): void => {
      if (origin.hits(path).length > 0) resolve();
      else setImmediate(poll);
    };
    poll();
  });
}

async function runTwo(prefix: string, bodies: Buffer[]) {
  const folder = mkdtempSync(join(tmpdir(), 'openbits-overlap-'));
  made.push(folder);
  const store = new MemoryJobStore();
  const ctx = { owner: 'alice', isAdmin: true, now: systemClock.wallMs() };
  store.createJob({ ...ctx, id: JOB, type: 'DOWNLOAD', displayName: 'overlap' });
  const job = store.addFiles(
    JOB,
    bodies.map((body, i) => ({
      remoteName: origin.url(`${prefix}/f${i}`),
      localName: join(folder, `out${i}.bin`),
      digests: [{ algorithm: 'sha-256' as const, value: createHash('sha256').update(body).digest('hex') }],
    })),
    ctx,
  );
  const changes: FileChange[] = [];
  const report: RunReports = {
    connected() {},
    file() {},
    files(c) {
      changes.push(...c);
    },
    checkpoint() {},
    sourceDropped() {},
    progress() {},
  };
  const outcome = await runFileJob(job, report);
  return { folder, changes, outcome };
}

it("sends the next file's request while the previous file is still being checked, and records both in order", {
  timeout: 10_000,
}, async () => {
  const bodies = [randomBytes(64 * 1024), randomBytes(64 * 1024)];
  // f0's first body fails its digest; its re-fetch is answered only once f1 was asked for, which
  // a runner that waits for f0's end (write, check, sync hand-over) never does.
  origin.route('/a/f0', async (_req, res, n) => {
    if (n === 1) return answer(res, randomBytes(64 * 1024));
    await requested('/a/f1');
    answer(res, bodies[0] as Buffer);
  });
  origin.route('/a/f1', (_req, res) => answer(res, bodies[1] as Buffer));
  const { changes, outcome } = await runTwo('/a', bodies);
  assert.deepEqual(outcome, { kind: 'done' });
  assert.deepEqual(
    changes.map((c) => c.index),
    [0, 1],
  );
  assert.deepEqual(
    origin.requests.filter((r) => r.path.startsWith('/a/')).map((r) => r.path),
    ['/a/f0', '/a/f1', '/a/f0'],
  );
});

it('a file started beside a failing one is never recorded transferred', { timeout: 10_000 }, async () => {
  const bodies = [randomBytes(64 * 1024), randomBytes(64 * 1024)];
  const f1Sent = Promise.withResolvers<void>();
  // f0's re-fetch fails (fatal 404) only after all of f1's body went out.
  origin.route('/b/f0', async (_req, res, n) => {
    if (n === 1) return answer(res, randomBytes(64 * 1024));
    await f1Sent.promise;
    answer(res, Buffer.from('gone'), 404);
  });
  origin.route('/b/f1', async (_req, res) => {
    answer(res, bodies[1] as Buffer);
    await once(res, 'finish');
    f1Sent.resolve();
  });
  const { changes, outcome } = await runTwo('/b', bodies);
  assert.equal(outcome.kind, 'failed');
  assert.equal(outcome.kind === 'failed' && outcome.fileIndex, 0);
  assert.deepEqual(changes, [], 'nothing recorded: f0 failed, f1 came after it');
});

it('a file still streaming beside a failing one is stopped: its request is closed, the run ends', {
  timeout: 10_000,
}, async () => {
  const bodies = [randomBytes(64 * 1024), randomBytes(64 * 1024)];
  const f1Streaming = Promise.withResolvers<void>();
  const f1Closed = Promise.withResolvers<void>();
  // f0's re-fetch fails once f1 is streaming a body that would take minutes.
  origin.route('/c/f0', async (_req, res, n) => {
    if (n === 1) return answer(res, randomBytes(64 * 1024));
    await f1Streaming.promise;
    answer(res, Buffer.from('gone'), 404);
  });
  origin.route('/c/f1', (_req, res) => {
    res.writeHead(200, { 'content-length': String(64 * 1024 * 1024) });
    res.on('close', () => f1Closed.resolve());
    const drip = (): void => {
      if (res.destroyed) return;
      res.write(randomBytes(16 * 1024));
      f1Streaming.resolve();
      setTimeout(drip, 20);
    };
    drip();
  });
  const { changes, outcome } = await runTwo('/c', bodies);
  assert.equal(outcome.kind === 'failed' && outcome.fileIndex, 0);
  assert.deepEqual(changes, []);
  // The run returned with f1's request aborted; the server sees its connection close.
  await f1Closed.promise;
});
