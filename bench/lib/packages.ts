import { spawnSync } from 'node:child_process';

/** Debian packages the suite uses, with the binary each one provides. */
export const PEER_PACKAGES: ReadonlyArray<{ pkg: string; bin: string }> = [
  { pkg: 'nginx-light', bin: 'nginx' },
  { pkg: 'aria2', bin: 'aria2c' },
  { pkg: 'curl', bin: 'curl' },
  { pkg: 'wget', bin: 'wget' },
  { pkg: 'iperf3', bin: 'iperf3' },
  { pkg: 'time', bin: '/usr/bin/time' },
  { pkg: 'util-linux', bin: 'taskset' },
];

/** Whether `bin` (a name on PATH or an absolute path) can be run. */
export function hasBinary(bin: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Install missing peers from Debian (`apt-get update` once, then one install). Needs root;
 * without it, reports what is missing and lets the scenarios skip those tools.
 */
export function ensurePackages(log: (line: string) => void): void {
  const missing = PEER_PACKAGES.filter((p) => !hasBinary(p.bin)).map((p) => p.pkg);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    log(`not root: cannot install ${missing.join(', ')}; scenarios needing them will say so`);
    return;
  }
  log(`installing from Debian: ${missing.join(', ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const opts = { stdio: 'pipe' as const, env, encoding: 'utf8' as const };
  const lock = ['-o', 'DPkg::Lock::Timeout=300'];
  const update = spawnSync('apt-get', [...lock, 'update', '-qq'], opts);
  if (update.status !== 0) throw new Error(`apt-get update failed: ${update.stderr.slice(-800)}`);
  const install = spawnSync('apt-get', [...lock, 'install', '-y', '-qq', '--no-install-recommends', ...missing], opts);
  if (install.status !== 0)
    throw new Error(`apt-get install ${missing.join(' ')} failed: ${install.stderr.slice(-800)}`);
}
