/**
 * The farm's session store: one row per session in PostgreSQL, the bytes on storage every
 * instance mounts (SessionFiles). A packet holds its session's row with SELECT … FOR UPDATE for
 * the whole packet — body written, fdatasync'd, row updated, COMMIT — so two instances never
 * accept overlapping fragments of one session, and a killed instance's lock dies with its
 * connection. File deletions run after COMMIT (a rolled-back removal keeps its bytes).
 * Database failures become 503 + BG_E_HTTP_ERROR_503 with Retry-After: the packet was not
 * acknowledged, nothing acknowledged is lost, and the client retries.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { systemClock } from '../../core/clock.ts';
import { formatSessionId } from '../../core/upload-protocol.ts';
import { UploadError } from '../ack.ts';
import type { SessionFiles } from '../session-files.ts';
import {
  type ExpiryPolicy,
  type NewSession,
  newRecord,
  overCap,
  ownerLimits,
  type Room,
  type SessionCaps,
  type SessionOwner,
  type SessionRecord,
} from '../session-record.ts';
import { type Created, type SessionStore, type SessionTx, tooManySessions } from '../session-store.ts';
import { LOCK_NAMESPACE, migrate, OWNER_NAMESPACE, SWEEP_LOCK } from './migrations.ts';

export interface PgSessionStoreOptions {
  /** `postgres://user@host:port/db` (also what `DATABASE_URL` holds). */
  readonly connectionString: string;
  /** Connections per instance; each packet in flight holds one (default 20). */
  readonly poolSize?: number;
  /** Give up waiting for a busy session's lock after this long → 503 (default 60 s). */
  readonly lockTimeoutMs?: number;
}

interface Row {
  id: string;
  segments: string[];
  original_url: string;
  owner: string;
  address: string;
  protocol: string;
  total: string | null;
  received: string;
  phase: SessionRecord['phase'];
  created_ms: string;
  last_progress_ms: string;
  notify: SessionRecord['notify'];
}

function toRecord(r: Row): SessionRecord {
  return {
    id: r.id,
    segments: r.segments,
    originalUrl: r.original_url,
    user: r.owner,
    address: r.address,
    protocol: r.protocol,
    total: r.total === null ? null : Number(r.total),
    received: Number(r.received),
    phase: r.phase,
    createdMs: Number(r.created_ms),
    lastProgressMs: Number(r.last_progress_ms),
    notify: r.notify,
  };
}

/** The database failed (down, restarting, unreachable): answer 503 so the client retries. */
export function databaseUnavailable(cause: unknown): UploadError {
  return new UploadError(503, 'BG_E_HTTP_ERROR_503', 'the session database is unavailable', {
    cause,
    extraHeaders: [['Retry-After', '5']],
  });
}

export class PgSessionStore implements SessionStore {
  readonly #files: SessionFiles;
  readonly #pool: pg.Pool;
  readonly #lockTimeoutMs: number;

