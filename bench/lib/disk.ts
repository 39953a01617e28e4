import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename } from 'node:path';

/** The mount a path is on, from /proc/self/mountinfo. */
export interface MountOf {
  readonly mountPoint: string;
  readonly fsType: string;
  readonly source: string;
  /** `major:minor` of the mounted device. */
  readonly device: string;
}

/** mountinfo escapes space, tab, newline and backslash as octal (`\040`). */
const unescapeOctal = (field: string): string =>
  field.replace(/\\([0-7]{3})/gu, (_m, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));

/**
 * The mount holding `path` (an absolute, resolved path): among the mounts of the path's device
 * (`device`, `major:minor` as stat gives it; any device when none matches), the longest mount
 * point that is `path` or one of its folders; the last such line wins (a later mount hides an
 * earlier one at the same place). Pure.
 */
export function mountFor(mountinfo: string, path: string, device?: string): MountOf | null {
  const mounts: MountOf[] = [];
  for (const line of mountinfo.split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    if (dash < 6 || fields.length < dash + 3) continue;
    const mountPoint = unescapeOctal(fields[4] as string);
    if (mountPoint !== '/' && path !== mountPoint && !path.startsWith(`${mountPoint}/`)) continue;
    mounts.push({
      mountPoint,
      fsType: fields[dash + 1] as string,
      source: unescapeOctal(fields[dash + 2] as string),
      device: fields[2] as string,
    });
  }
  const ofDevice = mounts.filter((m) => m.device === device);
  let best: MountOf | null = null;
  for (const m of ofDevice.length > 0 ? ofDevice : mounts) {
    if (best === null || m.mountPoint.length >= best.mountPoint.length) best = m;
  }
  return best;
}

/** `major:minor` of a Linux dev_t as Node's stat gives it. */
function majorMinor(dev: number): string {
  const big = BigInt(dev);
  const major = ((big >> 8n) & 0xfffn) | ((big >> 32n) & ~0xfffn);
  const minor = (big & 0xffn) | ((big >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

/**
 * A sentence on the file system under `path`, for the disk scenarios' notes: its type and source
 * and, for ext4, whether it has a journal (/proc/fs/jbd2 names a journal `<kernel device>-<n>`).
 * Without one, ext4 skips inodes freed in the last minutes when it allocates, so a file created
 * soon after mass deletions — the suite clears its folders between runs — costs every tool more.
 */
export function describeDisk(path: string): string {
  let mount: MountOf | null = null;
  try {
    const real = realpathSync(path);
    mount = mountFor(readFileSync('/proc/self/mountinfo', 'utf8'), real, majorMinor(statSync(real).dev));
  } catch {
    // Not Linux, or the path is gone: say nothing.
  }
  if (mount === null) return 'file system unknown';
  const what = `${mount.fsType} on ${mount.source}`;
  if (mount.fsType !== 'ext4') return what;
  let journals: string[];
  let kernelName: string;
  try {
    journals = readdirSync('/proc/fs/jbd2');
    kernelName = basename(realpathSync(`/sys/dev/block/${mount.device}`));
  } catch {
    return `${what}, journal unknown`;
  }
  return journals.some((name) => name.startsWith(`${kernelName}-`))
    ? `${what}, with a journal`
    : `${what}, without a journal: a file created soon after the suite's deletions costs every tool ~0.25 ms more (bench/PROFILE-2026-12.md, session 11)`;
}
