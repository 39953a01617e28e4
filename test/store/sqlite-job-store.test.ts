import assert from 'node:assert/strict';
import { chmodSync, fdatasync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { BitsError, DEFAULT_QUOTAS } from '../../src/core/index.ts';
import { openSqliteJobStore, SCHEMA_VERSION, SqliteJobStore } from '../../src/store/index.ts';
import { WalSync, type WalSyncFs } from '../../src/store/sqlite/wal-sync.ts';
import { assertBitsError } from '../helpers/assert-bits-error.ts';
import { failCommitsInto } from '../helpers/commit-fault.ts';
import { jobStoreContract } from './job-store.contract.ts';
import { caller, createJob, file, jobId, snapshot, T0 } from './store-fixtures.ts';

jobStoreContract('SqliteJobStore', (options) => {
  const dir = mkdtempSync(join(tmpdir(), 'openbits-store-'));
  const store = openSqliteJobStore(join(dir, 'jobs.db'), options);
  return {
    store,
    cleanup: () => {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

// bitsd's store (it holds the instance lock): cached records are read without PRAGMA data_version.
jobStoreContract('SqliteJobStore, sole writer', (options) => {
  const dir = mkdtempSync(join(tmpdir(), 'openbits-store-'));
  const store = openSqliteJobStore(join(dir, 'jobs.db'), { ...options, soleWriter: true });
  return {
    store,
    cleanup: () => {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('SqliteJobStore on disk', () => {
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'openbits-sqlite-'));
    path = join(dir, 'jobs.db');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const userVersion = (p: string): number => {
    const db = new DatabaseSync(p);
    try {
      return (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
    } finally {
      db.close();
    }
  };

  test('WAL, synchronous=NORMAL (the group commit syncs), foreign keys and a busy timeout are in force', () => {
    const store = openSqliteJobStore(path);
    assert.deepEqual(store.durabilitySettings(), {
      journalMode: 'wal',
      synchronous: 'NORMAL',
      foreignKeys: true,
      busyTimeoutMs: 5000,
    });
    store.close();
    // WAL is a property of the file: a fresh connection sees it too.
    const db = new DatabaseSync(path);
    assert.equal((db.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode, 'wal');
    db.close();
  });

  /** A store on `path` whose group commit calls `fdatasync` through `fs` (counted or failed). */
  const storeWithSync = (fs: WalSyncFs): SqliteJobStore => {
    openSqliteJobStore(path).close();
    const db = new DatabaseSync(path, { enableForeignKeyConstraints: true });
    db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL');
    return new SqliteJobStore(db, { walSync: new WalSync(path, fs) });
  };

  test('group commit: the verbs of a moment share one WAL fdatasync on the pool; durable() waits for it', async () => {
    const synced: number[] = [];
    const store = storeWithSync({
      fdatasync: (fd, done) =>
        fdatasync(fd, (err) => {
          synced.push(statSync(`${path}-wal`).size);
          done(err);
        }),
    });
    try {
      const waits: Array<Promise<void>> = [];
      for (let n = 1; n <= 40; n++) {
        createJob(store, n);
        waits.push(store.durable());
      }
      assert.equal(synced.length, 0, 'no sync ran on the event loop inside a verb');
      await Promise.all(waits);
      // The first sync started after job 1; everything after it waited for (and shared) the next.
      assert.ok(synced.length >= 1 && synced.length <= 2, `${synced.length} syncs for 40 commits`);
      assert.equal(store.walSyncedBytes, statSync(`${path}-wal`).size, 'the last sync covered the whole WAL');
      await store.durable();
      assert.ok(synced.length <= 2, 'nothing new: durable() resolves without another sync');
      createJob(store, 41);
      await store.durable();
      assert.equal(synced.length <= 3 && synced.length >= 2, true);
    } finally {
      store.close();
    }
  });

  /** A store whose group commit counts the fdatasyncs it starts. */
  const countingStore = (): { store: SqliteJobStore; started: () => number } => {
    let started = 0;
    const store = storeWithSync({
      fdatasync: (fd, done) => {
        started++;
        fdatasync(fd, done);
      },
    });
    return { store, started: () => started };
  };

  test('a background commit starts no sync: the next caller’s sync covers it, and it resolves first', async () => {
    const { store, started } = countingStore();
    try {
      createJob(store, 1);
      const order: string[] = [];
      const picked = store.durable({ background: true }).then(() => order.push('background'));
      assert.equal(started(), 0, 'a background waiter starts no sync of its own at once');
      createJob(store, 2);
      const caller = store.durable().then(() => order.push('caller'));
      assert.equal(started(), 1, 'the caller starts one at once, covering both commits');
      await Promise.all([picked, caller]);
      assert.deepEqual(order, ['background', 'caller'], 'the earlier commit’s waiter resolves first');
      assert.equal(started(), 1, 'one sync for both');
    } finally {
      store.close();
    }
  });

  test('a background commit nobody follows is synced on its own, a moment later', async () => {
    const { store, started } = countingStore();
    try {
      createJob(store, 1);
      const synced = store.walSyncedBytes;
      await store.durable({ background: true });
      assert.equal(started(), 1);
      assert.ok((store.walSyncedBytes ?? 0) > (synced ?? 0), 'the sync covered the commit');
    } finally {
      store.close();
    }
  });

  test('a background waiter behind a running sync is covered by the next one, in order', async () => {
    const { store, started } = countingStore();
    try {
      createJob(store, 1);
      const order: string[] = [];
      const first = store.durable().then(() => order.push('first'));
      createJob(store, 2);
      const background = store.durable({ background: true }).then(() => order.push('background'));
      createJob(store, 3);
      const last = store.durable().then(() => order.push('last'));
      await Promise.all([first, background, last]);
      assert.deepEqual(order, ['first', 'background', 'last']);
      assert.equal(started(), 2, 'the running sync, then one covering the two commits made while it ran');
    } finally {
      store.close();
    }
  });

  test('a lone commit is synced at once: durable() starts one fdatasync in the same tick, no commit delay', async () => {
    let started = 0;
    const store = storeWithSync({
      fdatasync: (fd, done) => {
        started++;
        fdatasync(fd, done);
      },
    });
    try {
      for (let n = 1; n <= 3; n++) {
        createJob(store, n);
        const wait = store.durable();
        // Nothing else is pending, so the caller's own sync is already running (no timer, no
        // window to gather siblings): its latency is one fdatasync.
        assert.equal(started, n, 'the sync started inside durable()');
        await wait;
        assert.equal(started, n, 'exactly one sync for a lone commit');
      }
    } finally {
      store.close();
    }
  });

  test('a failed WAL sync rejects durable() for its commits and for every later one (fsyncgate)', async () => {
    const eio = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    const store = storeWithSync({ fdatasync: (_fd, done) => setImmediate(() => done(eio)) });
    try {
      createJob(store, 1);
      await assert.rejects(
        store.durable(),
        (err: Error) => err.name === 'E_FAIL' && /could not be synced/.test(err.message),
      );
      createJob(store, 2);
      await assert.rejects(store.durable(), (err: Error) => err.name === 'E_FAIL');
    } finally {
      store.close();
    }
  });

  test('the database and its WAL are created 0600 whatever the umask; a wider file is tightened', () => {
    const old = process.umask(0);
    try {
      const store = openSqliteJobStore(path);
      createJob(store, 1);
      assert.equal(statSync(path).mode & 0o777, 0o600);
      assert.equal(statSync(`${path}-wal`).mode & 0o777, 0o600);
      store.close();
      chmodSync(path, 0o644);
      openSqliteJobStore(path).close();
      assert.equal(statSync(path).mode & 0o777, 0o600);
    } finally {
      process.umask(old);
    }
  });

  test('webhook hooks and outbox rows survive a reopen, with their back-off (deliveries across restarts)', () => {
    let store = openSqliteJobStore(path);
    createJob(store, 1);
    const id = jobId(1);
    const hook = { url: 'https://hooks.example/a', secret: 'whsec_0123456789abcdef' };
    store.updateJob(id, 'setWebhooks', { webhooks: [hook] }, T0 + 1);
    store.applyTransition(id, {
      expected: 'SUSPENDED',
      event: 'cancel',
      now: T0 + 2,
      webhooks: (after) => [
        {
          id: 'd-1',
          jobId: after.id,
          event: 'job.cancelled',
          url: hook.url,
          secret: hook.secret,
          body: '{}',
          createdAt: T0 + 2,
          attempts: 0,
          nextAttemptAt: T0 + 2,
          lastError: null,
        },
      ],
    });
    store.webhookFailed('d-1', 3, T0 + 80_000, 'ECONNREFUSED');
    store.close();
    store = openSqliteJobStore(path);
    try {
      assert.deepEqual(store.getJob(id)?.webhooks, [hook]);
      assert.deepEqual(store.dueWebhooks(T0 + 79_999, 10, new Set()), [], 'the back-off is kept');
      const [row] = store.dueWebhooks(T0 + 80_000, 10, new Set());
      assert.deepEqual([row?.id, row?.attempts, row?.lastError, row?.jobId], ['d-1', 3, 'ECONNREFUSED', id]);
    } finally {
      store.close();
    }
  });

  test('NTLM credentials stored by an older openbits stay until removed; the others can still change', () => {
    let store = openSqliteJobStore(path);
    createJob(store, 1);
    const id = jobId(1);
    const basic = { target: 'SERVER', scheme: 'BASIC', userName: 'u', password: 'p' } as const;
    store.updateJob(id, 'setCredentials', { credentials: [basic] }, T0 + 1);
    store.close();
    const ntlm = { target: 'PROXY', scheme: 'NTLM', userName: null, password: null };
    const db = new DatabaseSync(path);
    db.prepare('UPDATE jobs SET credentials = ? WHERE id = ?').run(JSON.stringify([basic, ntlm]), id);
    db.close();
    store = openSqliteJobStore(path);
    try {
      assert.deepEqual(store.getJob(id)?.credentials, [basic, ntlm]);
      // removeCredentials(SERVER, BASIC) writes back the list without it: the held NTLM entry passes.
      store.updateJob(id, 'removeCredentials', { credentials: [ntlm] as never }, T0 + 2);
      assert.deepEqual(store.getJob(id)?.credentials, [ntlm]);
      // A new NTLM entry is still refused.
      const other = { ...ntlm, target: 'SERVER' } as never;
      assertBitsError(
        () => store.updateJob(id, 'setCredentials', { credentials: [ntlm as never, other] }, T0 + 3),
        'E_NOTIMPL',
      );
    } finally {
      store.close();
    }
  });

  test('a symlink in place of the database is refused, and its target is not touched', () => {
    const target = join(dir, 'elsewhere');
    writeFileSync(target, 'precious');
    symlinkSync(target, path);
    assertBitsError(() => openSqliteJobStore(path), 'E_ACCESSDENIED', /symbolic link/);
    assert.equal(statSync(target).size, 'precious'.length);
  });

  test('a database from a newer schema is refused with both versions named, and left untouched', () => {
    const db = new DatabaseSync(path);
    db.exec('PRAGMA user_version = 99');
    db.close();
    const err = assertBitsError(() => openSqliteJobStore(path), 'BG_E_DATABASE_CORRUPT');
    assert.match(err.message, /schema version 99/);
    assert.match(err.message, new RegExp(`version ${SCHEMA_VERSION}\\b`));
    assert.equal(userVersion(path), 99);
    const check = new DatabaseSync(path);
    assert.deepEqual(check.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all(), []);
    check.close();
  });

  test('a file that is not a database is BG_E_DATABASE_CORRUPT', () => {
    writeFileSync(path, 'this is not an SQLite database, just text long enough to have a header.'.repeat(10));
    assertBitsError(() => openSqliteJobStore(path), 'BG_E_DATABASE_CORRUPT');
  });

  test('migrations are idempotent: reopening keeps the schema, the version and the jobs', () => {
    const schema = (): unknown => {
      const db = new DatabaseSync(path);
      try {
        return db.prepare('SELECT type, name, sql FROM sqlite_master ORDER BY name').all();
      } finally {
        db.close();
      }
    };
    const store = openSqliteJobStore(path);
    createJob(store, 1);
    store.addFiles(jobId(1), [file(1)], caller());
    const job = store.getJob(jobId(1));
    store.close();
    assert.equal(userVersion(path), SCHEMA_VERSION);
    const first = schema();
    for (let i = 0; i < 3; i++) {
      const again = openSqliteJobStore(path);
      assert.deepEqual(again.getJob(jobId(1)), job);
      again.close();
    }
    assert.deepEqual(schema(), first);
    assert.equal(userVersion(path), SCHEMA_VERSION);
  });

  test('compare-and-set holds across two connections to the same file', () => {
    const a = openSqliteJobStore(path);
    const b = openSqliteJobStore(path);
    try {
      createJob(a, 1);
      a.addFiles(jobId(1), [file(1)], caller());
      assert.equal(b.getJob(jobId(1))?.state, 'SUSPENDED');
      b.applyTransition(jobId(1), { expected: 'SUSPENDED', event: 'resume', now: T0 + 1 });
      assertBitsError(
        () => a.applyTransition(jobId(1), { expected: 'SUSPENDED', event: 'cancel', now: T0 + 2 }),
        'BG_E_INVALID_STATE',
        /QUEUED/,
      );
      assert.equal(a.getJob(jobId(1))?.state, 'QUEUED');
      assert.equal(a.getJob(jobId(1))?.times.modificationTime, T0 + 1);
    } finally {
      a.close();
      b.close();
    }
  });

  test('listJobs (its queue cache) reads again what either connection wrote, and nothing else', () => {
    const a = openSqliteJobStore(path);
    const b = openSqliteJobStore(path);
    try {
      createJob(a, 1);
      createJob(a, 2, 'bob');
      const first = a.listJobs();
      assert.deepEqual(
        first.map((j) => j.id),
        [jobId(1), jobId(2)],
      );
      // Unchanged records come back as the same objects (nothing parsed again).
      assert.equal(a.listJobs()[1], first[1]);
      a.addFiles(jobId(1), [file(1)], caller());
      createJob(a, 3);
      let listed = a.listJobs();
      assert.deepEqual(
        listed.map((j) => [j.id, j.files.length]),
        [
          [jobId(1), 1],
          [jobId(2), 0],
          [jobId(3), 0],
        ],
      );
      assert.equal(listed[1], first[1]);
      assert.deepEqual(
        a.listJobs({ owner: 'bob' }).map((j) => j.id),
        [jobId(2)],
      );
      // Another connection's commits (PRAGMA data_version) and a job leaving the queue.
      b.applyTransition(jobId(1), { expected: 'SUSPENDED', event: 'resume', now: T0 + 1 });
      b.addFiles(jobId(2), [file(2)], caller('bob'));
      a.applyTransition(jobId(3), { expected: 'SUSPENDED', event: 'cancel', now: T0 + 2 });
      listed = a.listJobs();
      assert.deepEqual(
        listed.map((j) => [j.id, j.state, j.files.length]),
        [
          [jobId(1), 'QUEUED', 1],
          [jobId(2), 'SUSPENDED', 1],
        ],
      );
      assert.deepEqual(snapshot(a, [jobId(1), jobId(2)]), snapshot(b, [jobId(1), jobId(2)]));
      assert.deepEqual(listed, b.listJobs());
    } finally {
      a.close();
      b.close();
    }
  });

  test('the quota counts it keeps between creates see the other connection’s jobs', () => {
    const quotas = { ...DEFAULT_QUOTAS, maxJobsPerUser: 2 };
    const a = openSqliteJobStore(path, { quotas });
    const b = openSqliteJobStore(path, { quotas });
    try {
      createJob(a, 1);
      createJob(b, 2);
      assertBitsError(() => createJob(a, 3), 'BG_E_TOO_MANY_JOBS_PER_USER');
      b.applyTransition(jobId(2), { expected: 'SUSPENDED', event: 'cancel', now: T0 + 1 });
      createJob(a, 4);
      assertBitsError(() => createJob(a, 5), 'BG_E_TOO_MANY_JOBS_PER_USER');
    } finally {
      a.close();
      b.close();
    }
  });

  test('a job from the record cache equals the same job read from its rows by another connection', () => {
    const store = openSqliteJobStore(path);
    const reader = openSqliteJobStore(path);
    const same = (step: string): void => {
      const cached = store.getJob(jobId(1));
      // The reader keeps no record between reads: a fresh connection each time.
      const fresh = openSqliteJobStore(path);
      try {
        assert.deepEqual(cached, fresh.getJob(jobId(1)), step);
        assert.deepEqual(store.listJobs(), fresh.listJobs(), step);
      } finally {
        fresh.close();
      }
    };
    try {
      createJob(store, 1);
      same('created');
      const id = jobId(1);
      store.addFiles(id, [file(1), file(2, { ranges: [{ offset: 0, length: 10 }] })], caller('alice', T0 + 2));
      same('files added');
      store.updateJob(id, 'setDescription', { description: 'é'.repeat(3) }, T0 + 3);
      store.updateJob(
        id,
        'setProxySettings',
        { proxy: { usage: 'OVERRIDE', proxyList: 'http://p:1', bypassList: null } },
        T0 + 4,
      );
      store.updateJob(
        id,
        'setCredentials',
        { credentials: [{ target: 'SERVER', scheme: 'BASIC', userName: 'u', password: 'p' }] },
        T0 + 5,
      );
      store.updateJob(id, 'setNotifyCmdLine', { notifyCmdLine: { program: '/bin/true', parameters: null } }, T0 + 6);
      store.updateJob(id, 'setFileMode', { fileMode: 0o640 }, T0 + 7);
      same('properties set');
      store.applyTransition(id, { expected: 'SUSPENDED', event: 'resume', now: T0 + 8 });
      store.applyTransition(id, { expected: 'QUEUED', event: 'pick', now: T0 + 9 });
      same('picked');
      // A run's rounds: the change is computed on the cached record, which is put back.
      store.updateFiles(
        id,
        [
          { index: 0, patch: { bytesTotal: 10, bytesTransferred: 10, transferred: true } },
          { index: 1, patch: { temporaryName: '/tmp/f2.bin.tmp' } },
        ],
        T0 + 9,
      );
      same('files updated');
      store.updateFiles(id, [{ index: 1, patch: { remoteName: 'https://bob:pw@example.org/moved.bin' } }], T0 + 9);
      same('a remote name with userinfo moved into the credentials');
      const error = {
        ...new BitsError('BG_E_HTTP_ERROR_503', 'Service Unavailable', { context: 'REMOTE_FILE' }).toJSON(),
        fileIndex: 1,
      };
      store.applyTransition(id, { expected: 'CONNECTING', event: 'fatal_failure', error, now: T0 + 10 });
      same('failed');
      // A commit by another connection: the cached record is dropped, not handed out stale.
      reader.applyTransition(id, { expected: 'ERROR', event: 'resume', now: T0 + 11 });
      assert.equal(store.getJob(id)?.state, 'QUEUED');
      same('changed by another connection');
      store.applyTransition(id, { expected: 'QUEUED', event: 'cancel', now: T0 + 12 });
      same('cancelled');
    } finally {
      store.close();
      reader.close();
    }
  });

  test('a sole writer reads cached records without asking, but builds every change from the rows another connection left', () => {
    const store = openSqliteJobStore(path, { soleWriter: true });
    const other = openSqliteJobStore(path);
    try {
      createJob(store, 1);
      const id = jobId(1);
      store.addFiles(id, [file(1)], caller());
      const cached = store.getJob(id);
      assert.equal(store.getJob(id), cached, 'the same frozen record, from the cache');
      // A writer the store was told cannot exist: reads do not look, but the next write verb
      // asks inside its transaction and starts from the rows, so nothing it wrote is lost.
      other.updateJob(id, 'setDescription', { description: 'from the other connection' }, T0 + 1);
      store.updateJob(id, 'setPriority', { priority: 'HIGH' }, T0 + 2);
      const after = store.getJob(id);
      assert.equal(after?.description, 'from the other connection');
      assert.equal(after?.priority, 'HIGH');
      assert.deepEqual(after, other.getJob(id));
    } finally {
      store.close();
      other.close();
    }
  });

  test('updateFiles puts the record it computed back into the cache: the next round reads no rows', () => {
    const store = openSqliteJobStore(path, { soleWriter: true });
    const other = openSqliteJobStore(path);
    try {
      createJob(store, 1);
      const id = jobId(1);
      store.addFiles(id, [file(1), file(2)], caller());
      store.updateFiles(id, [{ index: 0, patch: { bytesTotal: 10, bytesTransferred: 10, transferred: true } }], T0 + 3);
      // A sole writer's reads do not look for other writers: a record read from the rows would
      // show this description, the one the round put back does not.
      other.updateJob(id, 'setDescription', { description: 'from the other connection' }, T0 + 4);
      const kept = store.getJob(id);
      assert.notEqual(kept?.description, 'from the other connection', 'the round left its record in the cache');
      assert.equal(kept?.files[0]?.transferred, true);
      assert.equal(kept?.times.modificationTime, T0 + 3);
      assert.ok(Object.isFrozen(kept?.files[0]), 'cached records are frozen');
      // The next write verb still starts from the rows.
      store.updateFiles(id, [{ index: 1, patch: { bytesTotal: 20 } }], T0 + 5);
      assert.deepEqual(store.getJob(id), other.getJob(id));
    } finally {
      store.close();
      other.close();
    }
  });

  test('a change that keeps state and owner writes the job row in place: one WAL frame, no index page', () => {
    const store = openSqliteJobStore(path);
    const frames = (step: () => void): number => {
      const before = statSync(`${path}-wal`).size;
      step();
      return (statSync(`${path}-wal`).size - before) / (4096 + 24);
    };
    try {
      createJob(store, 1, 'alice');
      createJob(store, 2, 'bob');
      const id = jobId(1);
      store.addFiles(id, [file(1)], caller('alice', T0 + 2));
      // The row's table page only (jobs_by_state_owner and the id index are not touched).
      assert.equal(
        frames(() => store.updateJob(id, 'setDescription', { description: 'x' }, T0 + 3)),
        1,
      );
      assert.equal(
        frames(() => store.updateJob(id, 'setPriority', { priority: 'HIGH' }, T0 + 4)),
        1,
      );
      // A state change moves its index entry: the table page and the index page.
      assert.equal(
        frames(() => store.applyTransition(id, { expected: 'SUSPENDED', event: 'resume', now: T0 + 5 })),
        2,
      );
      assert.equal(
        frames(() => store.updateJob(id, 'setPriority', { priority: 'LOW' }, T0 + 6)),
        1,
      );
      store.updateJob(
        jobId(2),
        'takeOwnership',
        { owner: 'carol', credentials: [], customHeaders: null, notifyCmdLine: null },
        T0 + 7,
      );
      const db = new DatabaseSync(path);
      try {
        assert.equal((db.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check, 'ok');
        const byIndex = db
          .prepare('SELECT id, state, owner FROM jobs INDEXED BY jobs_by_state_owner WHERE state = ? AND owner = ?')
          .all('QUEUED', 'alice') as Array<{ id: string }>;
        assert.deepEqual(
          byIndex.map((r) => r.id),
          [id],
        );
        const carol = db
          .prepare('SELECT id FROM jobs INDEXED BY jobs_by_state_owner WHERE state = ? AND owner = ?')
          .all('SUSPENDED', 'carol') as Array<{ id: string }>;
        assert.deepEqual(
          carol.map((r) => r.id),
          [jobId(2)],
        );
      } finally {
        db.close();
      }
      assert.equal(store.getJob(id)?.priority, 'LOW');
    } finally {
      store.close();
    }
  });

  test('a job cancelled on the same connection frees its place in the kept quota counts', () => {
    const quotas = { ...DEFAULT_QUOTAS, maxJobsPerUser: 2, maxJobsPerMachine: 2 };
    const store = openSqliteJobStore(path, { quotas });
    try {
      createJob(store, 1);
      createJob(store, 2);
      assertBitsError(() => createJob(store, 3), 'BG_E_TOO_MANY_JOBS_PER_USER');
      store.applyTransition(jobId(1), { expected: 'SUSPENDED', event: 'cancel', now: T0 + 1 });
      createJob(store, 4);
      assertBitsError(() => createJob(store, 5), 'BG_E_TOO_MANY_JOBS_PER_USER');
      store.applyTransition(jobId(2), { expected: 'SUSPENDED', event: 'cancel', now: T0 + 2 });
      store.applyTransition(jobId(4), { expected: 'SUSPENDED', event: 'cancel', now: T0 + 3 });
      createJob(store, 6);
      createJob(store, 7);
      assertBitsError(() => createJob(store, 8), 'BG_E_TOO_MANY_JOBS_PER_USER');
    } finally {
      store.close();
    }
  });

  test('a COMMIT that fails undoes the whole verb (row and timers) and the verb throws', () => {
    const store = openSqliteJobStore(path);
    try {
      createJob(store, 1);
      const id = jobId(1);
      store.addFiles(id, [file(1)], caller());
      store.saveTimers(id, { activeMs: 1, noProgressMs: null, retryRemainingMs: null, inactiveMs: 2 });
      const change = {
        expected: 'SUSPENDED' as const,
        event: 'resume' as const,
        now: T0 + 5,
        timers: { activeMs: 1, noProgressMs: null, retryRemainingMs: null, inactiveMs: 0 },
      };
      const fault = failCommitsInto(path, 'QUEUED');
      const before = snapshot(store, [id]);
      assertBitsError(() => store.applyTransition(id, change), 'E_FAIL', /FOREIGN KEY/);
      assert.deepEqual(snapshot(store, [id]), before);
      // The connection is usable again at once: no transaction was left open.
      store.updateJob(id, 'setDescription', { description: 'after' }, T0 + 6);
      fault.remove();
      assert.equal(store.applyTransition(id, change).state, 'QUEUED');
      assert.deepEqual(store.getTimers(id), change.timers);
    } finally {
      store.close();
    }
  });

  test('a job deleted by purgeFinal takes its files and timers with it (foreign keys)', () => {
    const store = openSqliteJobStore(path);
    createJob(store, 1);
    store.addFiles(jobId(1), [file(1), file(2)], caller());
    store.saveTimers(jobId(1), { activeMs: 1, noProgressMs: null, retryRemainingMs: null, inactiveMs: 2 });
    store.applyTransition(jobId(1), { expected: 'SUSPENDED', event: 'cancel', now: T0 + 5 });
    assert.equal(store.purgeFinal(T0 + 6), 1);
    store.close();
    const db = new DatabaseSync(path);
    assert.deepEqual(
      db.prepare('SELECT (SELECT count(*) FROM files) AS files, (SELECT count(*) FROM timers) AS timers').get(),
      { __proto__: null, files: 0, timers: 0 },
    );
    db.close();
  });
  test('a URL with userinfo written by an earlier version is moved into the credentials when the store opens', () => {
    const store = openSqliteJobStore(path);
    createJob(store, 1);
    store.addFiles(jobId(1), [file(1), file(2)], caller());
    store.close();
    // What an earlier version stored: the URL as the caller gave it.
    const db = new DatabaseSync(path);
    db.prepare('UPDATE files SET remote_name = ? WHERE idx = 1').run('https://bob:p%40ss@example.org/f2.bin');
    db.close();
    const reopened = openSqliteJobStore(path);
    try {
      const job = reopened.getJob(jobId(1));
      assert.deepEqual(
        job?.files.map((f) => f.remoteName),
        ['https://example.org/f1.bin', 'https://example.org/f2.bin'],
      );
      assert.deepEqual(job?.credentials, [{ target: 'SERVER', scheme: 'BASIC', userName: 'bob', password: 'p@ss' }]);
    } finally {
      reopened.close();
    }
  });
});
