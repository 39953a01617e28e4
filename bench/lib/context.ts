import type { OursAdapter } from '../adapters/ours.ts';
import type { Corpus, ServedFile } from './files.ts';
import type { Nginx } from './nginx.ts';
import type { ScenarioOutcome } from './types.ts';
import type { Workspace } from './workspace.ts';

/** Everything a scenario needs; built once by bench/run.ts. */
export interface BenchContext {
  readonly quick: boolean;
  /** Runs per tool (each scenario alternates tools A B A B …). */
  readonly runs: number;
  readonly corpus: Corpus;
  readonly nginx: Nginx;
  readonly ws: Workspace;
  readonly ours: OursAdapter;
  /** CPU list for clients (`taskset -c`); nginx runs on CPU 0. */
  readonly clientCpu: string;
  /** The nginx URL of a served file. */
  url(file: ServedFile): string;
  /** Whether a peer binary is installed. */
  has(bin: string): boolean;
  log(line: string): void;
}

/** A scenario module: S0 … S9. */
export interface Scenario {
  readonly id: string;
  readonly title: string;
  run(ctx: BenchContext): Promise<ScenarioOutcome>;
}

/** The outcome of a scenario the adapter cannot run yet (reported, not a failure). */
export function notAvailable(reason: string): ScenarioOutcome {
  return { status: 'not-available', measurements: [], ratios: [], notes: [reason] };
}

/**
 * Run `tools` alternately (A B A B …) for `runs` rounds, calling `once(tool, round)`. A tool that
 * throws is dropped from later rounds and its error becomes a note; the others go on.
 */
export async function alternate<T extends { readonly tool: string }>(
  runs: number,
  tools: readonly T[],
  once: (tool: T, round: number) => Promise<void>,
  notes: string[],
  log: (line: string) => void,
): Promise<void> {
  const failed = new Set<string>();
  for (let round = 0; round < runs; round++) {
    for (const tool of tools) {
      if (failed.has(tool.tool)) continue;
      try {
        await once(tool, round);
      } catch (error) {
        failed.add(tool.tool);
        const message = error instanceof Error ? error.message : String(error);
        notes.push(`${tool.tool} failed in run ${round + 1} and was dropped: ${message.slice(0, 300)}`);
        log(`  ${tool.tool} failed: ${message.slice(0, 300)}`);
      }
    }
  }
}

/** Push `value` onto the list kept for `key`. */
export function push(map: Map<string, number[]>, key: string, value: number): void {
  const list = map.get(key) ?? [];
  list.push(value);
  map.set(key, list);
}
