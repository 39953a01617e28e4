import { existsSync } from 'node:fs';
import { resolveSystemPaths } from '../api/paths.ts';
import type { BitsManager } from './bits-vocabulary.ts';
import { processInterrupt } from './process-interrupt.ts';
import { runBitsadmin } from './run.ts';

/**
 * Which bitsd a command line talks to: `--system` (anywhere) or OPENBITS_SYSTEM=1 the system
 * one; `/allusers` the system one too when it runs (only it knows other users' jobs), unless
 * OPENBITS_SYSTEM=0; otherwise the user's own.
 */
export function chooseService(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  systemRunning: () => boolean = () => existsSync(resolveSystemPaths(env).helloPath),
): { args: string[]; system: boolean } {
  const args = argv.filter((a) => a.toLowerCase() !== '--system');
  if (args.length !== argv.length || env.OPENBITS_SYSTEM === '1') return { args, system: true };
  const allUsers = args.some((a) => /^(--|-|\/)allusers$/iu.test(a));
  return { args, system: allUsers && env.OPENBITS_SYSTEM !== '0' && systemRunning() };
}

/**
 * The bitsadmin process: binds runBitsadmin to stdin/stdout, Ctrl-C and a manager opened by
 * `open` (bin/bitsadmin.js passes the client's connect()). The first Ctrl-C is handed to the
 * running switch (/transfer suspends its job, /monitor stops); a second one exits at once.
 */
export async function main(
  argv: readonly string[],
  open: (options: { system?: boolean }) => Promise<BitsManager>,
): Promise<number> {
  const interrupt = processInterrupt();
  let manager: BitsManager | undefined;
  const { args, system } = chooseService(argv, process.env);
  try {
    return await runBitsadmin(args, {
      manager: async () => {
        manager = await open(system ? { system } : {});
        return manager;
      },
      stdout: process.stdout,
      stderr: process.stderr,
      isTTY: process.stdout.isTTY === true,
      ...(process.stdout.columns === undefined ? {} : { columns: process.stdout.columns }),
      signal: interrupt.signal,
    });
  } finally {
    interrupt.release();
    await manager?.close().catch(() => undefined);
  }
}
