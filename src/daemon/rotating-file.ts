import { closeSync, fstatSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';

export interface RotatingFileOptions {
  readonly path: string;
  /** Rotate once the file would grow past this many bytes (default 1 MiB). */
  readonly maxBytes?: number;
  /** Older files kept: PATH.1 … PATH.N (default 3). */
  readonly keep?: number;
}

/**
 * A log destination for pino with a size cap: lines are appended (synchronously: one line per
 * job event is little, and a crash loses nothing) to PATH; when the next line would pass
 * `maxBytes`, PATH.N is dropped, PATH.1… shift up and a fresh PATH is started. Mode 0600.
 */
export class RotatingFile {
  readonly #path: string;
  readonly #maxBytes: number;
  readonly #keep: number;
  #fd: number;
  #size: number;

  constructor(options: RotatingFileOptions) {
    this.#path = options.path;
    this.#maxBytes = options.maxBytes ?? 1024 * 1024;
    this.#keep = Math.max(1, options.keep ?? 3);
    this.#fd = openSync(this.#path, 'a', 0o600);
    this.#size = fstatSync(this.#fd).size;
  }

  write(line: string): boolean {
    const bytes = Buffer.byteLength(line);
    if (this.#size > 0 && this.#size + bytes > this.#maxBytes) this.#rotate();
    writeSync(this.#fd, line);
    this.#size += bytes;
    return true;
  }

  #rotate(): void {
    closeSync(this.#fd);
    rmSync(`${this.#path}.${this.#keep}`, { force: true });
    for (let n = this.#keep - 1; n >= 1; n--) {
      try {
        renameSync(`${this.#path}.${n}`, `${this.#path}.${n + 1}`);
      } catch {
        // that generation does not exist yet
      }
    }
    renameSync(this.#path, `${this.#path}.1`);
    this.#fd = openSync(this.#path, 'a', 0o600);
    this.#size = 0;
  }

  close(): void {
    closeSync(this.#fd);
  }
}
