import type { DatabaseSync } from 'node:sqlite';
import { BitsError } from '../../core/index.ts';
import { MIGRATIONS, type Migration } from './migrations.ts';

/** The schema version recorded in the database header. */
export function schemaVersion(db: DatabaseSync): number {
  const row = db.prepare('PRAGMA user_version').get() as { user_version: number } | undefined;
  return row?.user_version ?? 0;
}

function refuseNewer(found: number, latest: number): BitsError {
  return new BitsError(
    'BG_E_DATABASE_CORRUPT',
    `the job database has schema version ${found}, newer than version ${latest} that this openbits ` +
      'understands; upgrade openbits (the database was left untouched)',
    { context: 'GENERAL_QUEUE_MANAGER' },
  );
}

/**
 * Bring the database to the last step's version: each pending step and its version bump in one
 * IMMEDIATE transaction (so two processes opening a new file cannot both apply step 1).
 * Refuses, before writing anything, a database written by a newer openbits. `steps` must be
 * numbered 1, 2, … (tests pass their own).
 */
export function migrate(db: DatabaseSync, steps: readonly Migration[] = MIGRATIONS): { from: number; to: number } {
  const latest = steps.length;
  for (const [i, step] of steps.entries()) {
    if (step.version !== i + 1) throw new TypeError(`migration ${i + 1} is numbered ${step.version}`);
  }
  const from = schemaVersion(db);
  if (from > latest) throw refuseNewer(from, latest);
  for (const step of steps) {
    if (step.version <= from) continue;
    // PRAGMA foreign_keys is a no-op inside a transaction: off before BEGIN, back after the end.
    const foreignKeys = step.rebuild === true ? foreignKeysOn(db) : false;
    if (foreignKeys) {
      db.exec('PRAGMA foreign_keys = OFF');
      // Still on (the caller holds a transaction): dropping the rebuilt table would cascade, and
      // the check below sees deleted rows as no broken reference. Refuse before anything runs.
      if (foreignKeysOn(db)) {
        throw new BitsError(
          'E_FAIL',
          `schema step ${step.version} (${step.description}) needs foreign keys off, which SQLite ignores inside a transaction`,
          { context: 'GENERAL_QUEUE_MANAGER' },
        );
      }
    }
    try {
      db.exec('BEGIN IMMEDIATE');
      try {
        // Re-read under the write lock: another process may have migrated meanwhile.
        const now = schemaVersion(db);
        if (now > latest) throw refuseNewer(now, latest);
        if (now < step.version) {
          db.exec(step.sql);
          if (step.rebuild === true) checkForeignKeys(db, step);
          db.exec(`PRAGMA user_version = ${step.version}`);
        }
        db.exec('COMMIT');
      } catch (err) {
        if (db.isTransaction) db.exec('ROLLBACK');
        throw err;
      }
    } finally {
      if (foreignKeys) db.exec('PRAGMA foreign_keys = ON');
    }
  }
  return { from, to: latest };
}

function foreignKeysOn(db: DatabaseSync): boolean {
  const row = db.prepare('PRAGMA foreign_keys').get() as { foreign_keys: number } | undefined;
  return row?.foreign_keys === 1;
}

/** A rebuild left every reference whole, or the step rolls back. */
function checkForeignKeys(db: DatabaseSync, step: Migration): void {
  const broken = db.prepare('PRAGMA foreign_key_check').all();
  if (broken.length > 0) {
    throw new BitsError(
      'BG_E_DATABASE_CORRUPT',
      `schema step ${step.version} (${step.description}) would leave ${broken.length} broken references; ` +
        'the database was left at the previous version',
      { context: 'GENERAL_QUEUE_MANAGER' },
    );
  }
}
