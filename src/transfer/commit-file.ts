import { type BigIntStats, fsync, readFileSync } from 'node:fs';
import { constants, open, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { BitsError } from '../core/index.ts';
import { classifyLocalError } from './failure-table.ts';
import { type MetadataCalls, metadataCallsFor } from './metadata-calls.ts';

/**
 * File operations of AddFile (checkLocalDestination), Complete (commitFile) and Cancel
 * (deleteTempFile). They throw BitsError (context LOCAL_FILE), as manager calls do.
 */

function localError(err: unknown, what: string): BitsError {
  const f = classifyLocalError(err);
  return new BitsError(f.error.name, `${what}: ${f.error.message}`, { context: 'LOCAL_FILE', cause: err });
}

/**
 * AddFile's check of a local name: its folder exists and is a folder (else ERROR_PATH_NOT_FOUND,
 * with a message of its own when a file stands where a folder should) and this process may
 * create files in it (W_OK|X_OK, else E_ACCESSDENIED — read-only mounts and immutable folders
 * included); the name itself is not an existing folder (E_INVALIDARG).
 */
export async function checkLocalDestination(localName: string): Promise<void> {
  await checkLocalDestinations([localName]);
}

/**
 * checkLocalDestination for the names of one AddFileSet, in order: the first name that fails
 * throws, as checking them one by one would, but each folder is looked at (stat, access) once
 * however many of the names it holds — 1,000 names in one folder make 1,002 calls, not 3,000.
 */
export async function checkLocalDestinations(localNames: readonly string[]): Promise<void> {
  // On the event loop where the file system is local (metadata-calls.ts): AddFileSet checks 1,000 names in a row.
  const checked = new Map<string, MetadataCalls>();
  for (const localName of localNames) {
    const folder = dirname(localName);
    let calls = checked.get(folder);
    if (calls === undefined) {
      calls = await metadataCallsFor(folder);
      await checkFolder(calls, folder, localName);
      checked.set(folder, calls);
    }
    await checkNotAFolder(calls, localName);
  }
}

async function checkFolder(calls: MetadataCalls, folder: string, localName: string): Promise<void> {
  try {
    const st = await calls.stat(folder);
    if (!st.isDirectory()) {
      throw new BitsError('ERROR_PATH_NOT_FOUND', `${folder} is a file, not a folder: ${localName} cannot be created`);
    }
  } catch (err) {
    if (err instanceof BitsError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new BitsError('ERROR_PATH_NOT_FOUND', `the folder ${folder} does not exist`, { cause: err });
    }
    if (code === 'ENOTDIR') {
      throw new BitsError('ERROR_PATH_NOT_FOUND', `a part of ${folder} is a file, not a folder`, { cause: err });
    }
    if (code === 'EACCES')
      throw new BitsError('E_ACCESSDENIED', `the folder ${folder} cannot be reached`, { cause: err });
    throw localError(err, folder);
  }
  try {
    await calls.access(folder, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw new BitsError('E_ACCESSDENIED', `no permission to create files in ${folder}`, {
      context: 'LOCAL_FILE',
      cause: err,
    });
  }
}

async function checkNotAFolder(calls: MetadataCalls, localName: string): Promise<void> {
  try {
    const st = await calls.lstatIfAny(localName);
    if (st?.isDirectory() === true) {
      throw new BitsError('E_INVALIDARG', `the local name ${localName} is an existing folder`);
    }
  } catch (err) {
    if (err instanceof BitsError) throw err;
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw localError(err, localName);
  }
}

/** This process's umask, read from /proc (process.umask() without an argument briefly changes it). */
export function currentUmask(): number {
  try {
    const m = /^Umask:\s*([0-7]+)$/mu.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m?.[1] !== undefined) return Number.parseInt(m[1], 8);
  } catch {
    // no /proc: fall back below
  }
  const mask = process.umask(0o022);
  process.umask(mask);
  return mask;
}

/** The mode a published file gets: the job's, or 0666 & ~umask (as curl and wget create files). */
export function publishedMode(fileMode: number | null | undefined): number {
  return fileMode ?? 0o666 & ~currentUmask();
}

/** What publishing a file needs beyond its two names. */
export interface PublishOptions {
  /** The server's Last-Modified: becomes the file's mtime (bits-client.md §7.1). */
  readonly lastModified?: string | null;
  /** The published file's mode (publishedMode()); the temp file is 0600 while it fills. */
  readonly mode?: number | null;
  /**
   * The temp file's `dev:ino` as recorded: when the temp name is gone and the local name is
   * that very inode, an earlier Complete renamed it and stopped before recording it — done.
   */
  readonly fileId?: string | null;
  /**
   * The mode the download made the temp file ready with (JobFile.readyMode): its last fsync
   * covered that mode and the Last-Modified time. Only then may Complete skip the file's fsync.
   */
  readonly readyMode?: number | null;
}

/**
 * Publish a transferred file: fsync the temp file, check it is still our regular file (one
 * link, opened without following a symlink), rename it over the local name — rename replaces
 * a symlink planted there instead of writing through it — and fsync the folder. Sets the file's
 * mtime from the server's Last-Modified when given, and its mode.
 */
export async function commitFile(
  temporaryName: string,
  localName: string,
  options: PublishOptions = {},
): Promise<void> {
  await renameIntoPlace(temporaryName, localName, options);
  await syncFolder(dirname(localName));
}

/** Folders synced at once by commitFiles. */
const PUBLISH_CONCURRENCY = 16;

/** One file of a commitFiles call. */
export interface PublishItem extends PublishOptions {
  readonly temporaryName: string;
  readonly localName: string;
}

/**
 * commitFile for many files: up to 16 renamed at once (their fsyncs overlap on the thread pool
 * and in the file system's journal), then each folder fsynced once for all of its files instead
 * of once per file. Resolves with each item's outcome, in order: null once the file is published
 * and its folder synced, else the BitsError that stopped it.
 */
export async function commitFiles(items: readonly PublishItem[]): Promise<Array<BitsError | null>> {
  const outcomes: Array<BitsError | null> = items.map(() => null);
  // The umask is read once for the call, not from /proc for each of 1,000 small files.
  const defaultMode = publishedMode(null);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < items.length; i = next++) {
      const item = items[i] as PublishItem;
      try {
        await renameIntoPlace(item.temporaryName, item.localName, { ...item, mode: item.mode ?? defaultMode });
      } catch (err) {
        outcomes[i] = asLocalError(err, item.localName);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PUBLISH_CONCURRENCY, items.length) }, worker));
  const folders = new Map<string, number[]>();
  for (const [i, item] of items.entries()) {
    if (outcomes[i] !== null) continue;
    const folder = dirname(item.localName);
    const members = folders.get(folder);
    if (members === undefined) folders.set(folder, [i]);
    else members.push(i);
  }
  for (const [folder, members] of folders) {
    try {
      await syncFolder(folder);
    } catch (err) {
      for (const i of members) outcomes[i] = asLocalError(err, folder);
    }
  }
  return outcomes;
}

