import assert from 'node:assert/strict';
import { test } from 'node:test';
import { followSignal } from '../../src/transfer/follow-signal.ts';

test('followSignal: the child aborts with the parent’s reason, at once when the parent already did, never after unfollow', () => {
  const parent = new AbortController();
  const child = new AbortController();
  followSignal(parent.signal, child);
  const reason = new Error('stop');
  parent.abort(reason);
  assert.equal(child.signal.reason, reason);

  const early = new AbortController();
  early.abort('gone');
  const late = new AbortController();
  followSignal(early.signal, late);
  assert.equal(late.signal.reason, 'gone');

  const p = new AbortController();
  const c = new AbortController();
  const unfollow = followSignal(p.signal, c);
  unfollow();
  p.abort();
  assert.equal(c.signal.aborted, false);
});
