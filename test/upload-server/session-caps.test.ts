// Issue 12 item 1, denial of service: with no authentication every client is "anonymous", and
// 50 empty Create-Session requests filled the per-user cap, locking every other client out for
// the 14-day session timeout, across restarts. Now empty sessions expire in minutes, caps are
// per address as well as per user (never per "anonymous"), a cap evicts the oldest idle
// session instead of refusing, and abandoned partial bytes count against a byte cap.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { assertBitsError, assertOk, BG_E_SESSION_NOT_FOUND, BG_E_TOO_LARGE } from './helpers/assertions.ts';
import { createSession, fragment, payload, removeFixture, startFixture } from './helpers/fixture.ts';
import { RawClient } from './helpers/raw-client.ts';

const exists = (p: string) =>
  fs.stat(p).then(
    () => true,
    () => false,
  );

describe('session caps and expiry (issue 12)', () => {
  test('regression: 50 empty sessions no longer lock anonymous clients out; they expire after minutes, also across a restart', async () => {
    let f = await startFixture({ emptySessionTimeoutS: 300 });
    try {
      const attacker = await RawClient.connect(f.port);
      const ids: string[] = [];
      for (let i = 0; i < 60; i++) {
        const { res, id } = await createSession(attacker, `/junk${i}.bin`);
        assertOk(res);
        ids.push(id);
      }
      attacker.destroy();
      // Another client (another address) is not locked out: the per-user cap does not apply to
      // "anonymous", and the attacker's address cap is the attacker's alone.
      const other = await RawClient.connect(f.port, { localAddress: '127.0.0.2' });
      const mine = await createSession(other, '/real.bin');
      assertOk(mine.res);
      assertOk(await fragment(other, '/real.bin', mine.id, 0, payload(10), 20));
      other.destroy();

      // Restart: the sessions are on disk; the short timeout still applies to them.
      await f.close();
      f = await startFixture({ emptySessionTimeoutS: 300 }, f);
      f.clock.advance(301_000);
      assert.equal(await f.server.handler.cleanup(), 60, 'the 60 empty sessions are swept');
      for (const id of ids) assert.ok(!(await exists(path.join(f.root, 'BITS-Sessions', 'Requests', id))));
      // The session with data is kept (it has the 14-day timeout).
      const c = await RawClient.connect(f.port, { localAddress: '127.0.0.2' });
      assertOk(await fragment(c, '/real.bin', mine.id, 10, payload(10), 20));
      c.destroy();
    } finally {
      await removeFixture(f);
    }
  });

  test('per-address cap: the oldest idle session of that address is evicted; other addresses keep theirs', async () => {
    const f = await startFixture({ maxSessionsPerAddress: 3 });
    try {
      const a = await RawClient.connect(f.port, { localAddress: '127.0.0.3' });
      const b = await RawClient.connect(f.port, { localAddress: '127.0.0.4' });
      const bId = (await createSession(b, '/b.bin')).id;
      const aIds: string[] = [];
      for (let i = 0; i < 3; i++) {
        aIds.push((await createSession(a, `/a${i}.bin`)).id);
        f.clock.advance(1000);
      }
      // a0 made progress last, so a1 is now the oldest idle one.
      assertOk(await fragment(a, '/a0.bin', aIds[0] ?? '', 0, payload(5), 10));
      f.clock.advance(1000);
      assertOk((await createSession(a, '/a3.bin')).res);
      assertBitsError(await fragment(a, '/a1.bin', aIds[1] ?? '', 0, payload(5), 10), 500, BG_E_SESSION_NOT_FOUND);
      assertOk(await fragment(a, '/a0.bin', aIds[0] ?? '', 5, payload(5), 10));
      assertOk(await fragment(b, '/b.bin', bId, 0, payload(5), 10));
      a.destroy();
      b.destroy();
    } finally {
      await removeFixture(f);
    }
  });

  test('abandoned partial bytes count against the byte cap: the oldest idle upload is evicted and its bytes deleted', async () => {
    const f = await startFixture({ maxSessionBytesPerAddress: 1000 });
    try {
      const c = await RawClient.connect(f.port);
      const old = await createSession(c, '/old.bin');
      assertOk(await fragment(c, '/old.bin', old.id, 0, payload(100), 600));
      const oldData = path.join(f.root, 'BITS-Sessions', 'Requests', old.id, 'requestfile.bin');
      assert.equal((await fs.stat(oldData)).size, 100);
      f.clock.advance(1000);
      const next = await createSession(c, '/next.bin');
      // 600 + 600 > 1000: the abandoned upload makes room, its bytes leave the disk.
      assertOk(await fragment(c, '/next.bin', next.id, 0, payload(100), 600));
      assert.ok(!(await exists(oldData)));
      assertBitsError(await fragment(c, '/old.bin', old.id, 100, payload(100), 600), 500, BG_E_SESSION_NOT_FOUND);
      // A file larger than the whole cap can never fit: fatal, like maxUploadSize.
      const huge = await createSession(c, '/huge.bin');
      assertBitsError(await fragment(c, '/huge.bin', huge.id, 0, payload(10), 1001), 500, BG_E_TOO_LARGE);
      c.destroy();
    } finally {
      await removeFixture(f);
    }
  });
});
