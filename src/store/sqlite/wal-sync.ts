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
 * Group commit for a WAL database opened with synchronous=NORMAL: SQLite writes each COMMIT's
 * frames to `<db>-wal` without an fsync (so a commit costs no disk flush on the event loop), and
 * this class makes them durable — one fdatasync of the WAL, on the thread pool, covers every
 * commit made before it started. `durable()` resolves after such a sync; callers that arrive
 * while one runs share the next. SQLite still syncs the WAL header when it restarts the log and
 * the WAL and the database around each checkpoint, so what this sync covers stays covered.
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
  #running: Promise<void> | null = null;
  #failure: BitsError | null = null;

  /** `dbPath`'s WAL must exist (an open WAL-mode connection has created it). */
  constructor(dbPath: string, fs: WalSyncFs = realFs) {
    this.#path = `${dbPath}-wal`;
    this.#fs = fs;
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

  /** Resolves once every commit noted so far is on disk. */
  durable(): Promise<void> {
    if (this.#failure !== null) return Promise.reject(this.#failure);
    const target = this.#noted;
    if (this.#synced >= target) return Promise.resolve();
    return this.#until(target);
  }

  /** Sync what is left, synchronously, and close the WAL (before the database is closed). */
  close(): void {
    if (this.#fd < 0) return;
    try {
      if (this.#failure === null && this.#synced < this.#noted) fdatasyncSync(this.#fd);
      this.#synced = this.#noted;
    } finally {
      closeSync(this.#fd);
      this.#fd = -1;
    }
  }

  async #until(target: number): Promise<void> {
    // One sync at a time; whoever waited meanwhile is covered by the one after it.
    while (this.#synced < target) {
      if (this.#running === null) {
        this.#running = this.#syncOnce().finally(() => {
          this.#running = null;
        });
      }
      await this.#running;
    }
  }

  async #syncOnce(): Promise<void> {
    if (this.#failure !== null) throw this.#failure;
    if (this.#fd < 0) throw new BitsError('E_FAIL', 'the job store is closed');
    const covers = this.#noted;
    this.#reopenIfReplaced();
    const bytes = fstatSync(this.#fd).size;
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
   * SQLite deletes the WAL when the last connection closes; if another connection (a second
   * daemon during a takeover) did that and a new one was made, sync the file that exists now.
   */
  #reopenIfReplaced(): void {
    let ino: number;
    try {
      ino = statSync(this.#path).ino;
    } catch {
      return;
    }
    if (ino === this.#ino) return;
    closeSync(this.#fd);
    this.#fd = openSync(this.#path, constants.O_RDONLY | constants.O_NOFOLLOW);
    this.#ino = fstatSync(this.#fd).ino;
    syncDirectory(dirname(this.#path));
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
