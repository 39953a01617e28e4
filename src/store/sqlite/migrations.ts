/**
 * The schema, as numbered steps that are only ever appended to. Step N brings a database from
 * `PRAGMA user_version` N-1 to N; each runs in its own transaction together with the version
 * bump, so a crash mid-migration leaves the previous version intact.
 */
export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
  /**
   * A step that rebuilds a table others reference: foreign keys are off while it runs (set
   * outside its transaction, where SQLite allows it, and put back after), so dropping the old
   * table deletes nothing by cascade; `PRAGMA foreign_key_check` must find nothing before the
   * step commits.
   */
  readonly rebuild?: boolean;
}

/** The jobs table's columns after step 9, in their order (step 10 copies them). */
const JOBS_COLUMNS_V9 = [
  'seq',
  'id',
  'type',
  'display_name',
  'description',
  'owner',
  'state',
  'priority',
  'minimum_retry_delay',
  'no_progress_timeout',
  'maximum_download_time',
  'notify_flags',
  'notify_cmd_line',
  'proxy',
  'security_flags',
  'custom_headers',
  'custom_headers_write_only',
  'credentials',
  'dynamic_content',
  'high_performance',
  'max_download_size',
  'max_bandwidth',
  'reply_file_name',
  'error_count',
  'error',
  'creation_time',
  'modification_time',
  'transfer_completion_time',
  'ever_resumed',
  'file_mode',
  'webhooks',
  'max_connections',
  'cost_flags',
].join(', ');

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'jobs, files, timers',
    sql: `
      CREATE TABLE jobs (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        type TEXT NOT NULL,
        display_name TEXT NOT NULL,
        description TEXT NOT NULL,
        owner TEXT NOT NULL,
        state TEXT NOT NULL,
        priority TEXT NOT NULL,
        minimum_retry_delay INTEGER NOT NULL,
        no_progress_timeout INTEGER NOT NULL,
        maximum_download_time INTEGER NOT NULL,
        notify_flags INTEGER NOT NULL,
        notify_cmd_line TEXT,
        proxy TEXT NOT NULL,
        security_flags INTEGER NOT NULL,
        custom_headers TEXT,
        custom_headers_write_only INTEGER NOT NULL,
        credentials TEXT NOT NULL,
        dynamic_content INTEGER NOT NULL,
        high_performance INTEGER NOT NULL,
        max_download_size INTEGER,
        max_bandwidth INTEGER NOT NULL,
        reply_file_name TEXT,
        error_count INTEGER NOT NULL,
        error TEXT,
        creation_time INTEGER NOT NULL,
        modification_time INTEGER NOT NULL,
        transfer_completion_time INTEGER,
        ever_resumed INTEGER NOT NULL
      );
      CREATE INDEX jobs_by_state_owner ON jobs (state, owner);
      CREATE TABLE files (
        job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        remote_name TEXT NOT NULL,
        local_name TEXT NOT NULL,
        ranges TEXT,
        bytes_total INTEGER NOT NULL,
        bytes_transferred INTEGER NOT NULL,
        transferred INTEGER NOT NULL,
        completed INTEGER NOT NULL,
        temporary_name TEXT,
        temporary_file_id TEXT,
        validators TEXT,
        PRIMARY KEY (job_id, idx)
      ) WITHOUT ROWID;
      CREATE TABLE timers (
        job_id TEXT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
        active_ms REAL NOT NULL,
        no_progress_ms REAL,
        retry_remaining_ms REAL,
        inactive_ms REAL NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    description: 'per-job transfer protocol state (upload sessions)',
    sql: `
      CREATE TABLE transfer_state (
        job_id TEXT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
        state TEXT NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 3,
    description: 'file mode of published files (null: follow the umask)',
    sql: `
      ALTER TABLE jobs ADD COLUMN file_mode INTEGER;
    `,
  },
  {
    // Issue 17 asks for this as version 6 (other branches may take 4-5); renumber at merge.
    version: 4,
    description: 'webhooks: per-job hooks and the durable outbox (docs/webhooks.md)',
    sql: `
      ALTER TABLE jobs ADD COLUMN webhooks TEXT NOT NULL DEFAULT '[]';
      CREATE TABLE webhook_outbox (
        id TEXT PRIMARY KEY,
        job_id TEXT NOT NULL,
        event TEXT NOT NULL,
        url TEXT NOT NULL,
        secret TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL,
        next_attempt_at INTEGER NOT NULL,
        last_error TEXT
      ) WITHOUT ROWID;
      CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at);
    `,
  },
  {
    version: 5,
    description: 'segmented downloads: jobs.max_connections, files.segments (docs/transfer.md)',
    sql: `
      ALTER TABLE jobs ADD COLUMN max_connections INTEGER NOT NULL DEFAULT 1;
      ALTER TABLE files ADD COLUMN segments TEXT;
    `,
  },
  {
    version: 6,
    description: 'mirrors: files.mirrors (docs/transfer.md)',
    sql: `
      ALTER TABLE files ADD COLUMN mirrors TEXT NOT NULL DEFAULT '[]';
    `,
  },
  {
    version: 7,
    description: 'digests: files.digests, files.pieces (docs/transfer.md)',
    sql: `
      ALTER TABLE files ADD COLUMN digests TEXT NOT NULL DEFAULT '[]';
      ALTER TABLE files ADD COLUMN pieces TEXT;
    `,
  },
  {
    version: 8,
    description: 'cost flags (BITS_JOB_PROPERTY_ID_COST_FLAGS; null: the policy default)',
    sql: `
      ALTER TABLE jobs ADD COLUMN cost_flags INTEGER;
    `,
  },
  {
    version: 9,
    description: 'written, not synced: file_written, cleared by any update of its file (docs/durability.md)',
    // A table of its own: an update of the file row rewrites the whole row (its pieces can be
    // megabytes), and the trigger clears the record on every write of the file, whatever the verb.
    sql: `
      CREATE TABLE file_written (
        job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        boot TEXT NOT NULL,
        PRIMARY KEY (job_id, idx)
      ) WITHOUT ROWID;
      CREATE TRIGGER file_written_cleared AFTER UPDATE ON files BEGIN
        DELETE FROM file_written WHERE job_id = OLD.job_id AND idx = OLD.idx;
      END;
    `,
  },
  {
    version: 10,
    description: 'jobs.seq without AUTOINCREMENT (no sqlite_sequence write per created job)',
    // seq only orders the queue. Without AUTOINCREMENT a new row takes the largest seq + 1, so a
    // new job still sorts after every job in the table (what the queue cache assumes); only a
    // seq above every remaining row, freed by the purge, can be taken again. Every column, row,
    // the index and the UNIQUE id come across; the tables referencing jobs (id) keep their rows
    // (foreign keys off for the rebuild, checked before the commit). No trigger is on jobs.
    rebuild: true,
    sql: `
      CREATE TABLE jobs_v10 (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        type TEXT NOT NULL,
        display_name TEXT NOT NULL,
        description TEXT NOT NULL,
        owner TEXT NOT NULL,
        state TEXT NOT NULL,
        priority TEXT NOT NULL,
        minimum_retry_delay INTEGER NOT NULL,
        no_progress_timeout INTEGER NOT NULL,
        maximum_download_time INTEGER NOT NULL,
        notify_flags INTEGER NOT NULL,
        notify_cmd_line TEXT,
        proxy TEXT NOT NULL,
        security_flags INTEGER NOT NULL,
        custom_headers TEXT,
        custom_headers_write_only INTEGER NOT NULL,
        credentials TEXT NOT NULL,
        dynamic_content INTEGER NOT NULL,
        high_performance INTEGER NOT NULL,
        max_download_size INTEGER,
        max_bandwidth INTEGER NOT NULL,
        reply_file_name TEXT,
        error_count INTEGER NOT NULL,
        error TEXT,
        creation_time INTEGER NOT NULL,
        modification_time INTEGER NOT NULL,
        transfer_completion_time INTEGER,
        ever_resumed INTEGER NOT NULL,
        file_mode INTEGER,
        webhooks TEXT NOT NULL DEFAULT '[]',
        max_connections INTEGER NOT NULL DEFAULT 1,
        cost_flags INTEGER
      );
      INSERT INTO jobs_v10 (${JOBS_COLUMNS_V9}) SELECT ${JOBS_COLUMNS_V9} FROM jobs ORDER BY seq;
      DROP TABLE jobs;
      ALTER TABLE jobs_v10 RENAME TO jobs;
      CREATE INDEX jobs_by_state_owner ON jobs (state, owner);
    `,
  },
  {
    version: 11,
    description: 'files.ready_mode: the mode a finished temp file was synced with (Complete only renames it)',
    sql: `
      ALTER TABLE files ADD COLUMN ready_mode INTEGER;
    `,
  },
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;
