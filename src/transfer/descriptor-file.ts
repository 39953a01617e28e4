import { close, closeSync, fdatasync, ftruncate, open, openSync, write } from 'node:fs';
import { promisify } from 'node:util';

/**
 * The calls the download path makes on an open temp file: the shape of a `FileHandle`'s
 * `write`, `datasync`, `truncate` and `close`, so either one fits the sinks.
 */
export interface DataFile {
  readonly fd: number;
  write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  datasync(): Promise<void>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

const writeOnPool = promisify(write);
const datasyncOnPool = promisify(fdatasync);
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
 * allocation) is the same on either thread, and the file's request waits for it anyway. Writes,
 * fdatasync and truncate, which can wait on the disk, always go to the pool. Closed at most once.
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
