import { BitsError } from './bits-error.ts';
import { INTEGER_RANGES, inIntegerRange } from './limits.ts';

/**
 * Network cost (bits-client.md §9.3): the BITS_COST_STATE_* bits, one of which describes the
 * network in use now, and a job's cost flags, the set of states it may transfer on
 * (BITS_JOB_PROPERTY_ID_COST_FLAGS, Set-BitsTransfer -TransferPolicy).
 */
export const COST_STATES = {
  unrestricted: 0x1,
  capped: 0x2,
  belowCap: 0x4,
  nearCap: 0x8,
  overCapCharged: 0x10,
  overCapThrottled: 0x20,
  usageBased: 0x40,
  roaming: 0x80,
} as const;
export type CostStateName = keyof typeof COST_STATES;

/** BITS_COST_OPTION_IGNORE_CONGESTION: part of every composite policy. */
export const COST_OPTION_IGNORE_CONGESTION = 0x80000000;

/** The BITS_JOB_TRANSFER_POLICY composites, by their PowerShell -TransferPolicy names. */
export const TRANSFER_POLICIES = {
  always: 0x800000ff,
  notRoaming: 0x8000007f,
  noSurcharge: 0x8000006f,
  standard: 0x80000067,
  /** PowerShell's PolicyUnrestricted (its `Unrestricted` is the single cost state 0x1). */
  policyUnrestricted: 0x80000021,
} as const;
export type TransferPolicyName = keyof typeof TRANSFER_POLICIES;

/** Every bit a cost-flags value may have (the states, RESERVED, IGNORE_CONGESTION). */
const KNOWN_BITS = 0xff | 0x40000000 | COST_OPTION_IGNORE_CONGESTION;

/** Whether a job with `flags` may transfer on a network in cost `state` (one COST_STATES bit). */
export function costAllows(flags: number, state: number): boolean {
  return (flags & state) !== 0;
}

/** A cost-flags value: a number within the known bits (not 0), as BITS validates it. */
export function validateCostFlags(value: unknown): number {
  if (!inIntegerRange(value, INTEGER_RANGES.costFlags)) {
    throw new BitsError(
      'E_INVALIDARG',
      `cost flags must be a 32-bit mask of BITS_COST_STATE_* bits, got ${String(value)}`,
    );
  }
  if (((value as number) & ~KNOWN_BITS) >>> 0 !== 0 || ((value as number) & 0xff) === 0) {
    throw new BitsError(
      'E_INVALIDARG',
      `cost flags 0x${(value as number).toString(16)} name no cost state (bits 0x1-0x80) or unknown bits`,
    );
  }
  return value as number;
}

const NAMES = new Map<string, number>(
  [...Object.entries(TRANSFER_POLICIES), ...Object.entries(COST_STATES)].map(([k, v]) => [k.toLowerCase(), v]),
);

/**
 * Parse a transfer policy as Set-BitsTransfer -TransferPolicy takes it: a composite (`Always`,
 * `NotRoaming`, `NoSurcharge`, `Standard`, `PolicyUnrestricted`), cost-state names joined by
 * commas (`Unrestricted,BelowCap`), `IgnoreCongestion`, or a number (`0x80000021`).
 */
export function parseTransferPolicy(text: string): number {
  const t = text.trim();
  if (/^(0x[0-9a-f]+|\d+)$/iu.test(t)) return validateCostFlags(Number(t));
  let flags = 0;
  for (const part of t.split(/[,|+]/u).map((p) => p.trim().toLowerCase())) {
    if (part === 'ignorecongestion') {
      flags = (flags | COST_OPTION_IGNORE_CONGESTION) >>> 0;
      continue;
    }
    const v = NAMES.get(part);
    if (v === undefined) {
      throw new BitsError(
        'E_INVALIDARG',
        `not a transfer policy: ${JSON.stringify(part)} (use Always, NotRoaming, NoSurcharge, Standard, PolicyUnrestricted, cost-state names such as Unrestricted,BelowCap, or a number)`,
      );
    }
    flags = (flags | v) >>> 0;
  }
  return validateCostFlags(flags);
}

/** A cost-flags value as its composite name when it is one, else its state names; with the hex. */
export function formatTransferPolicy(flags: number): string {
  const hex = `0x${flags.toString(16).padStart(8, '0')}`;
  const composite = Object.entries(TRANSFER_POLICIES).find(([, v]) => v === flags);
  if (composite !== undefined) return `${composite[0]} (${hex})`;
  const names = Object.entries(COST_STATES)
    .filter(([, v]) => (flags & v) !== 0)
    .map(([k]) => k);
  if ((flags & COST_OPTION_IGNORE_CONGESTION) !== 0) names.push('ignoreCongestion');
  return `${names.join(',')} (${hex})`;
}

/** The name of a network cost state (one bit). */
export function costStateName(state: number): CostStateName | undefined {
  return (Object.entries(COST_STATES) as Array<[CostStateName, number]>).find(([, v]) => v === state)?.[0];
}
