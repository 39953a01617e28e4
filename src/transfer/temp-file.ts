import { randomBytes } from 'node:crypto';
import { constants, type FileHandle, open } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Temp files: hidden, next to the destination (`.<name>.<16 hex>.bits-tmp`), created with
 * O_CREAT|O_EXCL|O_NOFOLLOW mode 0600 so a planted file or symlink is never written through,
 * reopened with O_NOFOLLOW and checked (regular file, ours, one link, same dev/ino).
 */

/** Every temp file name ends with this. */
export const TEMP_SUFFIX = '.bits-tmp';
const CREATE_FLAGS = constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW | constants.O_WRONLY;
// O_NONBLOCK: a FIFO planted at the name fails with ENXIO instead of blocking the open.
const REOPEN_FLAGS = constants.O_NOFOLLOW | constants.O_WRONLY | constants.O_NONBLOCK;
/** Keep the hidden name within NAME_MAX (255 bytes). */
const MAX_BASE = 200;

/** An open temp file and what was checked about it. */
export interface OpenTempFile {
  readonly handle: FileHandle;
  readonly path: string;
  /** `dev:ino`. */
  readonly id: string;
  /** Current size in bytes. */
  readonly size: number;
}

/**
 * Random bytes for temp names, drawn from the system 4 KiB at a time: one getrandom per 512
 * names instead of one per name (a job of 1,000 small files creates 1,000 temp files).
 */
const entropy = { pool: Buffer.alloc(0), used: 0 };
function randomHex8(): string {
  if (entropy.used + 8 > entropy.pool.length) {
    entropy.pool = randomBytes(4096);
    entropy.used = 0;
  }
  entropy.used += 8;
  return entropy.pool.toString('hex', entropy.used - 8, entropy.used);
}

/** A fresh temp-file name for `localName` (same folder). */
export function tempFileName(localName: string): string {
  const base = Buffer.from(basename(localName)).subarray(0, MAX_BASE).toString();
  return join(dirname(localName), `.${base}.${randomHex8()}${TEMP_SUFFIX}`);
}

/** True when `temporaryName` is a temp name this engine would pick for `localName`. */
export function isTempNameFor(temporaryName: string, localName: string): boolean {
  return dirname(temporaryName) === dirname(localName) && basename(temporaryName).endsWith(TEMP_SUFFIX);
}

/** Create a new temp file; a name that exists (even as a dangling symlink) is skipped. */
export async function createTempFile(localName: string): Promise<OpenTempFile> {
  for (let attempt = 0; ; attempt++) {
    const path = tempFileName(localName);
    try {
      const handle = await open(path, CREATE_FLAGS, 0o600);
      const st = await handle.stat({ bigint: true });
      return { handle, path, id: `${st.dev}:${st.ino}`, size: 0 };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 8) throw err;
    }
  }
}

/** Why an existing temp file cannot be trusted (the file restarts in a fresh one). */
export class TempFileReplaced extends Error {
  override readonly name = 'TempFileReplaced';
}

/**
 * Reopen a recorded temp file. Throws TempFileReplaced when it is missing, a symlink, not a
 * regular file, not ours, hard-linked, or another inode than recorded; other errors as thrown.
 */
export async function reopenTempFile(path: string, expectedId: string | null): Promise<OpenTempFile> {
  let handle: FileHandle;
  try {
    handle = await open(path, REOPEN_FLAGS);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ELOOP' || code === 'EISDIR' || code === 'ENXIO') {
      throw new TempFileReplaced(`temporary file ${path} is missing or not a regular file (${code})`);
    }
    throw err;
  }
  try {
    const st = await handle.stat({ bigint: true });
    const id = `${st.dev}:${st.ino}`;
    const uid = process.geteuid?.() ?? -1;
    let why: string | null = null;
    if (!st.isFile()) why = 'is not a regular file';
    else if (st.nlink !== 1n) why = `has ${st.nlink} links`;
    else if (uid >= 0 && st.uid !== BigInt(uid)) why = 'belongs to another user';
    else if (expectedId !== null && expectedId !== undefined && id !== expectedId)
      why = 'is another file than recorded';
    if (why !== null) throw new TempFileReplaced(`temporary file ${path} ${why}`);
    return { handle, path, id, size: Number(st.size) };
  } catch (err) {
    await handle.close();
    throw err;
  }
}
