import { appendFileSync } from 'node:fs';
import { systemClock } from '../core/clock.ts';
import type { ManagerOptions } from '../service/manager-parts.ts';

/**
 * OPENBITS_YIELD_TRACE=PATH: every step of the yielding controller is appended to PATH as a JSON
 * line (wall time, priority, rate, queueing delay, own and others' rates over the reaction time
 * and over the last two steps, capacity, the interface-minus-own gap), so a benchmark can plot why the rate moved. Unset: nothing is written.
 */
export function yieldTraceOption(path: string | undefined): Pick<ManagerOptions, 'yieldTrace'> {
  if (path === undefined || path === '') return {};
  return {
    yieldTrace: (step) => appendFileSync(path, `${JSON.stringify({ wallMs: systemClock.wallMs(), ...step })}\n`),
  };
}
