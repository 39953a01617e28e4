import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBenchArgs } from '../../bench/lib/args.ts';
import { measurement, medianOf, meets, ratioRow } from '../../bench/lib/ratio.ts';
import { coefficientOfVariation, median, summarize } from '../../bench/lib/stats.ts';

test('median of odd and even sample sets, unsorted input', () => {
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([7]), 7);
  assert.throws(() => median([]), /empty/);
});

test('summarize gives median, min, max and n without reordering the input', () => {
  const samples = [3, 9, 1, 4];
  assert.deepEqual(summarize(samples), { median: 3.5, min: 1, max: 9, n: 4 });
  assert.deepEqual(samples, [3, 9, 1, 4]);
});

test('coefficient of variation', () => {
  assert.equal(coefficientOfVariation([2, 2, 2]), 0);
  assert.equal(coefficientOfVariation([1, 3]), 0.5);
  assert.equal(coefficientOfVariation([]), 0);
});

test('ratio rows check their target; NaN never meets one', () => {
  assert.equal(meets(1.1, { op: '<=', value: 1.1 }), true);
  assert.equal(meets(1.11, { op: '<=', value: 1.1 }), false);
  assert.equal(meets(150, { op: '<', value: 150 }), false);
  assert.equal(meets(0.9, { op: '>=', value: 0.9 }), true);
  assert.equal(meets(Number.NaN, { op: '>=', value: 0 }), false);
  assert.equal(ratioRow('x', 2).met, null);
  assert.equal(ratioRow('x', 2, { op: '>=', value: 1 }).met, true);
});

test('measurement summarises samples; medianOf finds a tool and metric or gives NaN', () => {
  const rows = [measurement('ours', 'time', 's', 'lower', [2, 1, 3]), measurement('curl', 'time', 's', 'lower', [1])];
  assert.equal(rows[0]?.median, 2);
  assert.equal(rows[0]?.min, 1);
  assert.equal(rows[0]?.max, 3);
  assert.equal(medianOf(rows, 'curl', 'time'), 1);
  assert.ok(Number.isNaN(medianOf(rows, 'wget', 'time')));
});

test('bench arguments: defaults, --quick, --only, --runs and bad input', () => {
  assert.deepEqual(parseBenchArgs([]), {
    quick: false,
    only: null,
    runs: 5,
    noInstall: false,
    keep: false,
    reportOnly: false,
  });
  assert.equal(parseBenchArgs(['--quick']).runs, 3);
  assert.deepEqual(parseBenchArgs(['--only', 's1, S6']).only, ['S1', 'S6']);
  assert.equal(parseBenchArgs(['--runs', '7', '--quick']).runs, 7);
  assert.throws(() => parseBenchArgs(['--runs', '0']), /positive integer/);
  assert.deepEqual(parseBenchArgs(['--only', 's12,S14']).only, ['S12', 'S14']);
  assert.throws(() => parseBenchArgs(['--only', 'S100']), /ids like/);
  assert.throws(() => parseBenchArgs(['--only', 'C1']), /ids like/);
  assert.throws(() => parseBenchArgs(['--fast']), /Unknown option/);
});
