import { closeSync, constants, fdatasync, fdatasyncSync, fstatSync, fsyncSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { BitsError } from '../../core/index.ts';

/** The fs calls a WalSync makes (injectable so a test can fail or count them). */
export interface WalSyncFs {
  /** fdatasync on the thread pool. */
  readonly fdatasync: (fd: number, callback: (err: NodeJS.ErrnoException | null) => void) => void;
}

const realFs: WalSyncFs = { fdatasync };

/**
 * How long a background commit (one no caller waits for: a run's pick) waits for a caller's sync
 * to cover it before it starts one of its own.
 */
export const BACKGROUND_SYNC_DELAY_MS = 2;

/** Someone waiting for the commits noted up to `target` to be on disk. */
interface Waiter {
  readonly target: number;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Group commit for a WAL database opened with synchronous=NORMAL: SQLite writes each COMMIT's
 * frames to `<db>-wal` without an fsync (so a commit costs no disk flush on the event loop), and
 * this class makes them durable — one fdatasync of the WAL, on the thread pool, covers every
 * commit made before it started. `durable()` resolves after such a sync; callers that arrive
 * while one runs share the next. SQLite still syncs the WAL header when it restarts the log and
 * the WAL and the database around each checkpoint, so what this sync covers stays covered.
 *
 * Waiters are resolved in the order they came (their targets only grow), so the effects of an
 * earlier commit always run before those of a later one. A background waiter
 * (`durable({ background: true })`) starts no sync at once: the next sync a caller starts covers
 * it, else one starts BACKGROUND_SYNC_DELAY_MS later. A run's pick right after a Resume thus costs
 * no flush of its own when a call follows at once (the Cancel's sync covers both).
 *
 * A failed fdatasync poisons the syncer: the commits it covered may be gone (the kernel may
 * report the error once and then drop the pages), so every later `durable()` rejects too.
 */
export class WalSync {
  readonly #path: string;
  readonly #fs: WalSyncFs;
  #fd: number;
  #ino: number;
  /** Commits noted so far, and how many of them a finished sync covers. */
  #noted = 0;
  #synced = 0;
  /** Bytes of the WAL that the last finished sync covered (diagnostics and the power-loss test). */
  #syncedBytes = 0;
  #running = false;
  /** A caller (not a background waiter) waits for commits the running sync does not cover. */
  #wanted = false;
  readonly #waiters: Waiter[] = [];
  #backgroundTimer: ReturnType<typeof setTimeout> | null = null;
  #failure: BitsError | null = null;

  /** No other connection can delete and re-make the WAL (SqliteJobStoreOptions.soleWriter). */
  readonly #soleWriter: boolean;

  /** `dbPath`'s WAL must exist (an open WAL-mode connection has created it). */
  constructor(dbPath: string, fs: WalSyncFs = realFs, soleWriter = false) {
    this.#path = `${dbPath}-wal`;
    this.#fs = fs;
    this.#soleWriter = soleWriter;
    this.#fd = openSync(this.#path, constants.O_RDONLY | constants.O_NOFOLLOW);
    this.#ino = fstatSync(this.#fd).ino;
    // What was written before (a migration) and the WAL's directory entry must survive too
    // (SQLite syncs the directory only under synchronous=FULL).
    fdatasyncSync(this.#fd);
    this.#syncedBytes = fstatSync(this.#fd).size;
    syncDirectory(dirname(this.#path));
  }

  /** Bytes of the WAL covered by the last finished sync. */
  get syncedBytes(): number {
    return this.#syncedBytes;
  }

  /** A COMMIT just returned: the next sync must cover it. */
  noteCommit(): void {
    this.#noted++;
  }

  /**
   * Resolves once every commit noted so far is on disk. `background`: nobody is waiting on these
   * commits; ride on the next sync a caller starts, or start one after BACKGROUND_SYNC_DELAY_MS.
   */
  durable(options: { readonly background?: boolean } = {}): Promise<void> {
    if (this.#failure !== null) return Promise.reject(this.#failure);
    const target = this.#noted;
    if (this.#synced >= target) return Promise.resolve();
    if (this.#fd < 0) return Promise.reject(closedError());
    const waiting = new Promise<void>((resolve, reject) => this.#waiters.push({ target, resolve, reject }));
    if (options.background === true) this.#armBackground();
    else this.#want();
    return waiting;
  }

  /** Sync what is left, synchronously, and close the WAL (before the database is closed). */
  close(): void {
    if (this.#fd < 0) return;
    if (this.#backgroundTimer !== null) clearTimeout(this.#backgroundTimer);
    this.#backgroundTimer = null;
    try {
      if (this.#failure === null && this.#synced < this.#noted) fdatasyncSync(this.#fd);
      this.#synced = this.#noted;
      this.#settle(null);
    } catch (err) {
      this.#settle(err);
      throw err;
    } finally {
      closeSync(this.#fd);
      this.#fd = -1;
    }
  }

  /** A caller waits: sync now, or right after the running sync (which does not cover it). */
  #want(): void {
    if (this.#running) this.#wanted = true;
    else this.#start();
  }

  #armBackground(): void {
    if (this.#backgroundTimer !== null || this.#running) return;
    this.#backgroundTimer = setTimeout(() => {
      this.#backgroundTimer = null;
      if (this.#waiters.length > 0 && !this.#running) this.#start();
    }, BACKGROUND_SYNC_DELAY_MS);
  }

  /** One sync at a time; whoever waited meanwhile is covered by the one after it. */
  #start(): void {
    if (this.#backgroundTimer !== null) clearTimeout(this.#backgroundTimer);
    this.#backgroundTimer = null;
    this.#running = true;
    this.#wanted = false;
    this.#syncOnce().then(
      () => this.#finished(null),
      (err: unknown) => this.#finished(err),
    );
  }

  #finished(err: unknown): void {
    this.#running = false;
    this.#settle(err);
    if (this.#waiters.length === 0) return;
    if (this.#wanted) this.#start();
    else this.#armBackground();
  }

  /** Resolve, in order, every waiter a finished sync covers (reject all on a failure). */
  #settle(err: unknown): void {
    if (err !== null || this.#failure !== null) {
      const failure = this.#failure ?? err;
      for (const w of this.#waiters.splice(0)) w.reject(failure);
      return;
    }
    let covered = 0;
    while (covered < this.#waiters.length && (this.#waiters[covered] as Waiter).target <= this.#synced) covered++;
    for (const w of this.#waiters.splice(0, covered)) w.resolve();
  }

  async #syncOnce(): Promise<void> {
    if (this.#failure !== null) throw this.#failure;
    if (this.#fd < 0) throw closedError();
    const covers = this.#noted;
    const bytes = this.#sizeNow();
    const fd = this.#fd;
    const err = await new Promise<NodeJS.ErrnoException | null>((resolve) => this.#fs.fdatasync(fd, resolve));
    if (err !== null) {
      this.#failure = new BitsError('E_FAIL', `the job database's log could not be synced: ${err.message}`, {
        cause: err,
      });
      throw this.#failure;
    }
    this.#synced = Math.max(this.#synced, covers);
    this.#syncedBytes = bytes;
  }

  /**
   * The WAL's size now, from the file at its path. SQLite deletes the WAL when the last
   * connection closes; if another connection (a second daemon during a takeover) did that and a
   * new one was made, sync the file that exists now. One stat of the path tells both (it is the
   * same inode as ours in all other cases), so a sync costs one stat, not two. The sole writer
   * (bitsd) has no such other connection: an fstat of its descriptor, without the path's lookup.
   */
  #sizeNow(): number {
    if (this.#soleWriter) return fstatSync(this.#fd).size;
    let stat: ReturnType<typeof statSync>;
    try {
      stat = statSync(this.#path);
    } catch {
      return fstatSync(this.#fd).size;
    }
    if (stat.ino === this.#ino) return stat.size;
    closeSync(this.#fd);
    this.#fd = openSync(this.#path, constants.O_RDONLY | constants.O_NOFOLLOW);
    const reopened = fstatSync(this.#fd);
    this.#ino = reopened.ino;
    syncDirectory(dirname(this.#path));
    return reopened.size;
  }
}

function syncDirectory(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

const closedError = (): BitsError => new BitsError('E_FAIL', 'the job store is closed');
