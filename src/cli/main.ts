import type { BitsManager } from './bits-vocabulary.ts';
import { runBitsadmin } from './run.ts';

/**
 * The bitsadmin process: binds runBitsadmin to stdin/stdout, Ctrl-C and a manager opened by
 * `open` (bin/bitsadmin.js passes the client's connect()). The first Ctrl-C is handed to the
 * running switch (/transfer suspends its job, /monitor stops); a second one exits at once.
 */
export async function main(argv: readonly string[], open: () => Promise<BitsManager>): Promise<number> {
  const interrupt = new AbortController();
  const onSigint = (): void => {
    if (interrupt.signal.aborted) process.exit(130);
    interrupt.abort();
  };
  process.on('SIGINT', onSigint);
  // `bitsadmin /list | head`: a closed pipe ends the command quietly, like other tools. The
  // error can arrive after the last write, so the handler stays for the life of the process.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    interrupt.abort();
  });
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
    process.off('SIGINT', onSigint);
    await manager?.close().catch(() => undefined);
  }
}
