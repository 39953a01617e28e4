import { connect } from '../client/index.ts';
import type { OpenbitsIo } from './openbits/io.ts';
import { runOpenbits } from './openbits/run.ts';
import { processInterrupt } from './process-interrupt.ts';

/**
 * The openbits process: runOpenbits bound to this process (stdout, cwd, environment, Ctrl-C).
 * The first Ctrl-C goes to the running verb (get suspends its job, watch stops); a second one
 * exits at once.
 */
export async function main(argv: readonly string[], self: readonly string[]): Promise<number> {
  const interrupt = processInterrupt();
  const io: OpenbitsIo = {
    connect: (options) => connect(options),
    stdout: process.stdout,
    stderr: process.stderr,
    isTTY: process.stdout.isTTY === true,
    ...(process.stdout.columns === undefined ? {} : { columns: process.stdout.columns }),
    signal: interrupt.signal,
    cwd: process.cwd(),
    env: process.env,
    self,
  };
  try {
    return await runOpenbits(argv, io);
  } finally {
    interrupt.release();
  }
}
