import { OPENBITS_VERSION } from '../core/version.ts';
import { COMMANDS } from './commands/registry.ts';
import { GLOBAL_OPTIONS, optionFlags, VERBS } from './openbits/verbs.ts';

/** Text for roff: backslashes doubled, dashes as \-, a leading dot or quote escaped. */
export function roff(text: string): string {
  return text
    .replaceAll('\\', '\\e')
    .replaceAll('-', '\\-')
    .replace(/^([.'])/gmu, '\\&$1');
}

function page(name: string, section: string, body: string[]): string {
  const head = `.TH ${name.toUpperCase()} 1 "2026" "openbits ${OPENBITS_VERSION}" "${section}"`;
  return `${[head, ...body].join('\n')}\n`;
}

/** bitsadmin(1), from the switch table that `bitsadmin /help` prints. */
function bitsadminPage(): string {
  return page('bitsadmin', 'openbits', [
    '.SH NAME',
    'bitsadmin \\- manage openbits background transfer jobs with the switches of Windows bitsadmin',
    '.SH SYNOPSIS',
    `.B bitsadmin\n${roff('[/rawreturn] [/nologo] [--json] <switch> [arguments]')}`,
    '.SH DESCRIPTION',
    roff(
      'bitsadmin talks to bitsd, the openbits service, which it starts on demand. Switches are case-insensitive and work with /, - or -- or no prefix. <job> is a job GUID or a unique display name. The banner is printed only on a terminal and not with /nologo; /rawreturn prints bare values and --json one JSON document.',
    ),
    '.SH SWITCHES',
    ...COMMANDS.flatMap((c) => ['.TP', `.B ${roff(c.syntax)}`, roff(c.summary)]),
    '.SH EXIT STATUS',
    roff(
      '0 success; 1 a BITS call failed (stderr: ERROR: <name> (0x<HRESULT>) <message>); 2 a bad command line; 130 /transfer interrupted.',
    ),
    '.SH SEE ALSO',
    '.BR openbits (1)',
  ]);
}

/** openbits(1), from the verb table that `openbits --help` prints. */
function openbitsPage(): string {
  return page('openbits', 'openbits', [
    '.SH NAME',
    'openbits \\- background downloads that survive crashes, reboots and network loss',
    '.SH SYNOPSIS',
    `.B openbits\n${roff('VERB [arguments] [options]')}`,
    '.SH DESCRIPTION',
    roff(
      'openbits hands downloads to bitsd, the openbits service (started on demand), and follows them. JOB is a job id (a GUID or a unique prefix of it) or a unique job name.',
    ),
    '.SH VERBS',
    ...VERBS.flatMap((v) => [
      '.TP',
      `.B ${roff(`openbits ${v.name} ${v.args}`.trimEnd())}`,
      roff(v.summary),
      ...v.options.flatMap((o) => ['.RS', '.TP', `.B ${roff(optionFlags(o).trim())}`, roff(o.summary), '.RE']),
    ]),
    '.SH OPTIONS',
    ...GLOBAL_OPTIONS.flatMap((o) => ['.TP', `.B ${roff(optionFlags(o).trim())}`, roff(o.summary)]),
    '.SH SEE ALSO',
    '.BR bitsadmin (1)',
  ]);
}

/** The man pages the build writes to dist/man. */
export function manPages(): Array<{ file: string; text: string }> {
  return [
    { file: 'bitsadmin.1', text: bitsadminPage() },
    { file: 'openbits.1', text: openbitsPage() },
  ];
}