function asLocalError(err: unknown, what: string): BitsError {
  return err instanceof BitsError ? err : localError(err, what);
}

/**
 * commitFile without the folder's fsync (the caller syncs each folder once). The metadata calls
 * (open, fstat, futimes, fchmod, rename, lstat, close) run on the event loop when the folder is on
 * a local file system (metadata-calls.ts: a Complete of 1,000 small files makes 8,000 of them, each
 * cheaper than a trip to the thread pool), on the pool otherwise. The fsync, which waits for the
 * disk, always goes to the pool.
 */
async function renameIntoPlace(temporaryName: string, localName: string, options: PublishOptions): Promise<void> {
  if (dirname(temporaryName) !== dirname(localName)) {
    throw new BitsError('E_INVALIDARG', 'the temporary file is not in the destination folder', {
      context: 'LOCAL_FILE',
    });
  }
  const calls = await metadataCallsFor(dirname(localName));
  const mode = publishedMode(options.mode);
  const mtime = options.lastModified == null ? Number.NaN : Date.parse(options.lastModified);
  if (options.readyMode === mode && (await readyToRename(calls, temporaryName, options.fileId, mode, mtime))) {
    await renameChecked(calls, temporaryName, localName, options.fileId as string);
    return;
  }
  let fd: number;
  try {
    fd = await calls.open(temporaryName, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && (await isPublished(calls, localName, options.fileId))) {
      return;
    }
    throw localError(err, temporaryName);
  }
  try {
    const st = await calls.fstatId(fd);
    const uid = process.geteuid?.() ?? -1;
    // Another regular file of ours put at the temp name is not the download either.
    const replaced = options.fileId != null && `${st.dev}:${st.ino}` !== options.fileId;
    if (!st.isFile() || st.nlink !== 1n || (uid >= 0 && st.uid !== BigInt(uid)) || replaced) {
      throw new BitsError('E_ACCESSDENIED', `${temporaryName} is no longer the download's temporary file`, {
        context: 'LOCAL_FILE',
      });
    }
    if (!Number.isNaN(mtime)) await calls.futimes(fd, new Date(mtime), new Date(mtime));
    await calls.fchmod(fd, mode);
    await fsyncOnPool(fd);
    await renameChecked(calls, temporaryName, localName, `${st.dev}:${st.ino}`);
  } catch (err) {
    if (err instanceof BitsError) throw err;
    throw localError(err, localName);
  } finally {
    await calls.close(fd);
  }
}

