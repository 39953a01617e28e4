import { DatabaseSync } from 'node:sqlite';
import type { JobState } from '../../src/core/index.ts';

/**
 * Make every COMMIT that moves a job into `state` fail, in the real job database. A trigger adds a
 * row whose deferred foreign key points at no job; SQLite checks deferred keys at COMMIT, so each
 * statement of the verb succeeds and the COMMIT itself fails (SQLITE_CONSTRAINT_FOREIGNKEY), as a
 * full disk or an I/O error at COMMIT would. The store's own connection sees the new schema at
 * its next statement. `remove()` takes the fault out again.
 */
export function failCommitsInto(dbPath: string, state: JobState): { remove(): void } {
  const name = `commit_fault_${state.toLowerCase()}`;
  const db = new DatabaseSync(dbPath);
  try {
    db.exec(`
      CREATE TABLE IF NOT EXISTS commit_fault (job_id TEXT REFERENCES jobs (id) DEFERRABLE INITIALLY DEFERRED);
      CREATE TRIGGER ${name} AFTER UPDATE OF state ON jobs
        WHEN NEW.state = '${state}' AND OLD.state <> '${state}'
        BEGIN INSERT INTO commit_fault (job_id) VALUES ('no such job'); END;
    `);
  } finally {
    db.close();
  }
  return {
    remove() {
      const again = new DatabaseSync(dbPath);
      try {
        again.exec(`DROP TRIGGER IF EXISTS ${name}`);
      } finally {
        again.close();
      }
    },
  };
}
