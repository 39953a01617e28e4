/**
 * The bitsadmin command lines of the CLI scenarios (S11–S14), built exactly as a user types
 * them, and the command that stands for `bitsadmin`: by default `node bin/bitsadmin.js` with the
 * Node that runs the suite (Node 24 from node_modules/.bin under `npm run bench`), or whatever
 * `OPENBITS_BENCH_CLI` says, e.g. `OPENBITS_BENCH_CLI=bitsadmin` for an installed one. Pure.
 */

/** One pair of a transfer: remote URL and local path. */
export interface CliPair {
  readonly url: string;
  readonly dest: string;
}

/**
 * The `bitsadmin` command prefix: `OPENBITS_BENCH_CLI` split on white space when it is set (no
 * shell quoting: paths with spaces are not supported), else `fallback`.
 */
export function cliCommand(value: string | undefined, fallback: readonly string[]): string[] {
  const words = (value ?? '').trim().split(/\s+/u).filter(Boolean);
  return words.length > 0 ? words : [...fallback];
}

/** `/transfer NAME [/priority P] URL PATH [URL PATH …]` (a download: the default type). */
export function transferArgs(name: string, pairs: readonly CliPair[], priority?: string): string[] {
  if (pairs.length === 0) throw new Error('a transfer needs at least one pair');
  return [
    '/transfer',
    name,
    ...(priority === undefined ? [] : ['/priority', priority]),
    ...pairs.flatMap((p) => [p.url, p.dest]),
  ];
}

/** The text of an `/addfileset` list: one `remote local` line per pair. */
export function fileSetText(pairs: readonly CliPair[]): string {
  for (const p of pairs) {
    if (/\s/u.test(p.url) || /\s/u.test(p.dest)) throw new Error(`a file set line cannot hold white space: ${p.dest}`);
  }
  return pairs.map((p) => `${p.url} ${p.dest}\n`).join('');
}

/** The text of a `wget -i` list: one URL per line. */
export function urlListText(urls: readonly string[]): string {
  return urls.map((u) => `${u}\n`).join('');
}

/** A command line as a user would type it in a shell (for notes): words with spaces are quoted. */
export function shellLine(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./{}-]+$/u.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`)).join(' ');
}

/** `bitsadmin /rawreturn /create NAME` prints the bare GUID; the braces are kept. Throws on anything else. */
export function parseCreatedJob(stdout: string): string {
  const m = /^\s*(\{[0-9A-Fa-f-]{36}\})\s*$/u.exec(stdout);
  if (!m) throw new Error(`/rawreturn /create printed no job GUID: ${JSON.stringify(stdout.slice(0, 200))}`);
  return m[1] as string;
}

/** A shortened command line for notes: the first `keep` arguments, then how many more. */
export function abbreviate(argv: readonly string[], keep: number): string {
  if (argv.length <= keep) return shellLine(argv);
  return `${shellLine(argv.slice(0, keep))} … (${argv.length - keep} more arguments)`;
}
