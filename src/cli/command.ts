import type { BitsManager } from './bits-vocabulary.ts';

/** Where the CLI reads its manager and writes its output; main.ts binds it to the process. */
export interface CliIo {
  /** Opens the manager on first use; runBitsadmin never closes it (its caller does). */
  readonly manager: () => Promise<BitsManager>;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** stdout is a terminal: live progress bars and a redrawn /monitor screen. */
  readonly isTTY: boolean;
  readonly columns?: number;
  /** Ctrl-C: /transfer suspends its job, /monitor stops. */
  readonly signal?: AbortSignal;
  /** Waits `ms` (rejects or resolves early when `signal` aborts); tests pass one that does not sleep. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** The folder relative local names are resolved against (default: process.cwd()). */
  readonly cwd?: string;
  /** Monotonic milliseconds, for pacing progress lines. */
  readonly now?: () => number;
}

/** How results are printed: bitsadmin's text, `/rawreturn` bare values, or `--json`. */
export type OutputMode = 'text' | 'raw' | 'json';

/** What one switch hands back to be printed in the chosen mode. */
export interface CommandResult {
  /** bitsadmin's text (after the banner); lines joined with \n, no trailing newline. */
  readonly text: string;
  /** The bare value for /rawreturn; omitted means nothing is printed. */
  readonly raw?: string;
  /** The one JSON document for --json. */
  readonly json: unknown;
  /** Non-zero when the switch ran but did not fully succeed (e.g. /reset that could not cancel all). */
  readonly exitCode?: number;
}

/** The context a switch runs in. */
export interface CommandContext {
  /** The switch being run (its name, for usage errors). */
  readonly command: string;
  /** Arguments after the switch itself. */
  readonly args: readonly string[];
  readonly mode: OutputMode;
  readonly io: CliIo;
  /** The manager, opened on first call. */
  manager(): Promise<BitsManager>;
  /** Writes text output now (for switches that stream: /monitor, /transfer). */
  print(text: string): void;
}

/** One bitsadmin switch. */
export interface Command {
  /** Lower-case, without the slash: `addfile`. */
  readonly name: string;
  /** `/addfile <job> <remoteURL> <localname>` */
  readonly syntax: string;
  readonly summary: string;
  /** Streaming switches print as they go and return only an exit code. */
  run(ctx: CommandContext): Promise<CommandResult | number>;
}
