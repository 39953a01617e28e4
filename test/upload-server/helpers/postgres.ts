import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * The PostgreSQL the farm tests use: the machine's server on 127.0.0.1:5432 (trust auth; CI's
 * .ci/run starts it). Each test file gets its own database, dropped at the end, so parallel
 * runs never collide. No PostgreSQL → the test fails with this explanation (never skips).
 */
export const POSTGRES_ADMIN_URL =
  process.env.OPENBITS_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 10_000 });
  try {
    await c.connect();
  } catch (err) {
    throw new Error(
      `PostgreSQL is needed by the upload-server farm tests and is not reachable at ${POSTGRES_ADMIN_URL} ` +
        `(start it: pg_ctlcluster 15 main start; .ci/run does): ${(err as Error).message}`,
    );
  }
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Create a uniquely named database; `drop()` removes it (closing leftover connections). */
export async function createTestDatabase(prefix = 'bits_test'): Promise<TestDatabase> {
  const name = `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.href,
    drop: () => admin(async (c) => void (await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))),
  };
}
