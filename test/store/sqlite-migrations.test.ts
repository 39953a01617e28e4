import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { MIGRATIONS, type Migration, migrate, SCHEMA_VERSION, schemaVersion } from '../../src/store/index.ts';
import { assertBitsError } from '../helpers/assert-bits-error.ts';

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
