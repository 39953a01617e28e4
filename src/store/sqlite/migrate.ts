import type { DatabaseSync } from 'node:sqlite';
import { BitsError } from '../../core/index.ts';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations.ts';

/** The schema version recorded in the database header. */
export function schemaVersion(db: DatabaseSync): number {
  const row = db.prepare('PRAGMA user_version').get() as { user_version: number } | undefined;
  return row?.user_version ?? 0;
}

function refuseNewer(found: number): BitsError {
  return new BitsError(
    'BG_E_DATABASE_CORRUPT',
    `the job database has schema version ${found}, newer than version ${SCHEMA_VERSION} that this openbits ` +
      'understands; upgrade openbits (the database was left untouched)',
    { context: 'GENERAL_QUEUE_MANAGER' },
  );
}

/**
 * Bring the database to SCHEMA_VERSION: each pending step and its version bump in one
 * IMMEDIATE transaction (so two processes opening a new file cannot both apply step 1).
 * Refuses, before writing anything, a database written by a newer openbits.
 */
export function migrate(db: DatabaseSync): { from: number; to: number } {
  const from = schemaVersion(db);
  if (from > SCHEMA_VERSION) throw refuseNewer(from);
  for (const step of MIGRATIONS) {
    if (step.version <= from) continue;
    db.exec('BEGIN IMMEDIATE');
    try {
      // Re-read under the write lock: another process may have migrated meanwhile.
      const now = schemaVersion(db);
      if (now > SCHEMA_VERSION) throw refuseNewer(now);
      if (now < step.version) {
        db.exec(step.sql);
        db.exec(`PRAGMA user_version = ${step.version}`);
      }
      db.exec('COMMIT');
    } catch (err) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw err;
    }
  }
  return { from, to: SCHEMA_VERSION };
}
