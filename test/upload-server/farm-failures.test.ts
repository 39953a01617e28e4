// Issue 18: the farm when its database restarts (a private PostgreSQL, never the shared one) —
// a clear 503 with BITS-Error-Code while it is down, nothing acknowledged lost, the upload
// continues after — and expiry across the farm: one sweep at a time, no orphaned bytes left.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { type BitsUploadServer, startBitsUploadServer } from '../../src/upload-server/server.ts';
import { sha256, sha256File } from '../helpers/digest.ts';
import { TestClock } from '../helpers/test-clock.ts';
import { assertAck, assertOk } from './helpers/assertions.ts';
import { createSession, fragment, packet, payload } from './helpers/fixture.ts';
import { createTestDatabase } from './helpers/postgres.ts';
import { startPrivatePostgres } from './helpers/private-postgres.ts';
import { RawClient } from './helpers/raw-client.ts';
import { startServerProcess } from './helpers/server-process.ts';

const MiB = 1024 * 1024;

describe('farm failures', () => {
  test('PostgreSQL restart mid-upload: 503 + BITS-Error-Code while it is down, then the upload continues byte-exact', async () => {
    const pg = await startPrivatePostgres();
    const base = await fs.mkdtemp(path.join(os.tmpdir(), 'bits-pgdown-'));
    const root = path.join(base, 'root');
    await fs.mkdir(root);
    const args = ['--root', root, '--anonymous', '--database-url', pg.url];
    const a = await startServerProcess(args);
    const b = await startServerProcess(args);
    const ca = await RawClient.connect(a.port);
    const cb = await RawClient.connect(b.port);
    try {
      const data = payload(4 * MiB, 18);
      const step = 512 * 1024;
      const { id } = await createSession(ca, '/db/up.bin');
      let acked = 0;
      for (; acked < 2 * MiB; acked += step) {
        const c = acked % (2 * step) === 0 ? ca : cb;
        assertOk(await fragment(c, '/db/up.bin', id, acked, data.subarray(acked, acked + step), data.length));
      }
      pg.stop();
      const down = await fragment(cb, '/db/up.bin', id, acked, data.subarray(acked, acked + step), data.length);
      assertAck(down, 503);
      assert.equal(down.get('BITS-Error-Code'), '0x801901F7');
      assert.equal(down.get('BITS-Error-Context'), '0x5');
      assert.equal(down.get('Retry-After'), '5');
      const c2 = await RawClient.connect(a.port);
      assertAck((await createSession(c2, '/db/other.bin')).res, 503);
      c2.destroy();
      pg.start();
      // Both instances reconnect; the client resumes from its last acknowledged offset.
      const fresh = [await RawClient.connect(a.port), await RawClient.connect(b.port)];
      for (let i = 0; acked < data.length; i++) {
        const c = fresh[i % 2] as RawClient;
        const res = await fragment(c, '/db/up.bin', id, acked, data.subarray(acked, acked + step), data.length);
        assertOk(res);
        acked = Number(res.get('BITS-Received-Content-Range'));
      }
      assertOk(await packet(fresh[1] as RawClient, '/db/up.bin', 'Close-Session', id));
      assert.equal(await sha256File(path.join(root, 'db', 'up.bin')), sha256(data));
      for (const c of fresh) c.destroy();
    } finally {
      ca.destroy();
      cb.destroy();
      for (const p of [a, b]) {
        p.child.kill('SIGTERM');
        await p.exited;
      }
      pg.remove();
      await fs.rm(base, { recursive: true, force: true });
    }
  });

  test('expiry across the farm: sweeps never overlap, abandoned and empty sessions leave no bytes behind', async () => {
    const db = await createTestDatabase('bits_expiry');
    const base = await fs.mkdtemp(path.join(os.tmpdir(), 'bits-expiry-'));
    const root = path.join(base, 'root');
    await fs.mkdir(root);
    const clock = new TestClock();
    const servers: BitsUploadServer[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        servers.push(
          await startBitsUploadServer({
            root,
            clock,
            databaseUrl: db.url,
            sessionTimeoutS: 3600,
            cleanupIntervalS: 86_400,
          }),
        );
      }
      const [s1, s2] = servers as [BitsUploadServer, BitsUploadServer];
      const c1 = await RawClient.connect(s1.port);
      const c2 = await RawClient.connect(s2.port);
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) {
        const c = i % 2 === 0 ? c1 : c2;
        const { id } = await createSession(c, `/x/${i}.bin`);
        if (i < 6) assertOk(await fragment(i % 2 === 0 ? c2 : c1, `/x/${i}.bin`, id, 0, payload(64 * 1024), 1 * MiB));
        ids.push(id);
      }
      c1.destroy();
      c2.destroy();
      const requests = path.join(root, 'BITS-Sessions', 'Requests');
      assert.equal((await fs.readdir(requests)).length, 10);
      // Past the empty-session timeout: only the 4 empty ones go, swept by one instance.
      clock.advance(301_000);
      const first = await Promise.all([s1.handler.cleanup(), s2.handler.cleanup()]);
      assert.equal(first[0] + first[1], 4, `sweeps removed ${first.join(' + ')}`);
      assert.equal((await fs.readdir(requests)).length, 6);
      // Past the session timeout: the abandoned partial uploads and their bytes go too.
      clock.advance(3600_000);
      let removed = 0;
      for (let i = 0; i < 20 && removed < 6; i++) {
        removed += (await Promise.all([s1.handler.cleanup(), s2.handler.cleanup()])).reduce((x, y) => x + y, 0);
      }
      assert.equal(removed, 6);
      assert.deepEqual(await fs.readdir(requests), []);
    } finally {
      for (const s of servers) await s.close();
      await db.drop();
      await fs.rm(base, { recursive: true, force: true });
    }
  });
});
