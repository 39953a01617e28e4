import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';

const BIN = path.resolve(import.meta.dirname, '../../../bin/bits-upload-server.js');

/** The real `bits-upload-server` binary in a child process. */
export interface ServerProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly port: number;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Everything written to stdout so far. */
  stdout(): string;
  /** Resolves with the exit code (or signal) once the process is gone. */
  exited: Promise<number | string>;
}

/**
 * Start the CLI and wait for its `listening on` line. `wrap` turns the node command line into
 * another (e.g. run it inside `unshare` with a small file system mounted).
 */
export async function startServerProcess(
  args: readonly string[],
  wrap: (argv: string[]) => string[] = (argv) => argv,
): Promise<ServerProcess> {
  const [file = '', ...rest] = wrap([process.execPath, BIN, '--port', '0', ...args]);
  const child = spawn(file, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m?.[1] !== undefined) resolve(m[1]);
    });
    exited.then((code) => reject(new Error(`server exited (${code}) before listening: ${err}`)));
  });
  return { child, url, port: Number(new URL(url).port), stderr: () => err, stdout: () => out, exited };
}

/** Run `fn` (an in-process `main`) with stderr captured instead of printed; returns what it wrote. */
export async function captureStderr(fn: () => Promise<void>): Promise<string> {
  const errors: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string) => {
    errors.push(String(s));
    return true;
  }) as typeof process.stderr.write;
  try {
    await fn();
  } finally {
    process.stderr.write = write;
  }
  return errors.join('');
}
