import { Writable } from 'node:stream';
import type { BitsManager } from '../../src/api/contract.ts';
import { type CliIo, runBitsadmin } from '../../src/cli/run.ts';
import { MemoryManager } from './memory-manager.ts';

/** A fresh manager for one test. */
export async function makeManager(): Promise<BitsManager & { force?: MemoryManager['force'] }> {
  return new MemoryManager();
}

/** A Writable that keeps what was written. */
export class Capture extends Writable {
  text = '';
  isTTY = false;
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

export interface RunOutcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs bitsadmin with captured output against `manager`. */
export async function bitsadmin(
  manager: BitsManager,
  argv: readonly string[],
  extra: Partial<Omit<CliIo, 'manager' | 'stdout' | 'stderr'>> = {},
): Promise<RunOutcome> {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await runBitsadmin(argv, { manager: async () => manager, stdout, stderr, isTTY: false, ...extra });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/** Text output without the banner. */
export function body(stdout: string): string {
  const i = stdout.indexOf('\n\n');
  return stdout.startsWith('BITSADMIN version') && i >= 0 ? stdout.slice(i + 2) : stdout;
}

/** `{GUID}` from /create's output. */
export function createdId(stdout: string): string {
  const m = /Created job \{([0-9A-F-]{36})\}\./u.exec(stdout);
  if (m?.[1] === undefined) throw new Error(`no job id in: ${stdout}`);
  return m[1].toLowerCase();
}
