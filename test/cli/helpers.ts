import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after } from 'node:test';
import type { BitsManager, JobInfo } from '../../src/api/bits-manager.ts';
import { type CliIo, runBitsadmin } from '../../src/cli/run.ts';
import type { Clock } from '../../src/core/index.ts';
import { ManualNetworkSource } from '../../src/scheduler/network.ts';
import { createManager, type InProcessManager } from '../../src/service/manager.ts';
import type { FileServer } from '../helpers/file-server.ts';
import { waitForState } from '../helpers/manager-harness.ts';

const opened: Array<{ manager: InProcessManager; home: string }> = [];

after(async () => {
  for (const { manager, home } of opened.splice(0)) {
    await manager.close();
    await rm(home, { recursive: true, force: true });
  }
});

/**
 * A fresh in-process manager with its own home (database and policy file) in a temp dir; the
 * network is reported up (this machine only has loopback), and `clock` may be a TestClock.
 */
export async function makeManager(options: { clock?: Clock; isAdmin?: boolean } = {}): Promise<InProcessManager> {
  const home = await mkdtemp(join(tmpdir(), 'bitsadmin-test-'));
  const manager = await createManager({
    home,
    policyFile: join(home, 'config.json'),
    network: new ManualNetworkSource(true),
    ...options,
  });
  opened.push({ manager, home });
  return manager;
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

/** A job whose only file is missing on `server` (HTTP 404), resumed and waited into ERROR. */
export async function jobInError(
  manager: BitsManager,
  server: FileServer,
  name: string,
  localDir: string,
): Promise<JobInfo> {
  const job = await manager.createJob(name);
  await manager.addFile(job.id, server.url('/missing.bin'), join(localDir, `${name}.bin`));
  await manager.resume(job.id);
  await waitForState(manager, job.id, 'ERROR');
  return manager.getJob(job.id);
}
