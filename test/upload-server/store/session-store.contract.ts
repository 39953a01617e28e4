import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { SessionFiles } from '../../../src/upload-server/session-files.ts';
import {
  ANONYMOUS,
  canonicalSessionId,
  type ExpiryPolicy,
  type NewSession,
  type SessionCaps,
} from '../../../src/upload-server/session-record.ts';
import type { SessionStore } from '../../../src/upload-server/session-store.ts';

/** What a contract test gets from an implementation's factory. */
export interface SessionStoreHandle {
  readonly store: SessionStore;
  readonly files: SessionFiles;
  /** Another store on the same storage, opened: a restart (files) or a second instance (PostgreSQL). */
  another(): Promise<SessionStore>;
  /** Close every store and remove what they left. */
  cleanup(): Promise<void>;
}

export type SessionStoreFactory = () => Promise<SessionStoreHandle>;

const T0 = 1_800_000_000_000;
const NO_CAPS: SessionCaps = { sessionsPerUser: 0, sessionsPerAddress: 0, bytesPerUser: 0, bytesPerAddress: 0 };
const POLICY: ExpiryPolicy = { sessionTimeoutMs: 3_600_000, emptySessionTimeoutMs: 300_000, tombstoneMs: 86_400_000 };

function owner(user: string, address = '10.0.0.1', n = 1): NewSession {
  return { segments: ['in', `f${n}.bin`], originalUrl: `http://h/in/f${n}.bin`, user, address, protocol: '{p}' };
}

const exists = (p: string) =>
  fs.stat(p).then(
    () => true,
    () => false,
  );

/**
 * THE SessionStore contract: the file store and the PostgreSQL store each run it from one small
 * file, and must pass all of it.
 */
