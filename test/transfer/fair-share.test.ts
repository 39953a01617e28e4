import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import { dispatchRequest } from '../../src/transfer/dispatch-response.ts';
import { TURN_QUOTA } from '../../src/transfer/turn-share.ts';

const KiB = 1024;

/**
 * undici's side of a dispatch, driven by hand: the handler gets the controller and the head at
 * once, and the test hands it body chunks the way a socket read loop would (several in one turn).
 */
function scriptedExchange(length: number) {
  let handler: Dispatcher.DispatchHandler | undefined;
  const log: string[] = [];
  const controller = {
    paused: false,
    aborted: false,
    reason: null,
    abort(reason: Error) {
      log.push(`abort ${reason.message}`);
    },
    pause() {
      controller.paused = true;
      log.push('pause');
    },
    resume() {
      if (controller.paused) log.push('resume');
      controller.paused = false;
    },
  };
  const dispatcher = {
    dispatch(_options: unknown, h: Dispatcher.DispatchHandler) {
      handler = h;
      h.onRequestStart?.(controller as unknown as Dispatcher.DispatchController, {});
      h.onResponseStart?.(controller as unknown as Dispatcher.DispatchController, 200, {
        'content-length': String(length),
      });
      return true;
    },
  } as unknown as Dispatcher;
  const data = (chunk: Buffer) =>
    handler?.onResponseData?.(controller as unknown as Dispatcher.DispatchController, chunk);
  const end = () => handler?.onResponseEnd?.(controller as unknown as Dispatcher.DispatchController, {});
  return { dispatcher, controller, log, data, end };
}

/** Dispatch through `dispatcher` and pump the body, counting the bytes the reader took. */
async function readAll(dispatcher: Dispatcher, fairShare = true): Promise<{ got(): number; pumped: Promise<void> }> {
  const res = await dispatchRequest(
    dispatcher,
    { origin: 'http://127.0.0.1:1', path: '/', method: 'GET' },
    new AbortController().signal,
    fairShare,
  );
  let got = 0;
  const pumped = res.pump((c) => {
    got += c.byteLength;
    return null;
  });
  return { got: () => got, pumped };
}

/** A second response being read meanwhile (the share applies only between two or more). */
async function neighbour(): Promise<() => Promise<void>> {
  const other = scriptedExchange(1);
  const reader = await readAll(other.dispatcher);
  return async () => {
    other.data(Buffer.alloc(1));
    other.end();
    await reader.pumped;
  };
}

/** Like undici's read loop over a socket holding the whole body: chunk after chunk until paused, per turn. */
async function readTurns(x: ReturnType<typeof scriptedExchange>, got: () => number, total: number): Promise<number[]> {
  const chunk = 64 * KiB;
  let sent = 0;
  const perTurn: number[] = [];
  while (sent < total) {
    const before = got();
    while (sent < total && !x.controller.paused) {
      x.data(Buffer.alloc(chunk));
      sent += chunk;
    }
    perTurn.push(got() - before);
    await nextTurn();
  }
  x.end();
  return perTurn;
}

describe('fair share of the event loop between responses', () => {
  test('beside another body, a socket that could hand over 4 MiB in one turn gives 1 MiB per turn, losing nothing', async () => {
    const total = 4 * TURN_QUOTA;
    const done = await neighbour();
    const x = scriptedExchange(total);
    const reader = await readAll(x.dispatcher);
    const perTurn = await readTurns(x, reader.got, total);
    await reader.pumped;
    await done();
    assert.equal(reader.got(), total);
    assert.equal(TURN_QUOTA, 1024 * KiB);
    assert.deepEqual(perTurn, [TURN_QUOTA, TURN_QUOTA, TURN_QUOTA, TURN_QUOTA]);
    assert.deepEqual(x.log, ['pause', 'resume', 'pause', 'resume', 'pause', 'resume']);
  });

  test('the parts of one segmented file take no share: beside each other they are never paused', async () => {
    const total = 16 * 64 * KiB;
    const parts = [scriptedExchange(total), scriptedExchange(total)];
    const readers = await Promise.all(parts.map((x) => readAll(x.dispatcher, false)));
    const perTurn = await Promise.all(parts.map((x, i) => readTurns(x, (readers[i] as { got(): number }).got, total)));
    await Promise.all(readers.map((r) => r.pumped));
    assert.deepEqual(perTurn, [[total], [total]]);
    assert.deepEqual(
      parts.map((x) => x.log),
      [[], []],
    );
  });

  test('a body read alone takes all the socket holds: nobody to share the turn with', async () => {
    const total = 16 * 64 * KiB;
    const x = scriptedExchange(total);
    const reader = await readAll(x.dispatcher);
    const perTurn = await readTurns(x, reader.got, total);
    await reader.pumped;
    assert.deepEqual(perTurn, [total]);
    assert.deepEqual(x.log, []);
  });

  test('less than the share per turn never pauses, and the last bytes of a body never do', async () => {
    const chunk = TURN_QUOTA / 4;
    const done = await neighbour();
    const x = scriptedExchange(12 * chunk);
    const reader = await readAll(x.dispatcher);
    for (let turn = 0; turn < 2; turn++) {
      for (let i = 0; i < 3; i++) x.data(Buffer.alloc(chunk));
      await nextTurn();
    }
    assert.deepEqual(x.log, []);
    // The rest arrives in one turn and ends the body: the share is crossed, but only before the end.
    for (let i = 0; i < 6; i++) x.data(Buffer.alloc(chunk));
    assert.deepEqual(x.log, ['pause']);
    x.end();
    await nextTurn();
    await reader.pumped;
    await done();
    assert.equal(reader.got(), 12 * chunk);
  });
});