  constructor(files: SessionFiles, options: PgSessionStoreOptions) {
    this.#files = files;
    this.#lockTimeoutMs = options.lockTimeoutMs ?? 60_000;
    this.#pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.poolSize ?? 20,
      connectionTimeoutMillis: 5000,
      application_name: 'bits-upload-server',
    });
    // An idle connection cut by a database restart must not crash the process.
    this.#pool.on('error', () => {});
  }

  async open(): Promise<void> {
    await this.#files.open();
    const client = await this.#pool.connect();
    try {
      await migrate(client);
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }

  /** A transaction on one connection; database errors (not `fn`'s own) become 503. */
  async #transaction<T>(fn: (client: pg.PoolClient) => Promise<T>, afterCommit: Array<() => Promise<void>> = []) {
    let client: pg.PoolClient | undefined;
    try {
      client = await this.#pool.connect();
      await client.query('BEGIN');
      await client.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.floor(this.#lockTimeoutMs))}`);
    } catch (err) {
      client?.release(true);
      throw databaseUnavailable(err);
    }
    let broken = false;
    try {
      const result = await fn(client);
      try {
        await client.query('COMMIT');
      } catch (err) {
        broken = true;
        throw databaseUnavailable(err);
      }
      for (const action of afterCommit) await action();
      return result;
    } catch (err) {
      if (!broken) await client.query('ROLLBACK').catch(() => (broken = true));
      throw err instanceof UploadError || !isDatabaseError(err) ? err : databaseUnavailable(err);
    } finally {
      client.release(broken);
    }
  }

  async get(id: string): Promise<SessionRecord | undefined> {
    try {
      const { rows } = await this.#pool.query<Row>('SELECT * FROM bits_upload_sessions WHERE id = $1', [id]);
      return rows[0] === undefined ? undefined : toRecord(rows[0]);
    } catch (err) {
      throw databaseUnavailable(err);
    }
  }

  async create(fields: NewSession, caps: SessionCaps, nowMs: number): Promise<Created> {
    const after: Array<() => Promise<void>> = [];
    const record = newRecord(formatSessionId(randomUUID()), fields, nowMs);
    const evicted = await this.#transaction(async (client) => {
      const gone = await this.#evict(client, fields, { sessions: 1, bytes: 0 }, caps, undefined);
      await client.query(
        `INSERT INTO bits_upload_sessions
           (id, segments, original_url, owner, address, protocol, total, received, phase, created_ms, last_progress_ms, notify)
         VALUES ($1, $2, $3, $4, $5, $6, NULL, 0, 'receiving', $7, $7, NULL)`,
        [record.id, record.segments, record.originalUrl, record.user, record.address, record.protocol, nowMs],
      );
      // Before COMMIT: a crash after it leaves data no row owns, which the sweep removes.
      await this.#files.create(record.id);
      for (const id of gone) after.push(() => this.#files.remove(id));
      return gone;
    }, after);
    return { record, evicted };
  }

  async makeRoom(owner: SessionOwner, want: Room, caps: SessionCaps, self: string): Promise<string[]> {
    const after: Array<() => Promise<void>> = [];
    return this.#transaction(async (client) => {
      const gone = await this.#evict(client, owner, want, caps, self);
      for (const id of gone) after.push(() => this.#files.remove(id));
      return gone;
    }, after);
  }

  /**
   * Evict the owner's oldest idle sessions until `want` fits. Admissions of one owner queue on
   * an advisory lock; sessions with a packet in flight hold their row lock, and SKIP LOCKED
   * passes them over (a busy session is never evicted).
   */
  async #evict(
    client: pg.PoolClient,
    owner: SessionOwner,
    want: Room,
    caps: SessionCaps,
    self: string | undefined,
  ): Promise<string[]> {
    const evicted: string[] = [];
    for (const limit of ownerLimits(owner, caps)) {
      if (limit.sessions === 0 && limit.bytes === 0) continue;
      const column = limit.by === 'user' ? 'owner' : 'address';
      const value = owner[limit.by];
      await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [OWNER_NAMESPACE, `${limit.by}:${value}`]);
      const { rows } = await client.query<{ n: string; bytes: string }>(
        `SELECT count(*) AS n, coalesce(sum(total), 0) AS bytes FROM bits_upload_sessions
          WHERE ${column} = $1 AND phase <> 'closed' AND id IS DISTINCT FROM $2`,
        [value, self ?? null],
      );
      let count = Number(rows[0]?.n ?? 0);
      let bytes = Number(rows[0]?.bytes ?? 0);
      while (overCap(limit, count, bytes, want)) {
        const victim = await client.query<{ id: string; total: string | null }>(
          `SELECT id, total FROM bits_upload_sessions
            WHERE ${column} = $1 AND phase <> 'closed' AND id IS DISTINCT FROM $2
            ORDER BY last_progress_ms, id LIMIT 1 FOR UPDATE SKIP LOCKED`,
          [value, self ?? null],
        );
        const v = victim.rows[0];
        if (v === undefined) throw tooManySessions();
        await client.query('DELETE FROM bits_upload_sessions WHERE id = $1', [v.id]);
        evicted.push(v.id);
        count--;
        bytes -= Number(v.total ?? 0);
      }
    }
    return evicted;
  }

  async withSession<T>(id: string, fn: (record: SessionRecord | undefined, tx: SessionTx) => Promise<T>): Promise<T> {
    const after: Array<() => Promise<void>> = [];
    return this.#transaction(async (client) => {
      const { rows } = await dbCall(() =>
        client.query<Row>('SELECT * FROM bits_upload_sessions WHERE id = $1 FOR UPDATE', [id]),
      );
      const tx: SessionTx = {
        save: async (record) => {
          const res = await dbCall(() =>
            client.query(
              `UPDATE bits_upload_sessions SET total = $2, received = $3, phase = $4, last_progress_ms = $5, notify = $6
                WHERE id = $1`,
              [record.id, record.total, record.received, record.phase, record.lastProgressMs, record.notify],
            ),
          );
          if (res.rowCount !== 1) throw new Error(`session ${record.id} was removed`);
        },
        close: async (record, nowMs) => {
          record.phase = 'closed';
          record.lastProgressMs = nowMs;
          await tx.save(record);
          after.push(() => this.#files.dropBytes(record.id));
        },
        remove: async (record) => {
          await dbCall(() => client.query('DELETE FROM bits_upload_sessions WHERE id = $1', [record.id]));
          after.push(() => this.#files.remove(record.id));
        },
      };
      return fn(rows[0] === undefined ? undefined : toRecord(rows[0]), tx);
    }, after);
  }

  async sweep(policy: ExpiryPolicy, nowMs: number): Promise<string[]> {
    const after: Array<() => Promise<void>> = [];
    const removed = await this.#transaction(async (client) => {
      // One sweep at a time across the farm: the others skip this tick.
      const { rows: lock } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1, $2) AS ok', [
        LOCK_NAMESPACE,
        SWEEP_LOCK,
      ]);
      if (lock[0]?.ok !== true) return undefined;
      const { rows } = await client.query<{ id: string }>(
        `DELETE FROM bits_upload_sessions WHERE id IN (
           SELECT id FROM bits_upload_sessions
            WHERE (phase = 'closed' AND $1 - last_progress_ms > $2)
               OR (phase <> 'closed' AND received = 0 AND $1 - last_progress_ms > $3)
               OR (phase <> 'closed' AND $1 - last_progress_ms > $4)
            FOR UPDATE SKIP LOCKED)
         RETURNING id`,
        [
          nowMs,
          Math.min(policy.tombstoneMs, policy.sessionTimeoutMs),
          Math.min(policy.emptySessionTimeoutMs, policy.sessionTimeoutMs),
          policy.sessionTimeoutMs,
        ],
      );
      const ids = rows.map((r) => r.id);
      for (const id of ids) after.push(() => this.#files.remove(id));
      // Data no row owns: a crash inside Create-Session, or an eviction whose files were not
      // removed; real time, as the file system's mtimes are.
      const candidates = (await this.#files.list()).filter(
        (f) => systemClock.wallMs() - f.mtimeMs > policy.emptySessionTimeoutMs,
      );
      if (candidates.length > 0) {
        const { rows: known } = await client.query<{ id: string }>(
          'SELECT id FROM bits_upload_sessions WHERE id = ANY($1)',
          [candidates.map((c) => c.id)],
        );
        const owned = new Set(known.map((r) => r.id));
        for (const c of candidates) {
          if (!owned.has(c.id)) {
            after.push(() => this.#files.remove(c.id));
            ids.push(c.id);
          }
        }
      }
      return ids;
    }, after);
    return removed ?? [];
  }
}

/** A query inside a packet: a database failure becomes 503, whatever `fn` around it does. */
async function dbCall<T>(query: () => Promise<T>): Promise<T> {
  try {
    return await query();
  } catch (err) {
    throw databaseUnavailable(err);
  }
}

/** Errors from pg or its socket (not the file system's, which keep their own meaning). */
function isDatabaseError(err: unknown): boolean {
  return err instanceof pg.DatabaseError || /Connection terminated|connect ECONNREFUSED/.test(String(err));
}
