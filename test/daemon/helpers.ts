import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** bin/bitsd.js of this checkout. */
export const BITSD_BIN = fileURLToPath(new URL('../../bin/bitsd.js', import.meta.url));

/** A real bitsd process with OPENBITS_HOME in a folder of the test. */
export interface DaemonProcess {
  readonly child: ChildProcess;
  readonly home: string;
  readonly socketPath: string;
  /** Everything the daemon wrote to stderr so far. */
  stderr(): string;
  /** Resolves with the exit code (or signal name) when the process ends. */
  readonly exited: Promise<number | string>;
}

/**
 * Spawn bitsd; resolves once it logged "bitsd is listening" (or rejects if it exits first).
 * `wrap`: a command that execs the rest of its arguments (bitsd's pid stays the child's).
 */
export async function spawnDaemon(
  home: string,
  env: Record<string, string> = {},
  args: readonly string[] = [],
  wrap: readonly string[] = [],
): Promise<DaemonProcess> {
  const [command, ...argv] = [...wrap, process.execPath, BITSD_BIN, ...args] as [string, ...string[]];
  const child = spawn(command, argv, {
    env: { ...process.env, OPENBITS_HOME: home, OPENBITS_NO_AUTOSTART: '1', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let text = '';
  child.stderr?.setEncoding('utf8');
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string);
  const listening = new Promise<void>((resolve, reject) => {
    child.stderr?.on('data', (chunk: string) => {
      text += chunk;
      if (text.includes('bitsd is listening')) resolve();
    });
    void exited.then((code) => reject(new Error(`bitsd exited (${code}) before listening:\n${text}`)));
  });
  const daemon = { child, home, socketPath: join(home, 'bitsd.sock'), stderr: () => text, exited };
  await listening;
  return daemon;
}

/** Run bitsd to its end (for a daemon expected to refuse to start). */
export async function runDaemonToExit(home: string): Promise<{ code: number | string; stderr: string }> {
  const child = spawn(process.execPath, [BITSD_BIN], {
    env: { ...process.env, OPENBITS_HOME: home },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr += chunk;
  });
  const [code, signal] = await once(child, 'exit');
  return { code: (code ?? signal) as number | string, stderr };
}

/** Stop a daemon with SIGTERM and wait for it. */
export async function stopDaemon(daemon: DaemonProcess): Promise<number | string> {
  if (daemon.child.exitCode === null && daemon.child.signalCode === null) daemon.child.kill('SIGTERM');
  return daemon.exited;
}