/**
 * The recorded temp file is already what publishing makes of it: the download gave it its
 * published mode and time before the fsync its TRANSFERRED record waited for (the record's
 * `readyMode`, which the caller checked against the mode to publish with), so no open, chmod or
 * fsync is left to do — only the rename. What the record says is checked with lstat, which never
 * follows a symlink: our regular file with one link, the recorded inode, that mode, that mtime.
 * Anything else (no readiness recorded — an older record, a mode set since, a file made ready by
 * a full path whose fsync failed — or a replaced file) takes the full path, which opens, checks,
 * sets and fsyncs as before.
 */
async function readyToRename(
  calls: MetadataCalls,
  temporaryName: string,
  fileId: string | null | undefined,
  mode: number,
  mtime: number,
): Promise<boolean> {
  if (fileId == null) return false;
  let st: BigIntStats | undefined;
  try {
    st = await calls.lstatId(temporaryName);
  } catch {
    return false;
  }
  const uid = process.geteuid?.() ?? -1;
  return (
    st?.isFile() === true &&
    st.nlink === 1n &&
    (uid < 0 || st.uid === BigInt(uid)) &&
    `${st.dev}:${st.ino}` === fileId &&
    Number(st.mode & 0o7777n) === mode &&
    (Number.isNaN(mtime) || st.mtimeNs === BigInt(mtime) * 1_000_000n)
  );
}

/** rename(2) the temp file over the local name, then check the local name is that inode. */
async function renameChecked(calls: MetadataCalls, temporaryName: string, localName: string, id: string) {
  try {
    await calls.rename(temporaryName, localName);
  } catch (err) {
    // rename(2) never replaces a folder with a file.
    if ((err as NodeJS.ErrnoException).code === 'EISDIR') {
      throw new BitsError('E_INVALIDARG', `${localName} is a folder`, { context: 'LOCAL_FILE' });
    }
    throw localError(err, localName);
  }
  let after: BigIntStats | undefined;
  try {
    after = await calls.lstatId(localName);
  } catch (err) {
    throw localError(err, localName);
  }
  if (after === undefined || `${after.dev}:${after.ino}` !== id) {
    throw new BitsError('E_ACCESSDENIED', `${localName} was replaced during the rename`, { context: 'LOCAL_FILE' });
  }
}

const fsyncOnPool = promisify(fsync);

/** The local name is the recorded temp inode (renamed by a Complete that was cut short). */
async function isPublished(
  calls: MetadataCalls,
  localName: string,
  fileId: string | null | undefined,
): Promise<boolean> {
  if (fileId == null) return false;
  try {
    const st = await calls.lstatId(localName);
    return st?.isFile() === true && `${st.dev}:${st.ino}` === fileId;
  } catch {
    return false;
  }
}

async function syncFolder(folder: string): Promise<void> {
  try {
    const dir = await open(folder, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch (err) {
    throw localError(err, folder);
  }
}

/** Delete a temp file (never through a symlink: unlink removes the link). True if gone. */
export async function deleteTempFile(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
}
