import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { FileSessionStore } from '../../../src/upload-server/file-session-store.ts';
import { SessionFiles } from '../../../src/upload-server/session-files.ts';
import { sessionStoreContract } from './session-store.contract.ts';

sessionStoreContract('FileSessionStore', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bits-store-'));
  const files = new SessionFiles(path.join(dir, 'BITS-Sessions'));
  const store = new FileSessionStore(files);
  await store.open();
  return {
    store,
    files,
    async another() {
      // A restart on the same folder.
      const next = new FileSessionStore(files);
      await next.open();
      return next;
    },
    cleanup: () => fs.rm(dir, { recursive: true, force: true }),
  };
});

describe('FileSessionStore on disk', () => {
  const T0 = 1_800_000_000_000;
  const NO_CAPS = { sessionsPerUser: 0, sessionsPerAddress: 0, bytesPerUser: 0, bytesPerAddress: 0 };
  const fields = {
    segments: ['in', 'f.bin'],
    originalUrl: 'http://h/in/f.bin',
    user: 'u',
    address: 'a',
    protocol: '{p}',
  };
  let dir: string;
  let files: SessionFiles;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bits-store-disk-'));
    files = new SessionFiles(path.join(dir, 'BITS-Sessions'));
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  const reopen = async () => {
    const s = new FileSessionStore(files);
    await s.open();
    return s;
  };
  /** A fragment as receiveFragment does it: bytes written and synced, then the record saved. */
  const fragment = async (store: FileSessionStore, id: string, bytes: number, total: number) => {
    await fs.appendFile(files.dataFile(id), Buffer.alloc(bytes, 1));
    await store.withSession(id, async (r, tx) => {
      assert.ok(r);
      r.received += bytes;
      r.total = total;
      await tx.save(r);
    });
  };

  test('kill -9 between a fragment write and its record: the restart keeps the recorded bytes and cuts the rest', async () => {
    const store = await reopen();
    const { record } = await store.create(fields, NO_CAPS, T0);
    await fragment(store, record.id, 1000, 5000);
    await fragment(store, record.id, 1000, 5000);
    // The third fragment's bytes reached the disk; the process died before its record.
    await fs.appendFile(files.dataFile(record.id), Buffer.alloc(1000, 1));
    const after = await reopen();
    assert.equal((await after.get(record.id))?.received, 2000);
    assert.equal((await fs.stat(files.dataFile(record.id))).size, 2000);
  });

  test('a power loss tearing the newest record: the restart resumes from the record before it (its bytes were synced first)', async () => {
    const store = await reopen();
    const { record } = await store.create(fields, NO_CAPS, T0);
    await fragment(store, record.id, 1000, 5000);
    await fragment(store, record.id, 1000, 5000);
    // Tear the newest slot: its CRC no longer matches (a write cut short).
    const slots = path.join(files.requestDir(record.id), 'state.slots');
    const raw = await fs.readFile(slots);
    const newest = raw.indexOf('"received":2000');
    assert.ok(newest > 0);
    raw.write('"received":2999', newest);
    await fs.writeFile(slots, raw);
    const after = await reopen();
    assert.equal((await after.get(record.id))?.received, 1000, 'the save before the torn one');
    assert.equal((await fs.stat(files.dataFile(record.id))).size, 1000, 'bytes past it are not trusted');
    // The session goes on from there, and its next save lands beside the intact record.
    await fragment(after, record.id, 4000, 5000);
    assert.equal((await (await reopen()).get(record.id))?.received, 5000);
  });

  test('a session recorded by an earlier version (state.json) loads, and its next save moves it to the slots', async () => {
    const store = await reopen();
    const { record } = await store.create(fields, NO_CAPS, T0);
    await fragment(store, record.id, 700, 5000);
    const reqDir = files.requestDir(record.id);
    const current = await store.get(record.id);
    await fs.rm(path.join(reqDir, 'state.slots'));
    await fs.writeFile(path.join(reqDir, 'state.json'), JSON.stringify({ version: 2, ...current }));
    const upgraded = await reopen();
    assert.equal((await upgraded.get(record.id))?.received, 700);
    await fragment(upgraded, record.id, 300, 5000);
    assert.deepEqual((await fs.readdir(reqDir)).sort(), ['requestfile.bin', 'state.slots']);
    assert.equal((await (await reopen()).get(record.id))?.received, 1000);
  });

  test('a record that exists but cannot be read (EISDIR) fails the start and keeps the data; once readable the session resumes', async () => {
    const store = await reopen();
    const { record } = await store.create(fields, NO_CAPS, T0);
    await fragment(store, record.id, 1000, 5000);
    const slots = path.join(files.requestDir(record.id), 'state.slots');
    const saved = await fs.readFile(slots);
    // A directory where the record is: open() succeeds, read() fails with EISDIR — root included.
    await fs.rm(slots);
    await fs.mkdir(slots);
    await assert.rejects(reopen(), (err: Error) => {
      assert.ok(err.message.includes(`session ${record.id}: its record cannot be read (EISDIR)`), err.message);
      return true;
    });
    assert.equal((await fs.stat(files.dataFile(record.id))).size, 1000, 'the acknowledged bytes are kept');
    await fs.rmdir(slots);
    await fs.writeFile(slots, saved);
    const after = await reopen();
    assert.equal((await after.get(record.id))?.received, 1000);
    await fragment(after, record.id, 4000, 5000);
    assert.equal((await (await reopen()).get(record.id))?.received, 5000);
  });

  test('a session never recorded (no slots file, no state.json) is still dropped at the start', async () => {
    const store = await reopen();
    const { record } = await store.create(fields, NO_CAPS, T0);
    await fs.rm(path.join(files.requestDir(record.id), 'state.slots'));
    const after = await reopen();
    assert.equal(await after.get(record.id), undefined);
    await assert.rejects(fs.stat(files.requestDir(record.id)), { code: 'ENOENT' });
  });
});
