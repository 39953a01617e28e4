import { spawnSync } from 'node:child_process';
import { mkdirSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * An ext4 file system with a journal (mkfs.ext4's default, what a user's disk has), on a loop
 * device in direct-I/O mode over an image file in the work folder: the bench's own disk may be a
 * journal-less ext4 (this machine's is), where a file created minutes after mass deletions costs
 * every tool ~0.25 ms of inode search (bench/PROFILE-2026-12.md, session 11). Direct I/O keeps the
 * image's bytes out of the host's page cache, so a flush reaches the disk below as it would.
 */
export interface JournaledDisk {
  /** Where it is mounted: `<root>/journaled`. */
  readonly mountPoint: string;
  /** The loop device (`/dev/loopN`). */
  readonly device: string;
}

const image = (root: string) => join(root, 'journaled.img');
const mountPoint = (root: string) => join(root, 'journaled');

function run(argv: readonly string[]): { ok: boolean; stdout: string; stderr: string } {
  const r = spawnSync(argv[0] as string, argv.slice(1), { encoding: 'utf8' });
  return { ok: r.status === 0, stdout: (r.stdout ?? '').trim(), stderr: (r.stderr ?? '').trim() };
}

/** Something is mounted at `path`: its device differs from its parent folder's. */
function mounted(path: string): boolean {
  try {
    return statSync(path).dev !== statSync(dirname(path)).dev;
  } catch {
    return false;
  }
}

/**
 * Make and mount a fresh journaled ext4 of `sizeMiB` under `root`; null (and a line to `log`) when
 * this machine cannot (no root, no loop devices, no mkfs.ext4, an earlier one still busy): the
 * scenario then says so. Never throws.
 */
export function mountJournaledDisk(root: string, sizeMiB: number, log: (line: string) => void): JournaledDisk | null {
  try {
    if (!unmountJournaledDisk(root, log)) return null;
    mkdirSync(mountPoint(root), { recursive: true });
    const steps: Array<readonly string[]> = [
      ['truncate', '-s', `${sizeMiB}M`, image(root)],
      // Inode tables and the journal written now, not by a kernel thread during the runs.
      ['mkfs.ext4', '-q', '-F', '-E', 'lazy_itable_init=0,lazy_journal_init=0', image(root)],
    ];
    for (const argv of steps) {
      const r = run(argv);
      if (!r.ok) return fail(root, `${argv[0]}: ${r.stderr}`, log);
    }
    const loop = run(['losetup', '--find', '--show', '--direct-io=on', image(root)]);
    if (!loop.ok || !/^\/dev\/loop\d+$/u.test(loop.stdout)) return fail(root, `losetup: ${loop.stderr}`, log);
    const mount = run(['mount', '-t', 'ext4', loop.stdout, mountPoint(root)]);
    if (!mount.ok) {
      run(['losetup', '-d', loop.stdout]);
      return fail(root, `mount: ${mount.stderr}`, log);
    }
    return { mountPoint: mountPoint(root), device: loop.stdout };
  } catch (error) {
    return fail(root, error instanceof Error ? error.message : String(error), log);
  }
}

function fail(root: string, why: string, log: (line: string) => void): null {
  log(`journaled ext4 not available: ${why.slice(0, 200)}`);
  unmountJournaledDisk(root, log);
  return null;
}

/**
 * Unmount what mountJournaledDisk made under `root` (an earlier run's too), detach its loop
 * device and remove the image. A mount still busy (a process of a failed run has a file open in
 * it) is detached lazily: the kernel drops it, and the loop device with it, once the last file
 * closes. Nothing inside the mount is ever deleted (the folder goes only once it is empty and no
 * longer a mount). False, with a line to `log`, when the mount is still there. Never throws.
 */
export function unmountJournaledDisk(root: string, log: (line: string) => void = () => {}): boolean {
  const at = mountPoint(root);
  if (mounted(at) && !run(['umount', at]).ok) run(['umount', '--lazy', at]);
  const attached = run(['losetup', '-j', image(root)]);
  for (const line of attached.ok ? attached.stdout.split('\n') : []) {
    const device = line.split(':')[0];
    // A device still in use is detached when its last user lets go (autoclear).
    if (device?.startsWith('/dev/loop') === true) run(['losetup', '-d', device]);
  }
  if (mounted(at)) {
    log(`journaled ext4 still mounted at ${at}`);
    return false;
  }
  try {
    rmSync(image(root), { force: true });
    rmdirSync(at);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') log(`journaled ext4: ${String(error)}`);
  }
  return true;
}
