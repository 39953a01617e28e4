import assert from 'node:assert/strict';
import { BitsError, type ErrorName } from '../../src/core/index.ts';

/** Assert that `fn` throws a BitsError named `name` (and, optionally, whose message matches). */
export function assertBitsError(fn: () => unknown, name: ErrorName, message?: RegExp): BitsError {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  assert.ok(thrown instanceof BitsError, `expected BitsError ${name}, got ${String(thrown)}`);
  assert.equal(thrown.name, name, `expected ${name}, got ${thrown.toString()}`);
  if (message !== undefined) assert.match(thrown.message, message);
  return thrown;
}
