import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveSystemPaths, type SystemPaths } from '../../src/api/paths.ts';

const BIN = fileURLToPath(new URL('../../bin/', import.meta.url));

/**
 * useradd, groupadd, userdel: the three test files run at once, and a tool that finds
 * /etc/passwd or /etc/group locked by another ("cannot lock") gives up — it is run again
 * (for up to 30 s).
 */
function accountTool(command: string, args: readonly string[]): void {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      execFileSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      return;
    } catch (err) {
      const stderr = String((err as { stderr?: unknown }).stderr ?? '');
      if (!/lock/iu.test(stderr) || Date.now() > deadline) throw err;
      // A synchronous pause: nothing else of this test runs meanwhile anyway.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
}

/** A throwaway account made by the test (useradd) and removed after it (userdel). */
export interface TestUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  /** A 0700 folder of the user's inside the test's root. */
  readonly home: string;
}

/**
 * Throwaway users and groups for one test file: names start with "obtest" and a random tag, so
 * `cleanup()` (called from an after hook, even when the test failed) removes exactly these.
 */
export class TestUsers {
  readonly tag = `obtest${randomBytes(3).toString('hex')}`;
  readonly #users: string[] = [];
  readonly #groups: string[] = [];

  /** A new group named `<tag><suffix>`. */
  group(suffix: string): string {
    const name = `${this.tag}${suffix}`;
    accountTool('groupadd', [name]);
    this.#groups.push(name);
    return name;
  }

  /**
   * A new user `<tag><suffix>` with its own group and a private folder under `root`;
   * `system`: a service account (`useradd --system`: a uid below UID_MIN).
   */
  user(suffix: string, root: string, groups: readonly string[] = [], options: { system?: boolean } = {}): TestUser {
    const name = `${this.tag}${suffix}`;
    accountTool('useradd', [
      ...(options.system === true ? ['--system'] : []),
      '--no-create-home',
      '--home-dir',
      join(root, 'home', name),
      '--shell',
      '/usr/sbin/nologin',
      '--user-group',
      ...(groups.length > 0 ? ['--groups', groups.join(',')] : []),
      name,
    ]);
    this.#users.push(name);
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
    const home = join(root, 'home', name);
    mkdirSync(home, { recursive: true });
    chownSync(home, uid, gid);
    chmodSync(home, 0o700);
    return { name, uid, gid, home };
  }

  cleanup(): void {
    for (const name of this.#users.splice(0)) {
      try {
        accountTool('userdel', ['--force', name]);
      } catch {
        // already gone
      }
    }
    for (const name of this.#groups.splice(0)) {
      try {
        accountTool('groupdel', [name]);
      } catch {
        // already gone (or the user group went with its user)
      }
    }
  }
}

/** A folder for the test's system root: 0755 so every test user can reach the sockets. */
export function systemRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'system-test-'));
  chmodSync(root, 0o755);
  mkdirSync(join(root, 'home'), { mode: 0o755 });
  return root;
}

/** The machine policy (`etc/openbits/policy.json` under `root`, root's, 0600) before bitsd starts. */
export function writeMachinePolicy(root: string, policy: Record<string, unknown>): void {
  mkdirSync(join(root, 'etc', 'openbits'), { recursive: true, mode: 0o755 });
  writeFileSync(join(root, 'etc', 'openbits', 'policy.json'), JSON.stringify(policy), { mode: 0o600 });
}

/** The real `bitsd --system` (as root), its system files under `root`. */
export interface SystemDaemon {
  readonly child: ChildProcess;
  readonly paths: SystemPaths;
  readonly env: Record<string, string>;
  stderr(): string;
  readonly exited: Promise<number | string>;
  stop(): Promise<number | string>;
}

