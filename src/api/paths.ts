import { lstatSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

/** Where bitsd keeps its files; the client finds the socket with the same rules. */
export interface OpenbitsPaths {
  /** Database and log (the manager's `home`): `$XDG_STATE_HOME/openbits`. */
  readonly stateDir: string;
  /** Socket folder, mode 0700: `$XDG_RUNTIME_DIR/openbits`. */
  readonly runtimeDir: string;
  readonly socketPath: string;
  /** Where an on-demand daemon's log goes. */
  readonly logPath: string;
  /** The policy file (quotas, bandwidth, …): `$XDG_CONFIG_HOME/openbits/config.json`. */
  readonly configPath: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/** An XDG variable counts only when it is an absolute path (XDG Base Directory spec). */
function xdg(env: Env, name: string): string | undefined {
  const value = env[name];
  return value !== undefined && value !== '' && isAbsolute(value) ? value : undefined;
}

/**
 * `/run/user/<uid>` when the variable is missing but the session folder exists (cron, `su`,
 * ssh without PAM), so those callers find the same socket as the login session. It must be a
 * private folder of this user, as systemd-logind makes it.
 */
function sessionRuntimeDir(root: string, uid: number): string | undefined {
  const dir = join(root, String(uid));
  try {
    const st = lstatSync(dir);
    return st.isDirectory() && st.uid === uid && (st.mode & 0o077) === 0 ? dir : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The file layout, from the environment (and one look at `/run/user/<uid>`):
 * - `OPENBITS_HOME=DIR` puts everything in DIR (tests, portable installs);
 * - the policy file is `$XDG_CONFIG_HOME/openbits/config.json` (default `~/.config/…`);
 * - else the database under `$XDG_STATE_HOME/openbits` (default `~/.local/state/openbits`) and
 *   the socket in `$XDG_RUNTIME_DIR/openbits/bitsd.sock`;
 * - without XDG_RUNTIME_DIR, `/run/user/<uid>` if it is this user's private folder, else
 *   `<tmpdir>/openbits-<uid>/`, which the daemon creates 0700 and refuses to use unless it owns
 *   it and it is not a symlink.
 */
export function resolvePaths(
  env: Env = process.env,
  uid: number = process.getuid?.() ?? 0,
  runUserRoot = '/run/user',
): OpenbitsPaths {
  const single = env.OPENBITS_HOME === undefined || env.OPENBITS_HOME === '' ? undefined : resolve(env.OPENBITS_HOME);
  if (single !== undefined) {
    return {
      stateDir: single,
      runtimeDir: single,
      socketPath: join(single, 'bitsd.sock'),
      logPath: join(single, 'bitsd.log'),
      configPath: join(single, 'config.json'),
    };
  }
  const home = env.HOME || homedir();
  const stateDir = join(xdg(env, 'XDG_STATE_HOME') ?? join(home, '.local', 'state'), 'openbits');
  const configPath = join(xdg(env, 'XDG_CONFIG_HOME') ?? join(home, '.config'), 'openbits', 'config.json');
  const runtime = xdg(env, 'XDG_RUNTIME_DIR') ?? sessionRuntimeDir(runUserRoot, uid);
  const runtimeDir = runtime === undefined ? join(tmpdir(), `openbits-${uid}`) : join(runtime, 'openbits');
  const socketPath = join(runtimeDir, 'bitsd.sock');
  return { stateDir, runtimeDir, socketPath, logPath: join(stateDir, 'bitsd.log'), configPath };
}

/** Where the system bitsd (`bitsd --system`, one for every user) keeps its files and sockets. */
export interface SystemPaths {
  /** Database: `/var/lib/openbits` (root, 0700). */
  readonly stateDir: string;
  /** Sockets: `/run/openbits` (root, 0755). */
  readonly runtimeDir: string;
  /** The public socket a client asks for its own socket on (0666; it only creates sockets). */
  readonly helloPath: string;
  /** One socket per user, `users/<uid>.sock`, owned by that user, 0600, in a root 0755 folder. */
  readonly usersDir: string;
  /** The machine policy: `/etc/openbits/policy.json`, root's and writable by root only. */
  readonly configPath: string;
}

/**
 * The system daemon's layout. `OPENBITS_SYSTEM_ROOT=DIR` moves all of it under DIR (the tests,
 * a chroot); both bitsd and the client read it, so they agree.
 */
export function resolveSystemPaths(env: Env = process.env): SystemPaths {
  const root =
    env.OPENBITS_SYSTEM_ROOT === undefined || env.OPENBITS_SYSTEM_ROOT === '' ? '/' : resolve(env.OPENBITS_SYSTEM_ROOT);
  const runtimeDir = join(root, 'run', 'openbits');
  return {
    stateDir: join(root, 'var', 'lib', 'openbits'),
    runtimeDir,
    helloPath: join(runtimeDir, 'hello.sock'),
    usersDir: join(runtimeDir, 'users'),
    configPath: join(root, 'etc', 'openbits', 'policy.json'),
  };
}

/** The socket of user `uid` on the system daemon. */
export function systemUserSocket(paths: SystemPaths, uid: number): string {
  return join(paths.usersDir, `${uid}.sock`);
}
