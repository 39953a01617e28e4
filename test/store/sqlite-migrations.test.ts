import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import {
  MIGRATIONS,
  type Migration,
  migrate,
  openSqliteJobStore,
  SCHEMA_VERSION,
  SqliteJobStore,
  schemaVersion,
} from '../../src/store/index.ts';
import { assertBitsError } from '../helpers/assert-bits-error.ts';
import { caller, createJob, file, jobId, T0 } from './store-fixtures.ts';

const tables = (db: DatabaseSync): string[] =>
  (
    db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).all() as Array<{ name: string }>
  ).map((r) => r.name);

const steps: Migration[] = [
  { version: 1, description: 'a', sql: 'CREATE TABLE a (x INTEGER)' },
  { version: 2, description: 'b', sql: 'CREATE TABLE b (y TEXT); INSERT INTO a VALUES (1)' },
];

test('the shipped migrations are numbered 1…N and SCHEMA_VERSION is N', () => {
  assert.deepEqual(
    MIGRATIONS.map((m) => m.version),
    Array.from({ length: MIGRATIONS.length }, (_, i) => i + 1),
  );
  assert.equal(SCHEMA_VERSION, MIGRATIONS.length);
});

test('pending steps apply in order, each with its version; a second run is a no-op', () => {
  const db = new DatabaseSync(':memory:');
  assert.deepEqual(migrate(db, steps.slice(0, 1)), { from: 0, to: 1 });
  assert.equal(schemaVersion(db), 1);
  assert.deepEqual(migrate(db, steps), { from: 1, to: 2 });
  assert.deepEqual(tables(db), ['a', 'b']);
  assert.deepEqual(migrate(db, steps), { from: 2, to: 2 });
  assert.deepEqual(db.prepare('SELECT count(*) AS n FROM a').get(), { __proto__: null, n: 1 });
  db.close();
});

test('a failing step leaves the database at the previous version with nothing of it applied', () => {
  const db = new DatabaseSync(':memory:');
  migrate(db, steps);
  const broken: Migration = { version: 3, description: 'c', sql: 'CREATE TABLE c (z); INSERT INTO nowhere VALUES (1)' };
  assert.throws(() => migrate(db, [...steps, broken]), /nowhere/);
  assert.equal(schemaVersion(db), 2);
  assert.deepEqual(tables(db), ['a', 'b']);
  assert.equal(db.isTransaction, false);
  migrate(db, [...steps, { ...broken, sql: 'CREATE TABLE c (z)' }]);
  assert.equal(schemaVersion(db), 3);
  db.close();
});

test('a database newer than the steps is refused, naming both versions; misnumbered steps are a bug', () => {
  const db = new DatabaseSync(':memory:');
  migrate(db, steps);
  assertBitsError(() => migrate(db, steps.slice(0, 1)), 'BG_E_DATABASE_CORRUPT', /version 2, newer than version 1/);
  assert.throws(() => migrate(db, [steps[1] as Migration]), TypeError);
  db.close();
});

