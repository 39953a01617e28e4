/**
 * File-system steps that keep every write inside the upload root. Node has no openat/renameat,
 * so each directory component is lstat'ed from the root down and a symlink anywhere is refused
 * (reliability-security-performance.md §3.5 item 16); files are opened with O_NOFOLLOW, and the
 * final step is a rename/link, which never follows a symlink at the destination name.
 */
import { constants as FS } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { accessDenied, badRequest, UploadError } from './ack.ts';

async function lstatOrUndefined(p: string) {
  try {
    return await fs.lstat(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Check (and with `create`, make) the folders leading to `segments` under `root`. Throws 403
 * for a symlinked component and 400 for a component that is a file. Without `create`, checking
 * stops at the first missing folder (nothing below it can be a link yet). Returns the parent.
 */
export async function walkParents(root: string, segments: readonly string[], create: boolean): Promise<string> {
  let dir = root;
  for (const seg of segments.slice(0, -1)) {
    dir = path.join(dir, seg);
    let st = await lstatOrUndefined(dir);
    if (st === undefined && create) {
      try {
        await fs.mkdir(dir, { mode: 0o755 });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      st = await fs.lstat(dir);
    }
    if (st === undefined) return path.join(root, ...segments.slice(0, -1));
    if (st.isSymbolicLink()) throw accessDenied('a folder on the upload path is a symbolic link');
    if (!st.isDirectory()) throw badRequest('a folder on the upload path is a file');
  }
  return dir;
}

/** What sits at the destination name now. */
export type DestinationState = 'absent' | 'file' | 'other';

/** Check the destination name itself (without following it). A folder → 400 (§6.1). */
export async function destinationState(root: string, segments: readonly string[]): Promise<DestinationState> {
  const st = await lstatOrUndefined(path.join(root, ...segments));
  if (st === undefined) return 'absent';
  if (st.isDirectory()) throw badRequest('the upload URL maps to a folder');
  return st.isFile() ? 'file' : 'other';
}

/** Create a new private file that must not exist (O_EXCL) and is never a symlink (O_NOFOLLOW). */
export async function createPrivateFile(file: string): Promise<fs.FileHandle> {
  return fs.open(file, FS.O_CREAT | FS.O_EXCL | FS.O_WRONLY | FS.O_NOFOLLOW, 0o600);
}

/** Open our own data file for writing, refusing a symlink swapped in for it. */
export async function openDataFile(file: string): Promise<fs.FileHandle> {
  const fh = await fs.open(file, FS.O_WRONLY | FS.O_NOFOLLOW);
  const st = await fh.stat();
  if (!st.isFile() || st.nlink !== 1) {
    await fh.close();
    throw new UploadError(500, 'E_FAIL', 'session data file was replaced');
  }
  return fh;
}

/** fsync a folder so a rename or a new entry in it survives a crash. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await fs.open(dir, FS.O_RDONLY | FS.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Move a finished upload from the session folder to `root/segments`. Without overwrite, link()
 * fails atomically if the name exists (even as a dangling symlink): no check-then-write race.
 * With overwrite, rename() replaces the name itself (a planted symlink is replaced, not followed).
 */
export async function commitFile(
  source: string,
  root: string,
  segments: readonly string[],
  allowOverwrite: boolean,
  tempName: string,
): Promise<void> {
  const parent = await walkParents(root, segments, true);
  const target = path.join(root, ...segments);
  let from = source;
  try {
    // chmod through an O_NOFOLLOW handle that is checked to be our plain file: a symlink
    // planted at the source would otherwise be chmod'ed through, or linked into place.
    const fh = await openDataFile(source);
    try {
      await fh.chmod(0o644);
    } finally {
      await fh.close();
    }
    await place(from, target, allowOverwrite);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw mapPlaceError(err);
    // Sessions on another file system: copy next to the target first, then place atomically.
    from = path.join(parent, tempName);
    await copyPrivate(source, from);
    try {
      await place(from, target, allowOverwrite);
    } catch (err2) {
      await fs.rm(from, { force: true });
      throw mapPlaceError(err2);
    }
    await fs.rm(source, { force: true });
  }
  await syncDir(parent);
}

async function place(from: string, target: string, allowOverwrite: boolean): Promise<void> {
  if (allowOverwrite) {
    await fs.rename(from, target);
    return;
  }
  await fs.link(from, target);
  await fs.unlink(from);
}

function mapPlaceError(err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EEXIST') return accessDenied('the destination exists and overwrites are not allowed');
  if (code === 'EISDIR' || code === 'ENOTDIR') return badRequest('the upload URL maps to a folder');
  if (code === 'ENOENT') return new UploadError(404, 'ERROR_FILE_NOT_FOUND', 'the uploaded file is gone');
  return err;
}

async function copyPrivate(source: string, dest: string): Promise<void> {
  const out = await createPrivateFile(dest);
  try {
    const input = await fs.open(source, FS.O_RDONLY | FS.O_NOFOLLOW);
    try {
      const buf = Buffer.allocUnsafe(1024 * 1024);
      for (;;) {
        const { bytesRead } = await input.read(buf, 0, buf.length, null);
        if (bytesRead === 0) break;
        await out.write(buf, 0, bytesRead);
      }
    } finally {
      await input.close();
    }
    await out.chmod(0o644);
    await out.sync();
  } finally {
    await out.close();
  }
}
