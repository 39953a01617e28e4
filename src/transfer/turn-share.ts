/**
 * The event loop's turn, shared by every response body being read (undici's, dispatch-response.ts,
 * and the plain reader's, plain-http.ts) so that concurrent transfers read alike.
 *
 * Body bytes one response takes in one turn of the event loop before it lets the others read.
 * Sockets are not read alike: some hand over one 64 KiB read per turn, others (reused
 * keep-alive connections, mostly) up to 32 in a row, so with the one thread saturated by eight
 * transfers the second kind ran at several times the rate of the first (per-job spread up to
 * 50 %). A response past its share pauses until the next turn (setImmediate).
 */
export const TURN_QUOTA = 256 * 1024;

/** Bodies being pumped now (with a fair share): one alone has nobody to share the turn with. */
let pumping = 0;

/** The event loop's turn, counted only while bodies flow (one setImmediate per turn then). */
let turn = 0;
let turnCounted = false;

export function currentTurn(): number {
  if (!turnCounted) {
    turnCounted = true;
    setImmediate(() => {
      turnCounted = false;
      turn++;
    });
  }
  return turn;
}

/** A body with a fair share starts (pair with shareEnded). */
export function shareStarted(): void {
  pumping++;
}

export function shareEnded(): void {
  pumping--;
}

/** More than one body with a fair share is being read. */
export function sharing(): boolean {
  return pumping >= 2;
}
