import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { FILE_COLUMNS, JOB_COLUMNS } from './job-rows.ts';

/** Final states, spelled once for the SQL below. */
const FINAL = `('ACKNOWLEDGED', 'CANCELLED')`;

const insertText = (table: string, columns: readonly string[]): string =>
  `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((c) => `:${c}`).join(', ')})`;

const updateText = (table: string, columns: readonly string[], key: string): string =>
  `UPDATE ${table} SET ${columns.map((c) => `${c} = :${c}`).join(', ')} WHERE ${key}`;

/** A statement that takes a whole row's parameters and uses some (the in-place update). */
function prepareLenient(db: DatabaseSync, sql: string): StatementSync {
  const statement = db.prepare(sql);
  statement.setAllowUnknownNamedParameters(true);
  return statement;
}

/** Every statement the store runs, prepared once when the store opens. */
export interface Statements {
  readonly begin: StatementSync;
  readonly beginRead: StatementSync;
  /** Changes when another connection commits (the queue cache's check). */
  readonly dataVersion: StatementSync;
  readonly commit: StatementSync;
  readonly rollback: StatementSync;
  readonly selectJob: StatementSync;
  readonly selectFiles: StatementSync;
  readonly selectFile: StatementSync;
  readonly selectQueue: StatementSync;
  readonly selectQueueFiles: StatementSync;
  readonly selectOwnerQueue: StatementSync;
  readonly selectOwnerQueueFiles: StatementSync;
  readonly countQueue: StatementSync;
  readonly countOwnerQueue: StatementSync;
  readonly insertJob: StatementSync;
  /** Full-row update, compare-and-set on the state the change was computed from. */
  readonly updateJobIfState: StatementSync;
  /**
   * The same for a change that keeps the state and the owner: every column but the indexed ones
   * (id, state, owner), so SQLite writes the table's page and no index page.
   */
  readonly updateJobInPlace: StatementSync;
  readonly insertFile: StatementSync;
  readonly updateFile: StatementSync;
  readonly updateCheckpoint: StatementSync;
  /** A segmented download's checkpoint: the byte sum and the layout. */
  readonly updateSegments: StatementSync;
  /** saveWritten (file_written, migration 9). */
  readonly setWritten: StatementSync;
  readonly clearWritten: StatementSync;
  readonly selectWritten: StatementSync;
  readonly touchJob: StatementSync;
  readonly upsertTimers: StatementSync;
  readonly selectTimers: StatementSync;
  readonly upsertTransferState: StatementSync;
  readonly selectTransferState: StatementSync;
  readonly purgeFinal: StatementSync;
}

/** Prepare every statement on `db` (migrated already: the tables must exist). */
export function prepareStatements(db: DatabaseSync): Statements {
  const jobUpdateColumns = JOB_COLUMNS.filter((c) => c !== 'id');
  // jobs_by_state_owner and the UNIQUE id: an UPDATE naming none of these columns leaves both alone.
  const jobInPlaceColumns = JOB_COLUMNS.filter((c) => c !== 'id' && c !== 'state' && c !== 'owner');
  const fileUpdateColumns = FILE_COLUMNS.filter((c) => c !== 'job_id' && c !== 'idx');
  return {
    begin: db.prepare('BEGIN IMMEDIATE'),
    beginRead: db.prepare('BEGIN DEFERRED'),
    dataVersion: db.prepare('PRAGMA data_version'),
    commit: db.prepare('COMMIT'),
    rollback: db.prepare('ROLLBACK'),
    selectJob: db.prepare('SELECT * FROM jobs WHERE id = ?'),
    selectFiles: db.prepare('SELECT * FROM files WHERE job_id = ? ORDER BY idx'),
    selectFile: db.prepare('SELECT * FROM files WHERE job_id = ? AND idx = ?'),
    selectQueue: db.prepare(`SELECT * FROM jobs WHERE state NOT IN ${FINAL} ORDER BY seq`),
    selectQueueFiles: db.prepare(
      `SELECT f.* FROM files f JOIN jobs j ON j.id = f.job_id WHERE j.state NOT IN ${FINAL} ORDER BY j.seq, f.idx`,
    ),
    selectOwnerQueue: db.prepare(`SELECT * FROM jobs WHERE state NOT IN ${FINAL} AND owner = ? ORDER BY seq`),
    selectOwnerQueueFiles: db.prepare(
      `SELECT f.* FROM files f JOIN jobs j ON j.id = f.job_id
       WHERE j.state NOT IN ${FINAL} AND j.owner = ? ORDER BY j.seq, f.idx`,
    ),
    countQueue: db.prepare(`SELECT count(*) AS n FROM jobs WHERE state NOT IN ${FINAL}`),
    countOwnerQueue: db.prepare(`SELECT count(*) AS n FROM jobs WHERE state NOT IN ${FINAL} AND owner = ?`),
    insertJob: db.prepare(insertText('jobs', JOB_COLUMNS)),
    updateJobIfState: db.prepare(updateText('jobs', jobUpdateColumns, 'id = :id AND state = :expected_state')),
    updateJobInPlace: prepareLenient(db, updateText('jobs', jobInPlaceColumns, 'id = :id AND state = :expected_state')),
    insertFile: db.prepare(insertText('files', FILE_COLUMNS)),
    updateFile: db.prepare(updateText('files', fileUpdateColumns, 'job_id = :job_id AND idx = :idx')),
    updateCheckpoint: db.prepare('UPDATE files SET bytes_transferred = ? WHERE job_id = ? AND idx = ?'),
    updateSegments: db.prepare('UPDATE files SET bytes_transferred = ?, segments = ? WHERE job_id = ? AND idx = ?'),
    // Kept only past the durable offset and short of a known size, never for a transferred file;
    // the row's own columns are not read (a file's pieces can be megabytes of JSON).
    setWritten: db.prepare(
      `INSERT INTO file_written (job_id, idx, bytes, boot)
       SELECT job_id, idx, :bytes, :boot FROM files
       WHERE job_id = :job_id AND idx = :idx AND transferred = 0 AND bytes_transferred < :bytes
         AND (bytes_total < 0 OR :bytes < bytes_total)
       ON CONFLICT (job_id, idx) DO UPDATE SET bytes = excluded.bytes, boot = excluded.boot`,
    ),
    clearWritten: db.prepare('DELETE FROM file_written WHERE job_id = ? AND idx = ?'),
    selectWritten: db.prepare('SELECT idx, bytes, boot FROM file_written WHERE job_id = ?'),
    touchJob: db.prepare('UPDATE jobs SET modification_time = ? WHERE id = ?'),
    upsertTimers: db.prepare(
      `INSERT INTO timers (job_id, active_ms, no_progress_ms, retry_remaining_ms, inactive_ms)
       VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (job_id) DO UPDATE SET active_ms = excluded.active_ms, no_progress_ms = excluded.no_progress_ms,
         retry_remaining_ms = excluded.retry_remaining_ms, inactive_ms = excluded.inactive_ms`,
    ),
    selectTimers: db.prepare('SELECT * FROM timers WHERE job_id = ?'),
    upsertTransferState: db.prepare(
      `INSERT INTO transfer_state (job_id, state) VALUES (?, ?)
       ON CONFLICT (job_id) DO UPDATE SET state = excluded.state`,
    ),
    selectTransferState: db.prepare('SELECT state FROM transfer_state WHERE job_id = ?'),
    purgeFinal: db.prepare(`DELETE FROM jobs WHERE state IN ${FINAL} AND modification_time < ?`),
  };
}
