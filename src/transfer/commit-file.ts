import { readFileSync } from 'node:fs';
import { access, constants, lstat, open, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BitsError } from '../core/index.ts';
import { classifyLocalError } from './failure-table.ts';

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
  const folder = dirname(localName);
  try {
    const st = await stat(folder);
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
    await access(folder, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw new BitsError('E_ACCESSDENIED', `no permission to create files in ${folder}`, {
      context: 'LOCAL_FILE',
      cause: err,
    });
  }
  try {
    const st = await lstat(localName);
    if (st.isDirectory()) throw new BitsError('E_INVALIDARG', `the local name ${localName} is an existing folder`);
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

/**
 * Publish a transferred file: fsync the temp file, check it is still our regular file (one
 * link, opened without following a symlink), rename it over the local name — rename replaces
 * a symlink planted there instead of writing through it — and fsync the folder. Sets the file's
 * mtime from the server's Last-Modified when given (bits-client.md §7.1), and its mode: the
 * temp file is 0600 while it fills, the published file gets `mode` (publishedMode()).
 */
export async function commitFile(
  temporaryName: string,
  localName: string,
  options: { lastModified?: string | null; mode?: number | null } = {},
): Promise<void> {
  if (dirname(temporaryName) !== dirname(localName)) {
    throw new BitsError('E_INVALIDARG', 'the temporary file is not in the destination folder', {
      context: 'LOCAL_FILE',
    });
  }
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(temporaryName, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    throw localError(err, temporaryName);
  }
  try {
    const st = await fh.stat();
    const uid = process.geteuid?.() ?? -1;
    if (!st.isFile() || st.nlink !== 1 || (uid >= 0 && st.uid !== uid)) {
      throw new BitsError('E_ACCESSDENIED', `${temporaryName} is no longer the download's temporary file`, {
        context: 'LOCAL_FILE',
      });
    }
    const mtime = options.lastModified == null ? Number.NaN : Date.parse(options.lastModified);
    if (!Number.isNaN(mtime)) await fh.utimes(new Date(mtime), new Date(mtime));
    await fh.chmod(publishedMode(options.mode));
    await fh.sync();
    const target = await lstat(localName).catch(() => null);
    if (target?.isDirectory())
      throw new BitsError('E_INVALIDARG', `${localName} is a folder`, { context: 'LOCAL_FILE' });
    await rename(temporaryName, localName);
    const after = await lstat(localName);
    if (after.ino !== st.ino || after.dev !== st.dev) {
      throw new BitsError('E_ACCESSDENIED', `${localName} was replaced during the rename`, { context: 'LOCAL_FILE' });
    }
  } catch (err) {
    if (err instanceof BitsError) throw err;
    throw localError(err, localName);
  } finally {
    await fh.close();
  }
  await syncFolder(dirname(localName));
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
