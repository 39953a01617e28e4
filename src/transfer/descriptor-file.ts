import {
  close,
  closeSync,
  fchmod,
  fchmodSync,
  fdatasync,
  fsync,
  ftruncate,
  futimes,
  futimesSync,
  open,
  openSync,
  write,
} from 'node:fs';
import { promisify } from 'node:util';

/**
 * The calls the download path makes on an open temp file: the shape of a `FileHandle`'s
 * `write`, `datasync`, `sync`, `chmod`, `utimes`, `truncate` and `close`, so either one fits the
 * sinks. `chmod` and `utimes` give a finished file its published mode and time before its last
 * sync (`sync`, which covers them), so that Complete only renames it (commit-file.ts).
 */
export interface DataFile {
  readonly fd: number;
  write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  datasync(): Promise<void>;
  sync(): Promise<void>;
  chmod(mode: number): Promise<void>;
  utimes(atime: Date, mtime: Date): Promise<void>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

const writeOnPool = promisify(write);
const datasyncOnPool = promisify(fdatasync);
const syncOnPool = promisify(fsync);
const chmodOnPool = promisify(fchmod);
const utimesOnPool = promisify(futimes);
const truncateOnPool = promisify(ftruncate);
const closeOnPool = promisify(close);
const openOnPool = promisify(
  (path: string, flags: number, mode: number, done: (err: Error | null, fd: number) => void) =>
    open(path, flags, mode, done),
);

/**
 * A temp file over a bare descriptor, opened and closed on the event loop when its folder is on a
 * local file system (metadata-calls.ts), where neither waits on the disk: a `FileHandle` sends both
 * to the thread pool, and on a loaded core each trip costs ~50 µs of CPU (futex wake-ups, the
 * completion's eventfd) — a tenth of a small file's cost. The create's own kernel work (inode
 * allocation) is the same on either thread, and the file's request waits for it anyway; so do
 * chmod and utimes, which only change the inode in memory. Writes, fdatasync, fsync and truncate,
 * which can wait on the disk, always go to the pool. Closed at most once.
 */
export class DescriptorFile implements DataFile {
  readonly fd: number;
  readonly #onLoop: boolean;
  #closed: Promise<void> | null = null;

  private constructor(fd: number, onLoop: boolean) {
    this.fd = fd;
    this.#onLoop = onLoop;
  }

  /** open(2) `path` with `flags` and `mode`; on the loop when `onLoop`. */
  static async open(path: string, flags: number, mode: number, onLoop: boolean): Promise<DescriptorFile> {
    const fd = onLoop ? openSync(path, flags, mode) : await openOnPool(path, flags, mode);
    return new DescriptorFile(fd, onLoop);
  }

  async write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }> {
    this.#check();
    return await writeOnPool(this.fd, buffer, offset, length, position);
  }

  async datasync(): Promise<void> {
    this.#check();
    await datasyncOnPool(this.fd);
  }

  async sync(): Promise<void> {
    this.#check();
    await syncOnPool(this.fd);
  }

  async chmod(mode: number): Promise<void> {
    this.#check();
    if (this.#onLoop) fchmodSync(this.fd, mode);
    else await chmodOnPool(this.fd, mode);
  }

  async utimes(atime: Date, mtime: Date): Promise<void> {
    this.#check();
    if (this.#onLoop) futimesSync(this.fd, atime, mtime);
    else await utimesOnPool(this.fd, atime, mtime);
  }

  async truncate(length: number): Promise<void> {
    this.#check();
    await truncateOnPool(this.fd, length);
  }

  close(): Promise<void> {
    this.#closed ??= this.#onLoop
      ? new Promise<void>((resolve) => {
          closeSync(this.fd);
          resolve();
        })
      : closeOnPool(this.fd);
    return this.#closed;
  }

  /** A call after close would reach whatever file took the descriptor number since. */
  #check(): void {
    if (this.#closed !== null) throw Object.assign(new Error('file closed'), { code: 'EBADF' });
  }
}
