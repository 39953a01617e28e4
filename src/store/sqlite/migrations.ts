/**
 * The schema, as numbered steps that are only ever appended to. Step N brings a database from
 * `PRAGMA user_version` N-1 to N; each runs in its own transaction together with the version
 * bump, so a crash mid-migration leaves the previous version intact.
 */
export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

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
    description: 'written, not synced: files.written_bytes, files.written_boot (docs/durability.md)',
    sql: `
      ALTER TABLE files ADD COLUMN written_bytes INTEGER;
      ALTER TABLE files ADD COLUMN written_boot TEXT;
    `,
  },
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;
