import type { BitsManager } from './bits-vocabulary.ts';
import { processInterrupt } from './process-interrupt.ts';
import { runBitsadmin } from './run.ts';

/**
 * The bitsadmin process: binds runBitsadmin to stdin/stdout, Ctrl-C and a manager opened by
 * `open` (bin/bitsadmin.js passes the client's connect()). The first Ctrl-C is handed to the
 * running switch (/transfer suspends its job, /monitor stops); a second one exits at once.
 */
export async function main(argv: readonly string[], open: () => Promise<BitsManager>): Promise<number> {
  const interrupt = processInterrupt();
  let manager: BitsManager | undefined;
  try {
    return await runBitsadmin(argv, {
      manager: async () => {
        manager = await open();
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