test('step 10 rebuilds jobs without AUTOINCREMENT and keeps every row, index and reference of a version-9 database', () => {
  const dir = mkdtempSync(join(tmpdir(), 'openbits-migrate-'));
  const path = join(dir, 'jobs.db');
  try {
    const old = new DatabaseSync(path);
    old.exec('PRAGMA journal_mode = WAL');
    old.exec('PRAGMA foreign_keys = ON');
    migrate(old, MIGRATIONS.slice(0, 9));
    // Today's store writes the columns later steps add (files.ready_mode, step 11): the version-9
    // database has it while it is filled and loses it again before step 10 runs.
    const LATER_COLUMNS = ['ready_mode'];
    old.exec('ALTER TABLE files ADD COLUMN ready_mode INTEGER');
    const v9 = new SqliteJobStore(old);
    for (let n = 1; n <= 5; n++) {
      createJob(v9, n, n % 2 === 0 ? 'bob' : 'alice');
      v9.addFiles(jobId(n), [file(n), file(n + 10)], caller(n % 2 === 0 ? 'bob' : 'alice', T0 + n));
    }
    v9.saveTimers(jobId(2), { activeMs: 1500, noProgressMs: null, retryRemainingMs: 9000, inactiveMs: 12 });
    v9.saveTransferState(jobId(3), { session: 'abc' });
    v9.applyTransition(jobId(3), { expected: 'SUSPENDED', event: 'resume', now: T0 + 20 });
    v9.saveWritten(jobId(4), 0, { bytes: 10, boot: 'boot-1' });
    v9.updateJob(jobId(1), 'setWebhooks', { webhooks: [] }, T0 + 21);
    // The last job cancelled and purged: its seq (the largest) is free for the next job.
    v9.applyTransition(jobId(5), { expected: 'SUSPENDED', event: 'cancel', now: T0 + 22 });
    assert.equal(v9.purgeFinal(T0 + 23), 1);
    const dump = (db: DatabaseSync): unknown =>
      ['jobs', 'files', 'timers', 'transfer_state', 'file_written', 'webhook_outbox'].map((t) =>
        db
          .prepare(`SELECT * FROM ${t} ORDER BY 1, 2`)
          .all()
          .map((row) => Object.fromEntries(Object.entries(row).filter(([k]) => !LATER_COLUMNS.includes(k)))),
      );
    old.exec('ALTER TABLE files DROP COLUMN ready_mode');
    const before = dump(old);
    assert.equal(schemaVersion(old), 9);
    v9.close();

    const store = openSqliteJobStore(path);
    store.close();
    const db = new DatabaseSync(path);
    try {
      assert.equal(schemaVersion(db), SCHEMA_VERSION);
      assert.deepEqual(dump(db), before, 'every row of every table, unchanged');
      const sql = (db.prepare(`SELECT sql FROM sqlite_master WHERE name = 'jobs'`).get() as { sql: string }).sql;
      assert.doesNotMatch(sql, /AUTOINCREMENT/i);
      assert.deepEqual(
        (
          db
            .prepare(`SELECT name FROM sqlite_master WHERE tbl_name = 'jobs' AND type = 'index' ORDER BY name`)
            .all() as Array<{ name: string }>
        ).map((r) => r.name),
        ['jobs_by_state_owner', 'sqlite_autoindex_jobs_1'],
      );
      assert.deepEqual(
        (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'trigger'`).all() as Array<{ name: string }>).map(
          (r) => r.name,
        ),
        ['file_written_cleared'],
      );
      assert.equal(db.prepare(`SELECT * FROM sqlite_sequence WHERE name = 'jobs'`).get(), undefined);
      assert.deepEqual(db.prepare('PRAGMA foreign_key_check').all(), []);
      assert.equal((db.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check, 'ok');
    } finally {
      db.close();
    }

    // The references still cascade, and a new job (taking the freed seq) goes last.
    const after = openSqliteJobStore(path);
    try {
      assert.equal(after.durabilitySettings().foreignKeys, true);
      createJob(after, 6, 'alice');
      assert.deepEqual(
        after.listJobs().map((j) => j.id),
        [jobId(1), jobId(2), jobId(3), jobId(4), jobId(6)],
      );
      after.applyTransition(jobId(2), { expected: 'SUSPENDED', event: 'cancel', now: T0 + 30 });
      assert.equal(after.purgeFinal(T0 + 31), 1);
      assert.equal(after.getTimers(jobId(2)), undefined);
      createJob(after, 7, 'bob');
      assert.deepEqual(
        after.listJobs().map((j) => j.id),
        [jobId(1), jobId(3), jobId(4), jobId(6), jobId(7)],
      );
    } finally {
      after.close();
    }
    const check = new DatabaseSync(path);
    try {
      assert.deepEqual(check.prepare(`SELECT count(*) AS n FROM files WHERE job_id = ?`).get(jobId(2)), {
        __proto__: null,
        n: 0,
      });
    } finally {
      check.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a rebuild step runs with foreign keys off, puts them back, and rolls back when a reference broke', () => {
  const db = new DatabaseSync(':memory:');
  db.exec('PRAGMA foreign_keys = ON');
  const base: Migration[] = [
    {
      version: 1,
      description: 'p, c',
      sql: 'CREATE TABLE p (id TEXT PRIMARY KEY); CREATE TABLE c (p TEXT REFERENCES p (id) ON DELETE CASCADE); INSERT INTO p VALUES (1); INSERT INTO c VALUES (1)',
    },
  ];
  migrate(db, base);
  const rebuild: Migration = {
    version: 2,
    description: 'rebuild p',
    rebuild: true,
    sql: 'CREATE TABLE p2 (id TEXT PRIMARY KEY); INSERT INTO p2 SELECT * FROM p; DROP TABLE p; ALTER TABLE p2 RENAME TO p',
  };
  const lossy: Migration = {
    ...rebuild,
    sql: 'CREATE TABLE p2 (id TEXT PRIMARY KEY); DROP TABLE p; ALTER TABLE p2 RENAME TO p',
  };
  assertBitsError(() => migrate(db, [...base, lossy]), 'BG_E_DATABASE_CORRUPT', /broken references/);
  assert.equal(schemaVersion(db), 1);
  assert.deepEqual(db.prepare('SELECT count(*) AS n FROM c').get(), { __proto__: null, n: 1 });
  assert.deepEqual(db.prepare('PRAGMA foreign_keys').get(), { __proto__: null, foreign_keys: 1 });
  // Inside a caller's transaction SQLite ignores foreign_keys = OFF: refused before anything runs.
  db.exec('BEGIN');
  assertBitsError(() => migrate(db, [...base, rebuild]), 'E_FAIL', /needs foreign keys off/);
  db.exec('ROLLBACK');
  assert.equal(schemaVersion(db), 1);
  assert.deepEqual(db.prepare('SELECT count(*) AS n FROM c').get(), { __proto__: null, n: 1 });
  migrate(db, [...base, rebuild]);
  assert.equal(schemaVersion(db), 2);
  assert.deepEqual(
    db.prepare('SELECT count(*) AS n FROM c').get(),
    { __proto__: null, n: 1 },
    'no cascade from the drop',
  );
  assert.deepEqual(db.prepare('PRAGMA foreign_keys').get(), { __proto__: null, foreign_keys: 1 });
  db.close();
});
