import {
  access,
  accessSync,
  type BigIntStats,
  close,
  closeSync,
  fchmod,
  fchmodSync,
  fstat,
  fstatSync,
  futimes,
  futimesSync,
  lstat,
  lstatSync,
  open,
  openSync,
  rename,
  renameSync,
  type Stats,
  stat,
  statSync,
  unlink,
  unlinkSync,
} from 'node:fs';
import { statfs } from 'node:fs/promises';
import { promisify } from 'node:util';
import { type Clock, systemClock } from '../core/clock.ts';

/**
 * The metadata system calls of AddFile's checks, temp-file creation, Complete and Cancel's
 * leftover sweep (stat, open, fstat, futimes, fchmod, rename, unlink, close), made either on the event loop or on libuv's thread pool.
 * On a local file system each is a few microseconds of kernel work that never waits on the disk,
 * where a trip to the pool costs more than the call (a Complete of 1,000 small files makes 8,000);
 * on a network or FUSE file system the same call can wait on a server — for ever on a hard-mounted
 * dead one — and on the loop that would freeze every job and the API, so there they stay on the pool.
 */
export interface MetadataCalls {
  readonly onLoop: boolean;
  stat(path: string): Promise<Stats>;
  lstat(path: string): Promise<Stats>;
  /**
   * lstat, undefined when nothing is there (ENOENT) — without an exception: on the loop, the
   * error Node builds for ENOENT (its stack captured) costs more than the call itself, and the
   * checks that ask (AddFile's, Cancel's leftover sweep) mostly find nothing.
   */
  lstatIfAny(path: string): Promise<Stats | undefined>;
  /** lstat with 64-bit dev/ino; undefined when nothing is there. */
  lstatId(path: string): Promise<BigIntStats | undefined>;
  access(path: string, mode: number): Promise<void>;
  open(path: string, flags: number): Promise<number>;
  /** fstat with 64-bit dev/ino. */
  fstatId(fd: number): Promise<BigIntStats>;
  futimes(fd: number, atime: Date, mtime: Date): Promise<void>;
  fchmod(fd: number, mode: number): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  close(fd: number): Promise<void>;
}

const ON_LOOP: MetadataCalls = {
  onLoop: true,
  stat: async (path) => statSync(path),
  lstat: async (path) => lstatSync(path),
  lstatIfAny: async (path) => lstatSync(path, { throwIfNoEntry: false }),
  lstatId: async (path) => lstatSync(path, { bigint: true, throwIfNoEntry: false }),
  access: async (path, mode) => accessSync(path, mode),
  open: async (path, flags) => openSync(path, flags),
  fstatId: async (fd) => fstatSync(fd, { bigint: true }),
  futimes: async (fd, atime, mtime) => futimesSync(fd, atime, mtime),
  fchmod: async (fd, mode) => fchmodSync(fd, mode),
  rename: async (from, to) => renameSync(from, to),
  unlink: async (path) => unlinkSync(path),
  close: async (fd) => closeSync(fd),
};

const lstatBig = promisify((path: string, done: (err: NodeJS.ErrnoException | null, st: BigIntStats) => void) =>
  lstat(path, { bigint: true }, done),
);
const fstatBig = promisify((fd: number, done: (err: NodeJS.ErrnoException | null, st: BigIntStats) => void) =>
  fstat(fd, { bigint: true }, done),
);

const openOnPool = promisify(open);
const lstatOnPool = promisify(lstat);

/** A pool lstat's result, or undefined when nothing is there (as `throwIfNoEntry: false` on the loop). */
async function unlessMissing<T>(stat: Promise<T>): Promise<T | undefined> {
  try {
    return await stat;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

const ON_POOL: MetadataCalls = {
  onLoop: false,
  stat: promisify(stat),
  lstat: lstatOnPool,
  lstatIfAny: (path) => unlessMissing(lstatOnPool(path)),
  lstatId: (path) => unlessMissing(lstatBig(path)),
  access: promisify(access),
  open: (path, flags) => openOnPool(path, flags),
  fstatId: fstatBig,
  futimes: promisify(futimes),
  fchmod: promisify(fchmod),
  rename: promisify(rename),
  unlink: promisify(unlink),
  close: promisify(close),
};

/** statfs(2) f_type of the file systems whose metadata calls never wait on a server (linux/magic.h). */
const LOCAL_FILE_SYSTEMS = new Set([
  0xef53, // ext2, ext3, ext4
  0x58465342, // xfs
  0x9123683e, // btrfs
  0x01021994, // tmpfs
  0x858458f6, // ramfs
  0xf2f52010, // f2fs
  0x2fc12fc1, // zfs
  0xca451a4e, // bcachefs
  0x3153464a, // jfs
  0x794c7630, // overlayfs (a container's root, over local layers)
]);

/**
 * How long a folder's classification is kept: a Complete or an AddFileSet of 1,000 files asks
 * statfs once, not 1,000 times, while a file system mounted over the folder later (sshfs, an NFS
 * automount, a symbolic link re-pointed) is seen within a second.
 */
export const CLASSIFICATION_MS = 1000;
/** Folders classified lately (bounded: a long-lived daemon sees many folders). */
const known = new Map<string, { readonly calls: MetadataCalls; readonly at: number }>();
const KNOWN_MAX = 256;

/**
 * The calls for files in `folder`: on the loop only when statfs (itself on the pool) names a local
 * file system; on the pool for anything else, or when the folder cannot be looked at (the calls
 * then fail with the real error).
 */
export async function metadataCallsFor(folder: string, clock: Clock = systemClock): Promise<MetadataCalls> {
  const now = clock.monotonicMs();
  const cached = known.get(folder);
  if (cached !== undefined && now - cached.at < CLASSIFICATION_MS) return cached.calls;
  let calls: MetadataCalls;
  try {
    calls = LOCAL_FILE_SYSTEMS.has(Number((await statfs(folder)).type)) ? ON_LOOP : ON_POOL;
  } catch {
    known.delete(folder);
    return ON_POOL;
  }
  if (known.size >= KNOWN_MAX) known.clear();
  known.set(folder, { calls, at: now });
  return calls;
}
