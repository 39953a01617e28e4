import { parseArgs } from 'node:util';

/** Command-line options of bench/run.ts. */
export interface BenchArgs {
  readonly quick: boolean;
  /** Upper-case scenario ids, or null for all. */
  readonly only: readonly string[] | null;
  readonly runs: number;
  /** Skip apt-get (use what is installed). */
  readonly noInstall: boolean;
  /** Leave the tmpfs mounted after the run. */
  readonly keep: boolean;
  /** Only regenerate docs/benchmarks.md from bench/results. */
  readonly reportOnly: boolean;
}

/** Parse `argv` (without node and script). Throws with a usage hint on bad input. Pure. */
export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      runs: { type: 'string' },
      'no-install': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      'report-only': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const quick = values.quick ?? false;
  const runs = values.runs === undefined ? (quick ? 3 : 5) : Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${values.runs}`);
  const only = values.only
    ? values.only
        .split(',')
        .map((s) => s.trim().toUpperCase())
        .filter(Boolean)
    : null;
  if (only) {
    for (const id of only)
      if (!/^S\d{1,2}[A-Z]?$/.test(id)) throw new Error(`--only takes ids like S1,S6,S16F; got ${id}`);
  }
  return {
    quick,
    only,
    runs,
    noInstall: values['no-install'] ?? false,
    keep: values.keep ?? false,
    reportOnly: values['report-only'] ?? false,
  };
}
