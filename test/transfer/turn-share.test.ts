import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { AHEAD_LIMIT, type ShareSlot, shareStarted, sharing, TURN_QUOTA } from '../../src/transfer/turn-share.ts';

const KiB = 1024;
const READ = 64 * KiB;

/**
 * A body whose socket holds more than it may take: each turn it reads until the share says
 * pause, then waits for the turn `nextTurn` gives it back (as plain-http.ts and
 * dispatch-response.ts do). Returns what it read in this turn.
 */
function greedyReader(slot: ShareSlot) {
  let paused = false;
  return {
    turn(): number {
      if (paused) return 0;
      let got = 0;
      for (;;) {
        got += READ;
        if (slot.counted(READ)) {
          paused = true;
          slot.nextTurn(() => {
            paused = false;
          });
          return got;
        }
      }
    },
  };
}

describe('fair share: bytes counted across turns (turn-share.ts)', () => {
  test('a body whose socket holds more runs at most AHEAD_LIMIT (plus a turn) ahead of a slower one still reading, then at its pace', async () => {
    const fast = shareStarted();
    const slow = shareStarted();
    assert.ok(sharing());
    const reader = greedyReader(fast);
    const fastPerTurn: number[] = [];
    try {
      for (let t = 0; t < 60; t++) {
        fastPerTurn.push(reader.turn());
        // The slow one brings one read a turn (a small receive window) and is never held back.
        assert.equal(slow.counted(READ), false, `turn ${t}: the slowest body is never paused`);
        assert.ok(
          fast.served - slow.served <= AHEAD_LIMIT + TURN_QUOTA,
          `turn ${t}: ${fast.served - slow.served} bytes ahead`,
        );
        await nextTurn();
      }
    } finally {
      fast.end();
      slow.end();
    }
    // Past its lead it takes what the slow one takes (one read a turn, or none): without the byte
    // count it would have taken a whole quota every turn, 60 MiB against the slow one's 3.75.
    assert.ok(
      fastPerTurn.slice(10).every((n) => n <= 2 * READ),
      `per turn: ${fastPerTurn.join(' ')}`,
    );
    assert.ok(fast.served <= 60 * READ + AHEAD_LIMIT + TURN_QUOTA);
    assert.equal(sharing(), false);
  });

  test('a body that stopped reading does not hold the others back, and comes back with no more than AHEAD_LIMIT of credit', async () => {
    const a = shareStarted();
    const b = shareStarted();
    const reader = greedyReader(a);
    try {
      assert.equal(b.counted(READ), false);
      // b waits (its disk, its limiter) for ten turns: a reads a whole quota in each of them.
      const alone: number[] = [];
      for (let t = 0; t < 10; t++) {
        alone.push(reader.turn());
        await nextTurn();
      }
      assert.deepEqual(alone.slice(2), Array(8).fill(TURN_QUOTA), `a per turn: ${alone.join(' ')}`);
      // b reads again: it is lifted to AHEAD_LIMIT behind a, not left 10 MiB behind.
      b.counted(READ);
      assert.ok(a.served - b.served <= AHEAD_LIMIT, `${a.served - b.served} bytes between them`);
      // So a, now up to AHEAD_LIMIT ahead, sits out only until b took that much (a few turns).
      let back = -1;
      for (let t = 0; t < 10 && back < 0; t++) {
        await nextTurn();
        if (reader.turn() > 0) back = t;
        b.counted(TURN_QUOTA - READ);
      }
      assert.ok(back >= 0 && back <= 3, `a read again after ${back} turns`);
    } finally {
      a.end();
      b.end();
    }
  });

  test('a body that starts beside others starts where the slowest of them stands; alone, nothing pauses', () => {
    const first = shareStarted();
    try {
      assert.equal(sharing(), false);
      // Alone: counted, never paused, however much in one turn.
      for (let i = 0; i < 64; i++) assert.equal(first.counted(READ), false);
      assert.equal(first.served, 64 * READ);
      const second = shareStarted();
      try {
        assert.ok(sharing());
        assert.equal(second.served, first.served, 'no catching up on bytes read before it came');
      } finally {
        second.end();
      }
    } finally {
      first.end();
    }
  });
});
