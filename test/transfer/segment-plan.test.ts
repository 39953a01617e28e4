import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  compactLayout,
  durableBytes,
  initialSegments,
  layoutFits,
  pickSplit,
} from '../../src/transfer/segment-plan.ts';

const MiB = 1024 * 1024;

describe('segment plan (pure)', () => {
  test('initialSegments: at most N equal parts, none under the minimum split, tiling the file', () => {
    assert.deepEqual(initialSegments(8 * MiB, 4, MiB), [
      { start: 0, end: 2 * MiB, done: 0 },
      { start: 2 * MiB, end: 4 * MiB, done: 2 * MiB },
      { start: 4 * MiB, end: 6 * MiB, done: 4 * MiB },
      { start: 6 * MiB, end: 8 * MiB, done: 6 * MiB },
    ]);
    assert.equal(initialSegments(3 * MiB, 16, MiB).length, 3, 'the minimum split caps the parts');
    assert.deepEqual(initialSegments(MiB - 1, 4, MiB), [{ start: 0, end: MiB - 1, done: 0 }]);
    assert.deepEqual(initialSegments(0, 4, MiB), [{ start: 0, end: 0, done: 0 }]);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 40 }),
        fc.integer({ min: 1, max: 16 }),
        fc.integer({ min: 1, max: 2 ** 30 }),
        (size, n, min) => {
          const parts = initialSegments(size, n, min);
          assert.ok(layoutFits(parts, size));
          assert.ok(parts.length <= n);
          assert.equal(durableBytes(parts), 0);
          if (parts.length > 1)
            for (const p of parts) assert.ok(p.end - p.start >= min, `part ${p.start}-${p.end} < ${min}`);
        },
      ),
    );
  });

  test('layoutFits refuses gaps, overlaps, a done outside its part and the wrong size', () => {
    const ok = [
      { start: 0, end: 10, done: 10 },
      { start: 10, end: 20, done: 15 },
    ];
    assert.equal(layoutFits(ok, 20), true);
    assert.equal(layoutFits(ok, 21), false);
    assert.equal(layoutFits([], 0), false);
    assert.equal(layoutFits([{ start: 0, end: 10, done: 11 }], 10), false);
    assert.equal(
      layoutFits(
        [
          { start: 0, end: 10, done: 0 },
          { start: 11, end: 20, done: 11 },
        ],
        20,
      ),
      false,
    );
    assert.equal(
      layoutFits(
        [
          { start: 0, end: 10, done: 0 },
          { start: 9, end: 20, done: 9 },
        ],
        20,
      ),
      false,
    );
  });

  test('pickSplit takes the back half of the part with the most left, never below the minimum', () => {
    const parts = [
      { start: 0, end: 10 * MiB, pos: 9 * MiB },
      { start: 10 * MiB, end: 20 * MiB, pos: 12 * MiB },
      { start: 20 * MiB, end: 30 * MiB, pos: 30 * MiB },
    ];
    assert.deepEqual(pickSplit(parts, MiB), { index: 1, at: 16 * MiB });
    assert.equal(pickSplit(parts, 5 * MiB), null, 'halves of 4 MiB are under a 5 MiB minimum');
    assert.equal(pickSplit([], MiB), null);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 2 ** 32 }), fc.integer({ min: 0, max: 2 ** 32 })), {
          minLength: 1,
          maxLength: 20,
        }),
        fc.integer({ min: 1, max: 2 ** 28 }),
        (spans, min) => {
          let at = 0;
          const live = spans.map(([len, got]) => {
            const p = { start: at, end: at + len, pos: at + Math.min(got, len) };
            at += len;
            return p;
          });
          const split = pickSplit(live, min);
          if (split === null) return;
          const p = live[split.index];
          assert.ok(p !== undefined && split.at - p.pos >= min && p.end - split.at >= min);
        },
      ),
    );
  });

  test('compactLayout merges neighbouring finished parts and keeps the byte count', () => {
    const layout = [
      { start: 0, end: 10, done: 10 },
      { start: 10, end: 20, done: 20 },
      { start: 20, end: 30, done: 25 },
      { start: 30, end: 40, done: 40 },
      { start: 40, end: 50, done: 50 },
    ];
    const compact = compactLayout(layout);
    assert.deepEqual(compact, [
      { start: 0, end: 20, done: 20 },
      { start: 20, end: 30, done: 25 },
      { start: 30, end: 50, done: 50 },
    ]);
    assert.equal(durableBytes(compact), durableBytes(layout));
  });
});
