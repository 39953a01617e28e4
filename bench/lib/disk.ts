import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { basename } from 'node:path';

/** The mount a path is on, from /proc/self/mountinfo. */
export interface MountOf {
  readonly mountPoint: string;
  readonly fsType: string;
  readonly source: string;
}

/** mountinfo escapes space, tab, newline and backslash as octal (`\040`). */
const unescapeOctal = (field: string): string =>
  field.replace(/\\([0-7]{3})/gu, (_m, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));

/**
 * The mount holding `path` (an absolute, resolved path): the longest mount point that is `path`
 * or one of its folders; the last such line wins (a later mount hides an earlier one). Pure.
 */
export function mountFor(mountinfo: string, path: string): MountOf | null {
  let best: MountOf | null = null;
  for (const line of mountinfo.split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    if (dash < 6 || fields.length < dash + 3) continue;
    const mountPoint = unescapeOctal(fields[4] as string);
    const inside = mountPoint === '/' || path === mountPoint || path.startsWith(`${mountPoint}/`);
    if (!inside || (best !== null && mountPoint.length < best.mountPoint.length)) continue;
    best = { mountPoint, fsType: fields[dash + 1] as string, source: unescapeOctal(fields[dash + 2] as string) };
  }
  return best;
}

/**
 * A sentence on the file system under `path`, for the disk scenarios' notes: its type and device
 * and, for ext4, whether it has a journal (/proc/fs/jbd2 lists a device's journal). Without one,
 * ext4 skips inodes freed in the last minutes when it allocates, so a file created soon after
 * mass deletions — the suite clears its folders between runs — costs every tool more.
 */
export function describeDisk(path: string): string {
  let mount: MountOf | null = null;
  try {
    mount = mountFor(readFileSync('/proc/self/mountinfo', 'utf8'), realpathSync(path));
  } catch {
    // Not Linux, or the path is gone: say nothing.
  }
  if (mount === null) return 'file system unknown';
  const what = `${mount.fsType} on ${mount.source}`;
  if (mount.fsType !== 'ext4' || !existsSync('/proc/fs/jbd2')) return what;
  const device = basename(mount.source);
  const journaled = readdirSync('/proc/fs/jbd2').some((name) => name.startsWith(`${device}-`));
  return journaled
    ? `${what}, with a journal`
    : `${what}, without a journal: a file created soon after the suite's deletions costs every tool ~0.25 ms more (bench/PROFILE-2026-12.md, session 11)`;
}
