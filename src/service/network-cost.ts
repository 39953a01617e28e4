import {
  type Clock,
  COST_STATES,
  costAllows,
  costStateName,
  formatTransferPolicy,
  type Job,
  type TimerHandle,
  TRANSFER_POLICIES,
} from '../core/index.ts';
import { getProperty, systemBusAddress } from './dbus-client.ts';

/** `cost` in the policy file (docs/scheduling.md "Network cost"). */
export interface CostPolicy {
  /** The current network's cost state, set by hand (a COST_STATES bit); null: ask NetworkManager. */
  readonly state: number | null;
  /** Cost flags of jobs that set none, by priority (BITS group policy CostedNetworkBehavior…Priority). */
  readonly backgroundFlags: number;
  readonly foregroundFlags: number;
}

export const DEFAULT_COST_POLICY: CostPolicy = {
  state: null,
  backgroundFlags: TRANSFER_POLICIES.always,
  foregroundFlags: TRANSFER_POLICIES.always,
};

/** The cost flags that apply to `job` now: its own, else the policy's default for its priority. */
export function effectiveCostFlags(job: Job, policy: CostPolicy): number {
  if (job.costFlags !== null) return job.costFlags;
  return job.priority === 'FOREGROUND' ? policy.foregroundFlags : policy.backgroundFlags;
}

/** What the network costs now, and who says so. */
export interface CostReading {
  /** One COST_STATES bit. */
  readonly state: number;
  readonly source: 'policy' | 'NetworkManager' | 'unknown';
  /** Said in the log and in a blocked job's error, e.g. `capped (NetworkManager Metered=yes)`. */
  readonly detail: string;
}

/** NM_METERED_*: yes and guess-yes are metered; no, guess-no and unknown are not. */
const METERED = ['unknown', 'yes', 'no', 'guess-yes', 'guess-no'] as const;

/**
 * NetworkManager's `Metered` as a BITS cost state. NetworkManager knows a connection is metered
 * (a mobile plan, a phone's hotspot), not how much of the plan is used: BITS's "capped, usage
 * unknown". Anything else is "unrestricted" (BITS: unknown or unlimited). Pure.
 */
export function costOfMetered(metered: number): CostReading {
  const name = METERED[metered] ?? `${metered}`;
  const state = metered === 1 || metered === 3 ? COST_STATES.capped : COST_STATES.unrestricted;
  return { state, source: 'NetworkManager', detail: `${costStateName(state)} (NetworkManager Metered=${name})` };
}

export interface CostLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** Reads NetworkManager's `Metered` (NM_METERED_*); rejects when NetworkManager or the bus is not there. */
export type MeteredReader = () => Promise<number>;

/** NetworkManager over the system D-Bus (DBUS_SYSTEM_BUS_ADDRESS, else the well-known socket). */
export function networkManagerMetered(clock: Clock, address = systemBusAddress()): MeteredReader {
  return async () => {
    const value = await getProperty(
      address,
      {
        destination: 'org.freedesktop.NetworkManager',
        path: '/org/freedesktop/NetworkManager',
        interface: 'org.freedesktop.NetworkManager',
        property: 'Metered',
      },
      clock,
    );
    if (typeof value !== 'number') throw new Error(`Metered is not a number: ${JSON.stringify(value)}`);
    return value;
  };
}

const POLL_MS = 5000;

/**
 * The current network cost (issue 15): the policy's `cost.state` when set, else NetworkManager's
 * `Metered` over the system D-Bus, read every 5 s on the injected clock. Without NetworkManager
 * (no bus, no service) the cost is unknown: BITS treats unknown as unrestricted, and the log and
 * `current().detail` say so. Every change of state or source is logged and told to listeners.
 */
export class NetworkCost {
  readonly #clock: Clock;
  readonly #read: MeteredReader;
  readonly #logger: CostLogger;
  #policy: CostPolicy;
  #reading: CostReading;
  #timer: TimerHandle | null = null;
  #closed = false;
  /** Whether a reading was taken yet (the first one is always logged). */
  #known = false;
  readonly #listeners = new Set<(reading: CostReading) => void>();

  constructor(options: { clock: Clock; policy: CostPolicy; read: MeteredReader; logger: CostLogger }) {
    this.#clock = options.clock;
    this.#read = options.read;
    this.#logger = options.logger;
    this.#policy = options.policy;
    this.#reading = { state: COST_STATES.unrestricted, source: 'unknown', detail: 'not read yet' };
  }

  /** Read the cost once (before jobs are scheduled), then keep polling. */
  async start(): Promise<void> {
    await this.#refresh();
    this.#arm();
  }

  current(): CostReading {
    return this.#reading;
  }

  get policy(): CostPolicy {
    return this.#policy;
  }

  setPolicy(policy: CostPolicy): void {
    const before = this.#policy;
    this.#policy = policy;
    if (before.state !== policy.state) void this.#refresh();
    else if (before.backgroundFlags !== policy.backgroundFlags || before.foregroundFlags !== policy.foregroundFlags) {
      // Jobs without flags of their own follow the new defaults: re-judge them.
      for (const l of this.#listeners) l(this.#reading);
    }
  }

  /** Why `job` may not transfer now, or null when it may. */
  blocks(job: Job): string | null {
    const flags = effectiveCostFlags(job, this.#policy);
    if (costAllows(flags, this.#reading.state)) return null;
    const whose = job.costFlags === null ? 'the policy default for its priority' : 'its transfer policy';
    return `the network is ${this.#reading.detail}; the job may transfer on ${formatTransferPolicy(flags)} (${whose})`;
  }

  onChange(listener: (reading: CostReading) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close(): void {
    this.#closed = true;
    this.#timer?.cancel();
    this.#listeners.clear();
  }

  #arm(): void {
    if (this.#closed) return;
    this.#timer = this.#clock.setTimer(POLL_MS, () => {
      void this.#refresh().finally(() => this.#arm());
    });
  }

  /** Read the cost again: at once when the policy sets it, else from NetworkManager. */
  async #refresh(): Promise<void> {
    const forced = this.#policy.state;
    if (forced !== null) {
      this.#apply({ state: forced, source: 'policy', detail: `${costStateName(forced)} (policy cost.state)` });
      return;
    }
    let next: CostReading;
    try {
      next = costOfMetered(await this.#read());
    } catch (err) {
      next = {
        state: COST_STATES.unrestricted,
        source: 'unknown',
        detail: `unknown, taken as unrestricted (no NetworkManager on the system D-Bus: ${(err as Error).message})`,
      };
    }
    // The policy may have set the cost by hand meanwhile.
    if (this.#policy.state === null) this.#apply(next);
  }

  #apply(next: CostReading): void {
    if (this.#closed) return;
    const before = this.#reading;
    this.#reading = next;
    const first = !this.#known;
    this.#known = true;
    if (!first && before.state === next.state && before.source === next.source) return;
    const log = next.source === 'unknown' ? this.#logger.warn : this.#logger.info;
    log.call(this.#logger, { cost: costStateName(next.state), source: next.source }, `network cost: ${next.detail}`);
    if (before.state !== next.state) for (const l of this.#listeners) l(next);
  }
}
