/** Shapes shared by the harness, the scenarios and the report renderers. */

/** One tool's samples for one metric of one scenario, summarised. */
export interface Measurement {
  readonly tool: string;
  readonly metric: string;
  readonly unit: string;
  /** Which direction is better; used only for presentation. */
  readonly better: 'higher' | 'lower';
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
  readonly samples: readonly number[];
}

/** A target a ratio is checked against (printed, never asserted in tests). */
export interface Target {
  readonly op: '<=' | '>=' | '<';
  readonly value: number;
}

/** A ratio of medians (usually ours / peer) and whether it meets its target. */
export interface RatioRow {
  readonly label: string;
  readonly value: number;
  readonly target: Target | null;
  /** null when there is no target. */
  readonly met: boolean | null;
}

/** What a scenario module returns. */
export interface ScenarioOutcome {
  /** `not-available`: the adapter lacks the capability; the scenario did not run. */
  readonly status: 'ok' | 'not-available' | 'failed';
  readonly measurements: readonly Measurement[];
  readonly ratios: readonly RatioRow[];
  readonly notes: readonly string[];
}

/** Where and on what a result was produced. */
export interface RunMeta {
  readonly runId: string;
  readonly mode: 'quick' | 'full';
  readonly commit: string;
  readonly node: string;
  readonly oursLabel: string;
  readonly oursIsStandIn: boolean;
  readonly machine: {
    readonly cores: number;
    readonly cpuModel: string;
    readonly memoryGiB: number;
    readonly kernel: string;
  };
  readonly startedAt: string;
  /** First line of `--version` of each peer and nginx (older results may lack it). */
  readonly tools?: Readonly<Record<string, string>>;
}

/** One JSON file under bench/results/<runId>/<scenario>.json. */
export interface ScenarioResult extends ScenarioOutcome {
  readonly scenario: string;
  readonly title: string;
  readonly meta: RunMeta;
  readonly durationMs: number;
  /** 1-minute load average when the scenario started: a sign of other work on the machine. */
  readonly loadAverage?: number;
}
