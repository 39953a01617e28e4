import type { BitsManager } from './bits-vocabulary.ts';
import type { CliIo, CommandContext, CommandResult, OutputMode } from './command.ts';
import { COMMANDS, findCommand, usageText } from './commands/registry.ts';
import { errorFacts, errorText } from './error-text.ts';
import { UsageError } from './usage-error.ts';
import { banner } from './version.ts';

export type { CliIo } from './command.ts';

/** Exit code: success. */
export const EXIT_OK = 0;
/** Exit code: a BITS call failed (130 is Ctrl-C in /transfer). */
export const EXIT_FAILED = 1;
/** Exit code: the command line was wrong. */
export const EXIT_USAGE = 2;

interface ParsedArgv {
  readonly mode: OutputMode;
  /** `/nologo`: no banner. */
  readonly nologo: boolean;
  readonly verb: string | undefined;
  readonly args: string[];
}

/**
 * Global options lead (`/rawreturn`, `/wrap`, `/nowrap`, any case, / or -); `--json` may stand
 * anywhere. Everything after the switch belongs to it.
 */
export function parseArgv(argv: readonly string[]): ParsedArgv {
  let json = false;
  let raw = false;
  let nologo = false;
  const tokens = argv.filter((a) => {
    if (a.toLowerCase() !== '--json') return true;
    json = true;
    return false;
  });
  let i = 0;
  for (; i < tokens.length; i++) {
    const t = (tokens[i] ?? '').toLowerCase().replace(/^(--|-)/u, '/');
    if (t === '/rawreturn') raw = true;
    else if (t === '/nologo') nologo = true;
    else if (t !== '/wrap' && t !== '/nowrap') break;
  }
  return { mode: json ? 'json' : raw ? 'raw' : 'text', nologo, verb: tokens[i], args: tokens.slice(i + 1) };
}

/** Prints a switch's result in the chosen mode (`text` writes the banner first, if due). */
function printResult(io: CliIo, mode: OutputMode, result: CommandResult, text: (t: string) => void): void {
  if (mode === 'text') text(result.text);
  else if (mode === 'json') io.stdout.write(`${JSON.stringify(result.json, jsonReplacer, 2)}\n`);
  else if (mode === 'raw') {
    // bitsadmin's /rawreturn prints the bare value with no line ending.
    if (result.raw !== undefined) io.stdout.write(result.raw);
  }
}

/** Buffers (reply data) are not part of any JobInfo; anything else is plain JSON. */
function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

/**
 * Runs one bitsadmin command line against the manager `io.manager()` opens, writing to
 * io.stdout / io.stderr, and resolves to the exit code. Never throws; never closes the manager.
 */
export async function runBitsadmin(argv: readonly string[], io: CliIo): Promise<number> {
  const { mode, nologo, verb, args } = parseArgv(argv);
  const command = verb === undefined ? findCommand('help') : findCommand(verb);
  // Windows bitsadmin's banner heads text output on a terminal; a pipe, /nologo and errors
  // (stderr) go without it, so scripts read only the answer.
  let bannerDue = mode === 'text' && io.isTTY && !nologo;
  const text = (t: string): void => {
    if (bannerDue) io.stdout.write(banner());
    bannerDue = false;
    io.stdout.write(`${t}\n`);
  };
  let opened: Promise<BitsManager> | undefined;
  const ctx: CommandContext = {
    command: command?.name ?? 'help',
    args,
    mode,
    io,
    manager: () => {
      opened ??= io.manager();
      return opened;
    },
    print: (line) => {
      if (mode === 'text') text(line);
    },
  };
  try {
    if (command === undefined) throw new UsageError(`unknown switch: ${verb}`, null);
    const wantsUsage = args.length > 0 && ['/?', '-?', '/help', '--help', '-h'].includes((args[0] ?? '').toLowerCase());
    const target = wantsUsage ? findCommand('help') : command;
    if (target === undefined) throw new Error('help switch missing');
    const outcome = await target.run(wantsUsage ? { ...ctx, command: 'help', args: [command.name] } : ctx);
    if (typeof outcome === 'number') return outcome;
    printResult(io, mode, outcome, text);
    return outcome.exitCode ?? EXIT_OK;
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`Invalid argument: ${err.message}\n${usageText(err.command)}\n`);
      if (mode === 'json') io.stdout.write(`${JSON.stringify({ error: { name: 'USAGE', message: err.message } })}\n`);
      return EXIT_USAGE;
    }
    const facts = errorFacts(err);
    io.stderr.write(`${errorText(facts)}\n`);
    if (mode === 'json') io.stdout.write(`${JSON.stringify({ error: facts })}\n`);
    return EXIT_FAILED;
  }
}

/** The names of every switch (for docs and tests). */
export const SWITCH_NAMES: readonly string[] = COMMANDS.map((c) => c.name);
