import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** The directories a run uses. `tmpfs` holds served files and tmpfs destinations; `disk` is ext4. */
export interface Workspace {
  readonly root: string;
  readonly served: string;
  readonly tmpDest: string;
  readonly diskDest: string;
  readonly scratch: string;
  readonly tmpfsMounted: boolean;
  readonly canDropCaches: boolean;
}

/**
 * Mount a fresh tmpfs at `<root>/tmpfs` (or fall back to a folder in /dev/shm, which is tmpfs
 * too, when mounting is not allowed) and make a destination folder on the disk.
 */
export function makeWorkspace(root: string, sizeGiB: number, log: (line: string) => void): Workspace {
  const mountPoint = join(root, 'tmpfs');
  unmountWorkspace(root);
  mkdirSync(mountPoint, { recursive: true });
  const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeGiB}g,mode=0755`, 'tmpfs', mountPoint]);
  let base = mountPoint;
  if (mount.status !== 0) {
    base = join('/dev/shm', `openbits-bench-${process.pid}`);
    mkdirSync(base, { recursive: true });
    log(`mount -t tmpfs failed (${mount.stderr.toString().trim()}); using ${base}`);
  }
  const ws: Workspace = {
    root,
    served: join(base, 'served'),
    tmpDest: join(base, 'dest'),
    diskDest: join(root, 'disk'),
    scratch: join(base, 'scratch'),
    tmpfsMounted: mount.status === 0,
    canDropCaches: dropCaches(),
  };
  for (const dir of [ws.served, ws.tmpDest, ws.diskDest, ws.scratch]) mkdirSync(dir, { recursive: true });
  return ws;
}

/** Unmount the tmpfs of an earlier run, if any, and remove disk destinations. */
export function unmountWorkspace(root: string): void {
  spawnSync('umount', [join(root, 'tmpfs')], { stdio: 'ignore' });
  rmSync(join(root, 'disk'), { recursive: true, force: true });
}

/** `sync; echo 3 > /proc/sys/vm/drop_caches`; false when not permitted. */
export function dropCaches(): boolean {
  spawnSync('sync');
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '3\n');
    return true;
  } catch {
    return false;
  }
}

/** Empty a destination folder (and recreate it). */
export function clearDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
}

/**
 * Write `bytes` into the tmpfs and delete them again, once, before any scenario: on a virtual
 * machine whose memory the hypervisor backs lazily (this one: ~2.5 s per GiB the first time a
 * page is touched, ~0.6 s once touched), whichever tool wrote first into fresh memory paid for
 * it — ours, as it runs first in every round (S4's first run: 2.5 s against 1.1–1.3 s, the
 * peers' first runs 0.1–0.6 s slower too). The pages freed here are the ones handed out next.
 * Returns the milliseconds it took.
 */
export function warmMemory(ws: Workspace, bytes: number): number {
  const started = performance.now();
  const path = join(ws.tmpDest, '.warm-memory');
  const chunk = Buffer.alloc(4 * 1024 * 1024, 1);
  const fd = openSync(path, 'w', 0o600);
  try {
    for (let left = bytes; left > 0; left -= chunk.byteLength)
      writeSync(fd, chunk, 0, Math.min(left, chunk.byteLength));
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
  return performance.now() - started;
}
