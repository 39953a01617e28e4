/**
 * The `openbits` command's verbs and options as data: the parser, `--help`, the man page and
 * the shell completions are all generated from this one table.
 */

/** One option of a verb. */
export interface OptionSpec {
  /** Long name without dashes: `output`. */
  readonly long: string;
  readonly short?: string;
  /** A value's placeholder (`FILE`), or undefined for a flag. */
  readonly value?: string;
  readonly summary: string;
  /** The option may be given several times (its values are a list). */
  readonly multiple?: boolean;
  /** Completion of the value: files, folders, or fixed words. */
  readonly complete?: 'file' | 'dir' | readonly string[];
}

/** One verb. */
export interface VerbSpec {
  readonly name: string;
  /** `URL… [-o FILE | -P DIR]` */
  readonly args: string;
  readonly summary: string;
  readonly options: readonly OptionSpec[];
  /** Fixed words for the first argument (daemon start|stop…), for completion. */
  readonly words?: readonly string[];
}

const JSON_OPTION: OptionSpec = { long: 'json', summary: 'print JSON instead of text' };

export const VERBS: readonly VerbSpec[] = [
  {
    name: 'get',
    args: 'URL… [-o FILE | -P DIR]',
    summary:
      'download URLs into the current folder (or FILE / DIR), with a progress bar; --detach to leave it in the background',
    options: [
      {
        long: 'output',
        short: 'o',
        value: 'FILE',
        summary: 'save the (one) URL as FILE, relative to the current folder',
        complete: 'file',
      },
      {
        long: 'directory-prefix',
        short: 'P',
        value: 'DIR',
        summary: 'save into DIR instead of the current folder',
        complete: 'dir',
      },
      {
        long: 'content-disposition',
        short: 'J',
        summary: "name the file as the server's Content-Disposition says (asks the server first)",
      },
      {
        long: 'detach',
        short: 'd',
        summary: 'start the job and return; bitsd finishes it (and publishes the files) on its own',
      },
      {
        long: 'priority',
        value: 'PRIORITY',
        summary: 'FOREGROUND (default in the foreground), HIGH, NORMAL (default with --detach) or LOW',
        complete: ['foreground', 'high', 'normal', 'low'],
      },
      { long: 'name', value: 'NAME', summary: 'the job name (default: the first file name)' },
      {
        long: 'checksum',
        value: 'ALG=HEX',
        multiple: true,
        summary: 'check the (one) file against this digest (sha-256, sha-512, sha-1, md5) before it counts as done',
      },
      {
        long: 'metalink',
        value: 'FILE',
        summary: 'get the files a Metalink (.meta4, .metalink) names, with their mirrors and digests, into -P DIR',
        complete: 'file',
      },
      {
        long: 'mirror',
        value: 'URL',
        multiple: true,
        summary: 'another URL of the (one) file, tried after it; repeat for more',
      },
      {
        long: 'connections',
        short: 'x',
        value: 'N',
        summary: 'fetch each file over up to N connections (1-16) when the server serves ranges',
      },
      { long: 'private', summary: 'publish the files with mode 0600 instead of following the umask' },
      { long: 'quiet', short: 'q', summary: 'no progress, only errors' },
    ],
  },
  { name: 'ls', args: '', summary: 'list your jobs, one line each', options: [JSON_OPTION] },
  { name: 'info', args: 'JOB', summary: "show a job's properties and files", options: [JSON_OPTION] },
  {
    name: 'watch',
    args: '[JOB…]',
    summary: 'follow jobs live, one line per job, until Ctrl-C (or until the named jobs finish)',
    options: [],
  },
  { name: 'cancel', args: 'JOB', summary: 'cancel a job and delete its temporary files', options: [] },
  { name: 'complete', args: 'JOB', summary: "publish a transferred job's files", options: [] },
  { name: 'suspend', args: 'JOB', summary: 'pause a job', options: [] },
  { name: 'resume', args: 'JOB', summary: 'queue a job again', options: [] },
  {
    name: 'daemon',
    args: 'start|stop|status|logs|unit',
    summary: 'control bitsd: start it, stop it, show its status, print its log, print its systemd unit',
    options: [{ long: 'lines', short: 'n', value: 'N', summary: 'logs: the last N lines (default 50)' }],
    words: ['start', 'stop', 'status', 'logs', 'unit'],
  },
  {
    name: 'dashboard',
    args: '',
    summary:
      "print the web dashboard's address with your token (bitsd serves it with dashboard.listen); otherwise serve it here through bitsd's socket until Ctrl-C",
    options: [],
  },
  {
    name: 'completion',
    args: 'bash|zsh|fish',
    summary: 'print a shell completion script',
    options: [],
    words: ['bash', 'zsh', 'fish'],
  },
  { name: 'help', args: '[VERB]', summary: 'show help', options: [] },
];

/** Options every verb takes. */
export const GLOBAL_OPTIONS: readonly OptionSpec[] = [
  { long: 'help', short: 'h', summary: 'show help' },
  { long: 'version', summary: 'print the version' },
  { long: 'system', summary: 'use the system bitsd (bitsd --system) instead of your own (also OPENBITS_SYSTEM=1)' },
];

/** `-o, --output=FILE` */
export function optionFlags(o: OptionSpec): string {
  const long = `--${o.long}${o.value === undefined ? '' : `=${o.value}`}`;
  return o.short === undefined ? `    ${long}` : `-${o.short}, ${long}`;
}

/** The verb a name names. */
export function findVerb(name: string): VerbSpec | undefined {
  return VERBS.find((v) => v.name === name);
}

/** `openbits --help` or `openbits VERB --help`. */
export function helpText(verb?: VerbSpec): string {
  if (verb !== undefined) {
    const opts = [...verb.options, ...GLOBAL_OPTIONS];
    const width = Math.max(...opts.map((o) => optionFlags(o).length));
    return [
      `Usage: openbits ${verb.name}${verb.args === '' ? '' : ` ${verb.args}`} [options]`,
      '',
      `${verb.summary[0]?.toUpperCase()}${verb.summary.slice(1)}.`,
      '',
      'Options:',
      ...opts.map((o) => `  ${optionFlags(o).padEnd(width)}  ${o.summary}`),
    ].join('\n');
  }
  const width = Math.max(...VERBS.map((v) => `${v.name} ${v.args}`.length));
  return [
    'Usage: openbits VERB [arguments] [options]',
    '',
    'Background downloads that survive crashes, reboots and network loss (the openbits service).',
    '',
    'Verbs:',
    ...VERBS.map((v) => `  ${`${v.name} ${v.args}`.trimEnd().padEnd(width)}  ${v.summary}`),
    '',
    'JOB is a job id (a GUID, or its first 8 hex digits) or a unique job name.',
    'Run `openbits VERB --help` for the options of a verb. bitsadmin offers the Windows switches.',
  ].join('\n');
}