export function sessionStoreContract(name: string, factory: SessionStoreFactory): void {
  describe(`SessionStore contract: ${name}`, () => {
    let h: SessionStoreHandle;
    let store: SessionStore;
    beforeEach(async () => {
      h = await factory();
      store = h.store;
    });
    afterEach(() => h.cleanup());

    test('create: an IIS-form id, defaults, empty data; get returns a copy', async () => {
      const { record, evicted } = await store.create(owner('alice'), NO_CAPS, T0);
      assert.deepEqual(evicted, []);
      assert.equal(canonicalSessionId(record.id), record.id);
      assert.deepEqual(await store.get(record.id), {
        id: record.id,
        segments: ['in', 'f1.bin'],
        originalUrl: 'http://h/in/f1.bin',
        user: 'alice',
        address: '10.0.0.1',
        protocol: '{p}',
        total: null,
        received: 0,
        phase: 'receiving',
        createdMs: T0,
        lastProgressMs: T0,
        notify: null,
      });
      assert.equal((await fs.stat(h.files.dataFile(record.id))).size, 0);
      const copy = await store.get(record.id);
      assert.ok(copy);
      copy.received = 99;
      assert.equal((await store.get(record.id))?.received, 0, 'a snapshot, not the live record');
      assert.equal(await store.get('{00000000-0000-4000-8000-000000000000}'), undefined);
    });

    test('withSession: saves persist and another store on the same storage sees them', async () => {
      const { record } = await store.create(owner('alice'), NO_CAPS, T0);
      // The bytes first, then the record (as a fragment does): a restart trusts no more than both.
      await fs.writeFile(h.files.dataFile(record.id), Buffer.alloc(40, 7));
      await store.withSession(record.id, async (r, tx) => {
        assert.ok(r);
        r.total = 100;
        r.received = 40;
        r.lastProgressMs = T0 + 5;
        r.notify = { staticReplyUrl: undefined, copyToDestination: true };
        await tx.save(r);
      });
      // A callback that fails after changing the record persists nothing.
      await assert.rejects(
        store.withSession(record.id, async (r) => {
          assert.ok(r);
          r.received = 90;
          throw new Error('boom');
        }),
        /boom/,
      );
      const other = await h.another();
      const seen = await other.get(record.id);
      assert.equal(seen?.received, 40);
      assert.equal(seen?.total, 100);
      assert.equal(seen?.lastProgressMs, T0 + 5);
      assert.deepEqual(seen?.notify, { copyToDestination: true });
      await store.withSession('{00000000-0000-4000-8000-000000000001}', async (r) => assert.equal(r, undefined));
    });

    test('withSession serialises packets of one session', async () => {
      const { record } = await store.create(owner('alice'), NO_CAPS, T0);
      const order: string[] = [];
      let release: () => void = () => {};
      const gate = new Promise<void>((r) => {
        release = r;
      });
      const first = store.withSession(record.id, async (r, tx) => {
        order.push('first in');
        await gate;
        assert.ok(r);
        r.received = 10;
        await tx.save(r);
        order.push('first out');
      });
      while (order.length === 0) await new Promise((r) => setImmediate(r));
      const second = store.withSession(record.id, async (r) => {
        order.push(`second sees ${r?.received}`);
      });
      for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
      release();
      await Promise.all([first, second]);
      assert.deepEqual(order, ['first in', 'first out', 'second sees 10']);
    });

    test('close keeps a tombstone without bytes; remove forgets the session and its files', async () => {
      const a = (await store.create(owner('alice'), NO_CAPS, T0)).record;
      const b = (await store.create(owner('alice', '10.0.0.1', 2), NO_CAPS, T0)).record;
      await store.withSession(a.id, async (r, tx) => {
        assert.ok(r);
        await tx.close(r, T0 + 10);
      });
      assert.equal((await store.get(a.id))?.phase, 'closed');
      assert.equal(await exists(h.files.dataFile(a.id)), false);
      await store.withSession(b.id, async (r, tx) => {
        assert.ok(r);
        await tx.remove(r);
      });
      assert.equal(await store.get(b.id), undefined);
      assert.equal(await exists(h.files.dataFile(b.id)), false);
    });

    test('session caps: the oldest idle session is evicted; busy ones never; anonymous has no user cap', async () => {
      const caps: SessionCaps = { ...NO_CAPS, sessionsPerUser: 2, sessionsPerAddress: 3 };
      const s1 = (await store.create(owner('bob', '10.0.0.1', 1), caps, T0 + 1)).record;
      const s2 = (await store.create(owner('bob', '10.0.0.2', 2), caps, T0 + 2)).record;
      const s3 = await store.create(owner('bob', '10.0.0.3', 3), caps, T0 + 3);
      assert.deepEqual(s3.evicted, [s1.id], 'per user: the oldest goes');
      assert.equal(await store.get(s1.id), undefined);
      assert.equal(await exists(h.files.dataFile(s1.id)), false);
      // s2 is busy (a packet in flight): it stays, and with every session busy there is no room.
      let release: () => void = () => {};
      const gate = new Promise<void>((r) => {
        release = r;
      });
      let held = 0;
      const hold = (id: string) =>
        store.withSession(id, async () => {
          held++;
          await gate;
        });
      const busy = [hold(s2.id), hold(s3.record.id)];
      while (held < 2) await new Promise((r) => setImmediate(r));
      await assert.rejects(store.create(owner('bob', '10.0.0.4', 4), caps, T0 + 4), {
        status: 503,
        name: 'BG_E_TOO_MANY_JOBS_PER_USER',
      });
      release();
      await Promise.all(busy);
      // Anonymous: no per-user cap, the per-address one still holds.
      for (let i = 0; i < 3; i++) await store.create(owner(ANONYMOUS, '10.0.0.9', 10 + i), caps, T0 + 10 + i);
      const fourth = await store.create(owner(ANONYMOUS, '10.0.0.9', 20), caps, T0 + 20);
      assert.equal(fourth.evicted.length, 1);
      await store.create(owner(ANONYMOUS, '10.0.0.8', 21), caps, T0 + 21);
    });

    test('byte caps: makeRoom evicts the oldest idle sessions holding declared bytes, never the caller', async () => {
      const caps: SessionCaps = { ...NO_CAPS, bytesPerAddress: 1000 };
      const declare = async (id: string, total: number) =>
        store.withSession(id, async (r, tx) => {
          assert.ok(r);
          r.total = total;
          r.received = 1;
          await tx.save(r);
        });
      const a = (await store.create(owner('u', '10.1.1.1', 1), caps, T0 + 1)).record;
      await declare(a.id, 400);
      const b = (await store.create(owner('u', '10.1.1.1', 2), caps, T0 + 2)).record;
      await declare(b.id, 400);
      const c = (await store.create(owner('u', '10.1.1.1', 3), caps, T0 + 3)).record;
      assert.deepEqual(await store.makeRoom(c, { sessions: 0, bytes: 200 }, caps, c.id), []);
      assert.deepEqual(await store.makeRoom(c, { sessions: 0, bytes: 500 }, caps, c.id), [a.id]);
      assert.ok(await store.get(b.id));
      assert.ok(await store.get(c.id));
    });

    test('sweep: empty sessions after the short timeout, others after the session timeout, tombstones, orphans', async () => {
      const empty = (await store.create(owner('u', 'a', 1), NO_CAPS, T0)).record;
      const partial = (await store.create(owner('u', 'a', 2), NO_CAPS, T0)).record;
      await store.withSession(partial.id, async (r, tx) => {
        assert.ok(r);
        r.total = 10;
        r.received = 5;
        await tx.save(r);
      });
      const closed = (await store.create(owner('u', 'a', 3), NO_CAPS, T0)).record;
      await store.withSession(closed.id, async (r, tx) => {
        assert.ok(r);
        r.received = 1;
        await tx.close(r, T0);
      });
      // Data no record owns, old enough to be an orphan (mtime in real time).
      const orphan = '{0000ABCD-0000-4000-8000-000000000000}';
      await h.files.create(orphan);
      const past = new Date(Date.now() - 3_600_000);
      await fs.utimes(h.files.requestDir(orphan), past, past);

      assert.deepEqual(new Set(await store.sweep(POLICY, T0 + 300_001)), new Set([empty.id, orphan]));
      assert.equal(await exists(h.files.dataFile(empty.id)), false);
      assert.equal(await exists(h.files.requestDir(orphan)), false);
      assert.ok(await store.get(partial.id));
      assert.deepEqual(new Set(await store.sweep(POLICY, T0 + 3_600_001)), new Set([partial.id, closed.id]));
      assert.equal(await exists(h.files.requestDir(partial.id)), false);
      assert.deepEqual(await store.sweep(POLICY, T0 + 3_600_002), []);
    });
  });
}
