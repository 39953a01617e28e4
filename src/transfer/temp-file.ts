import { hash, randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { constants } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { type DataFile, DescriptorFile } from './descriptor-file.ts';
import { metadataCallsFor } from './metadata-calls.ts';

/**
 * Temp files: hidden, next to the destination, created with O_CREAT|O_EXCL|O_NOFOLLOW mode 0600
 * so a planted file or symlink is never written through, reopened with O_NOFOLLOW and checked
 * (regular file, ours, one link, same dev/ino). A job's file gets a name derived from the job id
 * and the file's index (`.<name>.<16 hex of the job>-<index>.bits-tmp`), so a temp file whose
 * name was never recorded (the process was killed first) is still known to be ours: the next
 * run of the file replaces it, and Cancel deletes it (derivedTempName). Only when that name is
 * taken by something that is not our regular file does the file get a random name
 * (`.<name>.<16 hex>.bits-tmp`), which is then recorded before any byte is written to it.
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
  readonly handle: DataFile;
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

/** `localName`'s hidden base name, cut to keep the temp name within NAME_MAX. */
function hiddenBase(localName: string): string {
  const slash = localName.lastIndexOf('/');
  const base = localName.slice(slash + 1);
  // The common name, short and well-formed (a UTF-16 unit is at most 3 bytes of UTF-8) in a
  // folder path without `//` (validateLocalPath allows no `.` or `..`): what the general form
  // below gives, without a Buffer and a join per file.
  if (slash > 0 && base.length * 3 <= MAX_BASE && base.isWellFormed() && !localName.includes('//')) {
    return `${localName.slice(0, slash)}/.${base}`;
  }
  return join(dirname(localName), `.${Buffer.from(basename(localName)).subarray(0, MAX_BASE).toString()}`);
}

/** A fresh random temp-file name for `localName` (same folder). */
export function tempFileName(localName: string): string {
  return `${hiddenBase(localName)}.${randomHex8()}${TEMP_SUFFIX}`;
}

/** Which job's file a temp file belongs to. */
export interface TempFileOwner {
  readonly jobId: string;
  readonly fileIndex: number;
}

/** The last job id hashed and its tag: the files of one job ask for the same one in a row. */
const lastTag = { jobId: '', tag: '' };

/** The temp name a job's file gets first: the same on every run, so a leftover is recognisable. */
export function derivedTempName(localName: string, owner: TempFileOwner): string {
  if (lastTag.jobId !== owner.jobId) {
    // One-shot hash(): createHash's object costs more than hashing a job id (every Cancel asks).
    lastTag.tag = hash('sha256', owner.jobId, 'hex').slice(0, 16);
    lastTag.jobId = owner.jobId;
  }
  return `${hiddenBase(localName)}.${lastTag.tag}-${owner.fileIndex}${TEMP_SUFFIX}`;
}

/** True when `temporaryName` is a temp name this engine would pick for `localName`. */
export function isTempNameFor(temporaryName: string, localName: string): boolean {
  return dirname(temporaryName) === dirname(localName) && basename(temporaryName).endsWith(TEMP_SUFFIX);
}

/**
 * Create a new temp file for `localName`: at the derived name of `owner` when it is free or holds
 * our own leftover (a regular file of ours with one link, replaced), else at a random name (a
 * name that exists, even as a dangling symlink, is skipped). `derived` says which.
 */
export async function createTempFile(
  localName: string,
  owner?: TempFileOwner,
): Promise<OpenTempFile & { readonly derived: boolean }> {
  if (owner !== undefined) {
    const path = derivedTempName(localName, owner);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        return { ...(await createAt(path)), derived: true };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      if (attempt > 0 || (await removeLeftover(path)) !== 'gone') break;
    }
  }
  for (let attempt = 0; ; attempt++) {
    try {
      return { ...(await createAt(tempFileName(localName))), derived: false };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 8) throw err;
    }
  }
}

async function createAt(path: string): Promise<OpenTempFile> {
  // The open, fstat and (later) close on the event loop on a local file system (metadata-calls.ts),
  // where they never wait on the disk.
  const calls = await metadataCallsFor(dirname(path));
  const handle = await DescriptorFile.open(path, CREATE_FLAGS, 0o600, calls.onLoop);
  try {
    const st = await calls.fstatId(handle.fd);
    return { handle, path, id: `${st.dev}:${st.ino}`, size: 0 };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/**
 * Delete what is at a derived temp name if it is an earlier run's leftover: a regular file of
 * ours with one link (unlink removes a name, never what a symlink points to). 'gone' when nothing
 * is there any more, 'not-ours' when something else is (left alone), 'failed' when a leftover of
 * ours, or what is there, could not be removed or even looked at (EACCES, EROFS, EIO).
 */
export async function removeLeftover(path: string): Promise<'gone' | 'not-ours' | 'failed'> {
  // On the loop for a local folder (a trip to the pool cost more than the lstat: every Cancel
  // makes one), on the pool for a network one (metadata-calls.ts).
  const calls = await metadataCallsFor(dirname(path));
  let st: Stats | undefined;
  try {
    st = await calls.lstatIfAny(path);
  } catch (err) {
    // ENOTDIR: a folder on the way is a file now, so no file of ours can be there.
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? 'gone' : 'failed';
  }
  if (st === undefined) return 'gone';
  const uid = process.geteuid?.() ?? -1;
  if (!st.isFile() || st.nlink !== 1 || (uid >= 0 && st.uid !== uid)) return 'not-ours';
  try {
    await calls.unlink(path);
    return 'gone';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'gone' : 'failed';
  }
}

/** Why an existing temp file cannot be trusted (the file restarts in a fresh one). */
export class TempFileReplaced extends Error {
  override readonly name = 'TempFileReplaced';
}

/**
 * Reopen a recorded temp file, back at mode 0600 (best effort: a file system may refuse chmod).
 * Throws TempFileReplaced when it is missing, a symlink, not a regular file, not ours,
 * hard-linked, or another inode than recorded; other errors as thrown.
 */
export async function reopenTempFile(path: string, expectedId: string | null): Promise<OpenTempFile> {
  const calls = await metadataCallsFor(dirname(path));
  let handle: DataFile;
  try {
    handle = await DescriptorFile.open(path, REOPEN_FLAGS, 0, calls.onLoop);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ELOOP' || code === 'EISDIR' || code === 'ENXIO') {
      throw new TempFileReplaced(`temporary file ${path} is missing or not a regular file (${code})`);
    }
    throw err;
  }
  try {
    const st = await calls.fstatId(handle.fd);
    const id = `${st.dev}:${st.ino}`;
    const uid = process.geteuid?.() ?? -1;
    let why: string | null = null;
    if (!st.isFile()) why = 'is not a regular file';
    else if (st.nlink !== 1n) why = `has ${st.nlink} links`;
    else if (uid >= 0 && st.uid !== BigInt(uid)) why = 'belongs to another user';
    else if (expectedId !== null && expectedId !== undefined && id !== expectedId)
      why = 'is another file than recorded';
    if (why !== null) throw new TempFileReplaced(`temporary file ${path} ${why}`);
    // A finished file gets its published mode before its last sync; a kill -9 between the two
    // leaves a file that is filled again here, and it fills at 0600 like any other.
    if ((Number(st.mode) & 0o7777) !== 0o600) await handle.chmod(0o600).catch(() => undefined);
    return { handle, path, id, size: Number(st.size) };
  } catch (err) {
    await handle.close();
    throw err;
  }
}
