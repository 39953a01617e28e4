/**
 * The PostgreSQL schema of the session store, as numbered migrations. They run at start, one
 * instance at a time (an advisory lock held for the transaction), so a farm starting together
 * migrates once; each applied version is recorded in `bits_upload_schema`.
 */
import type { PoolClient } from 'pg';

/** Advisory-lock keys of the upload server (two int4 halves: 'BITS', purpose). */
export const LOCK_NAMESPACE = 0x42495453;
export const MIGRATION_LOCK = 1;
export const SWEEP_LOCK = 2;
/** Admissions (caps) serialise per owner on keys in this namespace: hashtext(owner). */
export const OWNER_NAMESPACE = 0x42495454;

export const MIGRATIONS: readonly string[] = [
  // 1: sessions, their received range (a contiguous prefix: `received`), owners, expiry
  // inputs, and the cached notification result.
  `CREATE TABLE bits_upload_sessions (
     id               text PRIMARY KEY,
     segments         text[] NOT NULL,
     original_url     text NOT NULL,
     owner            text NOT NULL,
     address          text NOT NULL,
     protocol         text NOT NULL,
     total            bigint CHECK (total > 0),
     received         bigint NOT NULL DEFAULT 0 CHECK (received >= 0 AND (total IS NULL OR received <= total)),
     phase            text NOT NULL CHECK (phase IN ('receiving', 'complete', 'closed')),
     created_ms       bigint NOT NULL,
     last_progress_ms bigint NOT NULL,
     notify           jsonb
   );
   CREATE INDEX bits_upload_sessions_owner ON bits_upload_sessions (owner, last_progress_ms) WHERE phase <> 'closed';
   CREATE INDEX bits_upload_sessions_address ON bits_upload_sessions (address, last_progress_ms) WHERE phase <> 'closed';
   CREATE INDEX bits_upload_sessions_progress ON bits_upload_sessions (last_progress_ms);`,
];

/** Bring the schema up to date; returns the version now in force. */
export async function migrate(client: PoolClient): Promise<number> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_NAMESPACE, MIGRATION_LOCK]);
    await client.query(
      'CREATE TABLE IF NOT EXISTS bits_upload_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const { rows } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM bits_upload_schema');
    const current = rows[0]?.v ?? 0;
    if (current > MIGRATIONS.length) {
      throw new Error(`the session database has schema ${current}, newer than this server (${MIGRATIONS.length})`);
    }
    for (let v = current + 1; v <= MIGRATIONS.length; v++) {
      await client.query(MIGRATIONS[v - 1] as string);
      await client.query('INSERT INTO bits_upload_schema (version) VALUES ($1)', [v]);
    }
    await client.query('COMMIT');
    return MIGRATIONS.length;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}
