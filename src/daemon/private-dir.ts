import { chmodSync, lstatSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { BitsError } from '../core/bits-error.ts';

/**
 * Make `path` a private folder of this user (mode 0700), creating it if needed. An existing
 * entry must be a real directory (not a symlink) owned by us; a directory of ours that is too
 * open is tightened. This guards the `/tmp/openbits-<uid>` fallback, where another user could
 * have planted a folder or a symlink first.
 */
export function ensurePrivateDir(path: string, uid: number = process.getuid?.() ?? 0): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  try {
    mkdirSync(path, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const st = lstatSync(path);
  if (st.isSymbolicLink() || !st.isDirectory()) {
    throw new BitsError('E_ACCESSDENIED', `${path} is not a directory (a symlink or a file is in the way); remove it`);
  }
  if (st.uid !== uid) {
    throw new BitsError('E_ACCESSDENIED', `${path} belongs to uid ${st.uid}, not to this user (uid ${uid})`);
  }
  if ((st.mode & 0o077) !== 0) chmodSync(path, 0o700);
}
