import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

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

function run(argv: readonly string[]): { ok: boolean; out: string } {
  const r = spawnSync(argv[0] as string, argv.slice(1), { encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

/**
 * Make and mount a fresh journaled ext4 of `sizeMiB` under `root`; null (and a line to `log`) when
 * this machine cannot (no root, no loop devices, no mkfs.ext4): the scenario then says so.
 */
export function mountJournaledDisk(root: string, sizeMiB: number, log: (line: string) => void): JournaledDisk | null {
  unmountJournaledDisk(root);
  mkdirSync(mountPoint(root), { recursive: true });
  const steps: Array<readonly string[]> = [
    ['truncate', '-s', `${sizeMiB}M`, image(root)],
    // Inode tables and the journal written now, not by a kernel thread during the runs.
    ['mkfs.ext4', '-q', '-F', '-E', 'lazy_itable_init=0,lazy_journal_init=0', image(root)],
  ];
  for (const argv of steps) {
    const r = run(argv);
    if (!r.ok) return fail(root, `${argv[0]}: ${r.out}`, log);
  }
  const loop = run(['losetup', '--find', '--show', '--direct-io=on', image(root)]);
  if (!loop.ok) return fail(root, `losetup: ${loop.out}`, log);
  const mounted = run(['mount', '-t', 'ext4', loop.out, mountPoint(root)]);
  if (!mounted.ok) {
    run(['losetup', '-d', loop.out]);
    return fail(root, `mount: ${mounted.out}`, log);
  }
  return { mountPoint: mountPoint(root), device: loop.out };
}

function fail(root: string, why: string, log: (line: string) => void): null {
  log(`journaled ext4 not available: ${why.slice(0, 200)}`);
  unmountJournaledDisk(root);
  return null;
}

/** Unmount what mountJournaledDisk made under `root` (an earlier run's too), detach its loop device, remove the image. */
export function unmountJournaledDisk(root: string): void {
  spawnSync('umount', [mountPoint(root)], { stdio: 'ignore' });
  const attached = run(['losetup', '-j', image(root)]);
  for (const line of attached.ok ? attached.out.split('\n') : []) {
    const device = line.split(':')[0];
    if (device?.startsWith('/dev/loop') === true) spawnSync('losetup', ['-d', device], { stdio: 'ignore' });
  }
  rmSync(image(root), { force: true });
  rmSync(mountPoint(root), { recursive: true, force: true });
}
