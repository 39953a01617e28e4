/** Ctrl-C and a closed stdout for a CLI process (bitsadmin and openbits alike). */
export interface ProcessInterrupt {
  /** Aborted by the first Ctrl-C, or when stdout's reader went away (EPIPE). */
  readonly signal: AbortSignal;
  /** Stops listening for Ctrl-C (the EPIPE handler stays; see below). */
  release(): void;
}

/**
 * The first Ctrl-C aborts `signal`, so the running command ends cleanly (/transfer and `get`
 * suspend their job, /monitor and `watch` stop); a second one exits at once (130). `… | head`
 * closing the pipe ends the command quietly, like other tools; that error can arrive after the
 * last write, so its handler stays for the life of the process.
 */
export function processInterrupt(): ProcessInterrupt {
  const interrupt = new AbortController();
  const onSigint = (): void => {
    if (interrupt.signal.aborted) process.exit(130);
    interrupt.abort();
  };
  process.on('SIGINT', onSigint);
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    interrupt.abort();
  });
  return { signal: interrupt.signal, release: () => process.off('SIGINT', onSigint) };
}
