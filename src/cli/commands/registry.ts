import type { Command } from '../command.ts';
import { BITSADMIN_VERSION, OPENBITS_VERSION } from '../version.ts';
import { jobActionCommands } from './job-actions.ts';
import { jobGetterCommands } from './job-getters.ts';
import { jobSetterCommands } from './job-setters.ts';
import { mirrorCommands } from './mirrors.ts';
import { monitorCommand } from './monitor.ts';
import { queueCommands } from './queue.ts';
import { transferCommand } from './transfer.ts';
import { UNSUPPORTED_ALIASES, UNSUPPORTED_COMMANDS } from './unsupported.ts';
import { utilCommand } from './util.ts';

const GLOBAL_SYNTAX = 'bitsadmin [/rawreturn] [/nologo] [--json] <switch> [arguments]';

const EXAMPLES = `Download a file and wait for it:
  bitsadmin /transfer myDownloadJob /download /priority normal https://example.org/10mb.zip /tmp/10mb.zip

The same, step by step:
  bitsadmin /create myDownloadJob
  bitsadmin /addfile myDownloadJob https://example.org/10mb.zip /tmp/10mb.zip
  bitsadmin /resume myDownloadJob
  bitsadmin /info myDownloadJob /verbose
  bitsadmin /complete myDownloadJob      (once the state is TRANSFERRED)

Watch the queue:
  bitsadmin /list
  bitsadmin /monitor /refresh 2

Scripting: bare values or JSON:
  state=$(bitsadmin /rawreturn /getstate myDownloadJob)
  bitsadmin --json /info myDownloadJob

Beyond BITS: cap a job's bandwidth:
  bitsadmin /setmaxbandwidth myDownloadJob 512k

Beyond BITS: four connections per file, and a mirror to fail over to:
  bitsadmin /setmaxconnections myDownloadJob 4
  bitsadmin /setmirrors myDownloadJob 0 https://mirror.example.net/10mb.zip

If several jobs share a display name, name the job by its GUID: {C775D194-090F-431F-B5FB-8334D00D1CB6}.`;

/** Every switch's syntax line, aligned, for /help. */
function helpText(commands: readonly Command[]): string {
  const lines = commands.map((c) => `  ${c.syntax}\n      ${c.summary}`);
  return [
    `Usage: ${GLOBAL_SYNTAX}`,
    '',
    'Switches are case-insensitive and work with or without the slash (create = /create).',
    '<job> is a job GUID ({…} or bare) or a unique display name.',
    '/rawreturn prints bare values; --json prints one JSON document; /nologo (or a pipe) drops the banner.',
    '-h, --help and --version work as on any Linux command; `openbits` has GNU-style verbs.',
    '',
    ...lines,
    '',
    `Not supported (E_NOTIMPL): ${UNSUPPORTED_COMMANDS.map((c) => `/${c.name}`).join(', ')}.`,
  ].join('\n');
}

const helpCommand: Command = {
  name: 'help',
  syntax: '/help [<switch>]  (also /?)',
  summary: 'List the switches, or show the usage of one',
  async run(ctx) {
    const name = ctx.args[0];
    if (name !== undefined) {
      const cmd = findCommand(name);
      if (cmd !== undefined) {
        const text = `Usage: bitsadmin ${cmd.syntax}\n  ${cmd.summary}`;
        return { text, raw: text, json: { name: cmd.name, syntax: cmd.syntax, summary: cmd.summary } };
      }
    }
    const text = helpText(COMMANDS);
    return { text, raw: text, json: COMMANDS.map((c) => ({ name: c.name, syntax: c.syntax, summary: c.summary })) };
  },
};

const examplesCommand: Command = {
  name: 'examples',
  syntax: '/examples',
  summary: 'Show examples',
  async run() {
    return { text: EXAMPLES, raw: EXAMPLES, json: { examples: EXAMPLES } };
  },
};

/** Every switch, in the order /help lists them. */
export const COMMANDS: readonly Command[] = [
  ...queueCommands,
  transferCommand,
  monitorCommand,
  ...jobActionCommands,
  ...jobGetterCommands,
  ...jobSetterCommands,
  ...mirrorCommands,
  utilCommand,
  helpCommand,
  examplesCommand,
];

/** `bitsadmin --version`: GNU style, one line. */
const versionCommand: Command = {
  name: 'version',
  syntax: '--version',
  summary: 'Print the version',
  async run() {
    const text = `bitsadmin (openbits) ${OPENBITS_VERSION}`;
    return { text, raw: OPENBITS_VERSION, json: { bitsadmin: BITSADMIN_VERSION, openbits: OPENBITS_VERSION } };
  },
};

const BY_NAME: ReadonlyMap<string, Command> = new Map([
  ...[...COMMANDS, ...UNSUPPORTED_COMMANDS].map((c) => [c.name, c] as const),
  ['?', helpCommand],
  ['h', helpCommand],
  ['version', versionCommand],
  ...UNSUPPORTED_ALIASES,
]);

/** `/AddFile`, `addfile`, `-addfile`, `--addfile` → the addfile switch. */
export function switchName(token: string): string {
  return token.toLowerCase().replace(/^(--|-|\/)/u, '');
}

/** The switch a token names, or undefined. */
export function findCommand(token: string): Command | undefined {
  return BY_NAME.get(switchName(token));
}

/** `Usage: bitsadmin /addfile <job> <remoteURL> <localname>` or the global usage. */
export function usageText(command: string | null): string {
  const cmd = command === null ? undefined : findCommand(command);
  if (cmd === undefined) return `Usage: ${GLOBAL_SYNTAX}\nRun bitsadmin /help for the list of switches.`;
  return `Usage: bitsadmin ${cmd.syntax}`;
}
