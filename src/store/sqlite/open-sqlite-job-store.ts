import { chmodSync, closeSync, constants, lstatSync, openSync } from 'node:fs';
import type { DatabaseSync } from 'node:sqlite';
import { BitsError, type Quotas } from '../../core/index.ts';
import { migrate } from './migrate.ts';
import { SqliteJobStore, sqliteError } from './sqlite-job-store.ts';
import { WalSync } from './wal-sync.ts';

/** Options of openSqliteJobStore. */
export interface SqliteJobStoreOptions {
  /** Quotas at the store boundary (default: BITS's policy defaults). */
  readonly quotas?: Quotas;
  /** How long a verb waits for another connection's write lock, in ms (default 5 s). */
  readonly busyTimeoutMs?: number;
  /**
   * No other connection writes the database while this store is open: bitsd, which holds the
   * instance lock (a second bitsd, even one taking over, opens the database only once the first
   * has exited). A read of a cached record then skips `PRAGMA data_version`, a read transaction
   * with its own locks on the -shm file (~4 fcntl per getJob), and the WAL sync takes the log's
   * size from its descriptor (no other connection can replace the file). Every write verb still
   * asks inside its transaction, so a change is never computed from a record another writer
   * replaced.
   */
  readonly soleWriter?: boolean;
}

/**
 * The database holds credentials, custom headers and the notify command line, so it is created
 * 0600 (O_EXCL|O_NOFOLLOW: never through a planted symlink) before SQLite opens it; SQLite gives
 * the -wal and -shm files the same mode. An existing file that is a symlink is refused, and one
 * readable by others is tightened to 0600.
 */
function prepareFile(path: string): void {
  let stat: ReturnType<typeof lstatSync>;
  try {
    stat = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const flags = constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW;
    closeSync(openSync(path, flags, 0o600));
    return;
  }
  if (stat.isSymbolicLink()) {
    throw new BitsError('E_ACCESSDENIED', `the job database ${path} is a symbolic link; refusing to open it`);
  }
  if (!stat.isFile()) throw new BitsError('E_INVALIDARG', `the job database ${path} is not a regular file`);
  if ((stat.mode & 0o077) !== 0) chmodSync(path, 0o600);
}

/**
 * Open (creating if needed) the job database at `path` and return the store. Pragmas:
 * WAL (readers never block the writer; a commit appends to one file), synchronous=NORMAL with
 * the store's group commit (a WalSync fdatasyncs the WAL on the thread pool for every commit of
 * the moment, and `durable()` waits for it, so an acknowledged call survives power loss;
 * docs/durability.md),
 * foreign_keys=ON (files and timers go with their job), busy_timeout (wait, don't fail, when
 * another connection holds the lock). Refuses a database written by a newer schema.
 */
export function openSqliteJobStore(path: string, options: SqliteJobStoreOptions = {}): SqliteJobStore {
  let db: DatabaseSync | undefined;
  try {
    prepareFile(path);
    // Loaded here, not by a static import: on an old Node a static `node:sqlite` would fail the
    // whole module graph at link time, before the entry point could say which Node it needs.
    const { DatabaseSync: Database } = process.getBuiltinModule('node:sqlite');
    db = new Database(path, { enableForeignKeyConstraints: true });
    const busy = options.busyTimeoutMs ?? 5000;
    if (!Number.isSafeInteger(busy) || busy < 0) throw new BitsError('E_INVALIDARG', 'busyTimeoutMs must be ≥ 0');
    db.exec(`PRAGMA busy_timeout = ${busy}`);
    const mode = db.prepare('PRAGMA journal_mode = WAL').get() as { journal_mode: string } | undefined;
    if (mode?.journal_mode !== 'wal') {
      throw new BitsError('E_FAIL', `the job database ${path} could not switch to WAL (got ${mode?.journal_mode})`);
    }
    db.exec('PRAGMA synchronous = NORMAL');
    db.exec('PRAGMA foreign_keys = ON');
    migrate(db);
    // The migration's writes (or a first read) made the WAL; sync it before anything relies on it.
    const walSync = new WalSync(path, undefined, options.soleWriter === true);
    return new SqliteJobStore(db, {
      walSync,
      soleWriter: options.soleWriter === true,
      ...(options.quotas === undefined ? {} : { quotas: options.quotas }),
    });
  } catch (err) {
    if (db?.isOpen === true) db.close();
    throw sqliteError(err);
  }
}
