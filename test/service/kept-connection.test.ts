import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ManualNetworkSource } from '../../src/scheduler/network.ts';
import { createManager } from '../../src/service/manager.ts';
import { tempDir, waitForState } from '../helpers/manager-harness.ts';
import { type OriginServer, serving, startOrigin } from '../helpers/origin-server.ts';
import { TestClock } from '../helpers/test-clock.ts';

// Through the in-process manager (the daemon's path): the plain-http reader keeps its
// connections, so a job of many small files goes over a few connections, not one per file.

const FILES = 200;
let origin: OriginServer;
before(async () => {
  // Keep-Alive: timeout=30 (a client keeps a connection for 2 s less than the server says).
  origin = await startOrigin(undefined, { keepAliveMs: 30_000 });
});
after(async () => {
  await origin.close();
});

test(`${FILES} small files in one job: downloaded over a few kept connections`, async () => {
  const bodies: Buffer[] = [];
  for (let i = 0; i < FILES; i++) {
    const body = Buffer.alloc(4096 + i, i % 251);
    bodies.push(body);
    origin.route(`/f${i}`, serving(body));
  }
  const m = await createManager({ home: tempDir(), clock: new TestClock(), network: new ManualNetworkSource(true) });
  const dir = tempDir();
  const job = await m.createJob('many');
  await m.addFileSet(
    job.id,
    bodies.map((_b, i) => ({ remoteName: origin.url(`/f${i}`), localName: join(dir, `f${i}`) })),
  );
  const before = origin.connections();
  await m.resume(job.id);
  await waitForState(m, job.id, 'TRANSFERRED');
  await m.complete(job.id);
  for (let i = 0; i < FILES; i++) assert.deepEqual(readFileSync(join(dir, `f${i}`)), bodies[i], `file ${i}`);
  const connections = origin.connections() - before;
  const gets = origin.requests.filter((r) => /^\/f\d+$/u.test(r.path)).length;
  assert.ok(gets >= FILES, `every file asked for (${gets})`);
  assert.ok(connections <= 4, `${connections} connections for ${FILES} files (at most 4; one a file without reuse)`);
  await m.close();
});
