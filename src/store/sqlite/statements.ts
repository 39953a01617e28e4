import type { DatabaseSync, SQLInputValue, StatementResultingChanges, StatementSync } from 'node:sqlite';
import { FILE_COLUMNS, JOB_COLUMNS } from './job-rows.ts';

/** Final states, spelled once for the SQL below. */
const FINAL = `('ACKNOWLEDGED', 'CANCELLED')`;

/** A row's values by column name (jobParams, fileParams). */
type RowValues = Readonly<Record<string, SQLInputValue>>;

/**
 * A statement whose parameters are some of a row's columns, in a fixed order, then the values of
 * its WHERE clause — all bound by position. node:sqlite binds a named parameter by searching the
 * statement's parameter names for it, twice for a bare name (`id`, then `:id`): ~2,000 string
 * compares for a 32-column job row, 8 % of bitsd's CPU in S8's cycles. By position each value
 * goes straight to its slot.
 */
export interface RowStatement {
  run(row: RowValues, ...where: SQLInputValue[]): StatementResultingChanges;
}

function rowStatement(db: DatabaseSync, sql: string, columns: readonly string[]): RowStatement {
  const statement = db.prepare(sql);
  return {
    run: (row, ...where) => {
      const values: SQLInputValue[] = new Array(columns.length + where.length);
      for (let i = 0; i < columns.length; i++) values[i] = row[columns[i] as string] as SQLInputValue;
      for (let i = 0; i < where.length; i++) values[columns.length + i] = where[i] as SQLInputValue;
      return statement.run(...values);
    },
  };
}

const insertRow = (db: DatabaseSync, table: string, columns: readonly string[]): RowStatement =>
  rowStatement(
    db,
    `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
    columns,
  );

/** `where` has its own `?`s, bound after the columns (RowStatement.run's `where`). */
const updateRow = (db: DatabaseSync, table: string, columns: readonly string[], where: string): RowStatement =>
  rowStatement(db, `UPDATE ${table} SET ${columns.map((c) => `${c} = ?`).join(', ')} WHERE ${where}`, columns);

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
  readonly insertJob: RowStatement;
  /** Full-row update, compare-and-set on the state the change was computed from: (row, id, state). */
  readonly updateJobIfState: RowStatement;
  /**
   * The same for a change that keeps the state and the owner: every column but the indexed ones
   * (id, state, owner), so SQLite writes the table's page and no index page.
   */
  readonly updateJobInPlace: RowStatement;
  readonly insertFile: RowStatement;
  /** (row, job id, index). */
  readonly updateFile: RowStatement;
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
    insertJob: insertRow(db, 'jobs', JOB_COLUMNS),
    updateJobIfState: updateRow(db, 'jobs', jobUpdateColumns, 'id = ? AND state = ?'),
    updateJobInPlace: updateRow(db, 'jobs', jobInPlaceColumns, 'id = ? AND state = ?'),
    insertFile: insertRow(db, 'files', FILE_COLUMNS),
    updateFile: updateRow(db, 'files', fileUpdateColumns, 'job_id = ? AND idx = ?'),
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