export async function startSystemDaemon(
  root: string,
  args: readonly string[] = [],
  env: Record<string, string> = {},
  /** A command that execs bitsd (e.g. `unshare -n --`: its own network namespace). */
  wrap: readonly string[] = [],
): Promise<SystemDaemon> {
  const systemEnv = { OPENBITS_SYSTEM_ROOT: root, OPENBITS_SYSTEM: '1', ...env };
  // Test users have no login session: unless a test watches sessions, everybody counts as present.
  const sessions = args.some((a) => a.startsWith('--sessions=')) ? [] : ['--sessions=none'];
  const argv = [...wrap, process.execPath, join(BIN, 'bitsd.js'), '--system', ...sessions, ...args];
  const child = spawn(argv[0] as string, argv.slice(1), {
    env: { ...process.env, ...systemEnv },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let text = '';
  child.stderr?.setEncoding('utf8');
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string);
  await new Promise<void>((resolve, reject) => {
    child.stderr?.on('data', (chunk: string) => {
      text += chunk;
      if (text.includes('bitsd --system is listening')) resolve();
    });
    void exited.then((code) => reject(new Error(`bitsd --system exited (${code}) before listening:\n${text}`)));
  });
  return {
    child,
    paths: resolveSystemPaths(systemEnv),
    env: systemEnv,
    stderr: () => text,
    exited,
    stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * A CLI (bitsadmin or openbits) run as `user` through runuser (root for null), with the system
 * daemon's environment and nothing of root's but PATH.
 */
export function runAs(
  user: TestUser | null,
  cli: 'bitsadmin' | 'openbits',
  args: readonly string[],
  env: Record<string, string>,
): Promise<CliResult> {
  return runNodeAs(user, [join(BIN, `${cli}.js`), ...args], env);
}

/** `node ARGS` as `user` (root for null). */
export async function runNodeAs(
  user: TestUser | null,
  nodeArgs: readonly string[],
  env: Record<string, string>,
): Promise<CliResult> {
  const command = [process.execPath, ...nodeArgs];
  const argv = user === null ? command : ['runuser', '-u', user.name, '--', ...command];
  const child = spawn(argv[0] as string, argv.slice(1), {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: user?.home ?? '/root',
      OPENBITS_NO_AUTOSTART: '1',
      ...env,
    },
    cwd: user?.home ?? '/',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (c: string) => {
    stdout += c;
  });
  child.stderr?.setEncoding('utf8').on('data', (c: string) => {
    stderr += c;
  });
  const [code] = await once(child, 'exit');
  return { code: code as number | null, stdout, stderr };
}

/** bitsadmin --json as `user`: the parsed answer; throws with the CLI's words on failure. */
export async function bitsadminJson(
  user: TestUser | null,
  args: readonly string[],
  env: Record<string, string>,
): Promise<Record<string, unknown>> {
  const r = await runAs(user, 'bitsadmin', ['--json', ...args], env);
  if (r.code !== 0) throw new Error(`bitsadmin ${args.join(' ')} as ${user?.name ?? 'root'} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

/** The BITS error name of a failed bitsadmin --json call. */
export async function bitsadminError(
  user: TestUser | null,
  args: readonly string[],
  env: Record<string, string>,
): Promise<string> {
  const r = await runAs(user, 'bitsadmin', ['--json', ...args], env);
  if (r.code === 0) throw new Error(`bitsadmin ${args.join(' ')} as ${user?.name ?? 'root'} succeeded: ${r.stdout}`);
  return (JSON.parse(r.stdout) as { error: { name: string } }).error.name;
}

/** After hook: stop the daemon and the origin, then remove the users and the root, whatever failed. */
export async function teardown(parts: {
  daemon: SystemDaemon | undefined;
  origin?: { close(): Promise<void> } | undefined;
  users: TestUsers;
  root: string;
}): Promise<void> {
  try {
    await parts.daemon?.stop();
    await parts.origin?.close();
  } finally {
    parts.users.cleanup();
    removeRoot(parts.root);
  }
}

/** Remove the test's root (after the daemon stopped). */
export function removeRoot(root: string): void {
  if (existsSync(root)) rmSync(root, { recursive: true, force: true });
}

/** Poll `/info` as `user` until `done` holds (60 s at most). */
export async function waitForJob(
  user: TestUser | null,
  id: string,
  env: Record<string, string>,
  done: (job: Record<string, unknown>) => boolean,
  timeoutMs = 60_000,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await bitsadminJson(user, ['/info', id], env);
    if (done(job)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} did not get there: ${JSON.stringify(job)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
