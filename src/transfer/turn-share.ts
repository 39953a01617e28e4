/**
 * The fair share of the event loop between the response bodies being read at once (undici's,
 * dispatch-response.ts, and the plain reader's, plain-http.ts), so that concurrent transfers
 * read alike. Two rules, both only while two or more bodies are read:
 *
 * - **Per turn**: a body takes at most TURN_QUOTA bytes in one turn of the event loop, then
 *   pauses until the next turn (setImmediate). Some sockets hand over one read per turn, others
 *   (reused keep-alive connections, mostly) up to 32 in a row: without the quota the second kind
 *   ran at several times the rate of the first (per-job spread up to 50 %).
 * - **Over time** (start-time fair queueing, counted in bytes): a body more than AHEAD_LIMIT
 *   bytes ahead of the slowest body still reading sits out whole turns until that one catches
 *   up. A quota per turn cannot give a socket what it does not hold: one whose receive window
 *   autotuned smaller brings less each turn, and with reads of 256 KiB or more that made the
 *   spread 22–28 % (S4, 8 × 128 MiB). Counting bytes lets reads be as large as the write
 *   buffers (fewer reads, calls and syscalls per GiB) while the rates stay within a few per cent.
 *
 * A body counts as still reading when it read in this turn or the one before; one that waits
 * longer (its disk, its rate limiter, a slow server) does not hold the others back, and when it
 * reads again it comes back at most AHEAD_LIMIT behind the slowest, so an idle spell earns no
 * credit to take a burst with later.
 */

/** The most one body reads in one turn of the event loop while others are read too. */
export const TURN_QUOTA = 1024 * 1024;

/** How far (bytes) a body may run ahead of the slowest body still reading before it sits out. */
export const AHEAD_LIMIT = 2 * TURN_QUOTA;

/** The event loop's turn, counted only while bodies are shared (one setImmediate per turn then). */
let turn = 0;
let turnCounted = false;

function currentTurn(): number {
  if (!turnCounted) {
    turnCounted = true;
    setImmediate(() => {
      turnCounted = false;
      turn++;
    });
  }
  return turn;
}

const slots = new Set<ShareSlot>();

/** The slowest count among bodies that read in this turn or the last, cached for the turn. */
let floorTurn = -1;
let floor = Number.POSITIVE_INFINITY;

function floorAt(now: number): number {
  if (floorTurn !== now) {
    floorTurn = now;
    floor = Number.POSITIVE_INFINITY;
    for (const s of slots) if (s.lastTurn >= now - 1 && s.served < floor) floor = s.served;
  }
  return floor;
}

/** One body's place in the share, from its first byte to its end (pair shareStarted with end()). */
export class ShareSlot {
  /** Bytes this body read (its place in the byte-counted order). */
  served: number;
  /** The turn it last read in while shared (-1: not yet). */
  lastTurn = -1;
  #turnBytes = 0;

  constructor(served: number) {
    this.served = served;
  }

  /**
   * Count `n` bytes just read: true when the body is to pause now (its turn's quota is used, or
   * it ran too far ahead); `nextTurn` then says when it may read again. Alone, nothing pauses.
   */
  counted(n: number): boolean {
    if (slots.size < 2) {
      this.served += n;
      return false;
    }
    const now = currentTurn();
    const slowest = floorAt(now);
    if (this.lastTurn < now - 1) {
      // Back after waiting (or shared for the first time): no credit beyond the limit.
      if (slowest !== Number.POSITIVE_INFINITY) this.served = Math.max(this.served, slowest - AHEAD_LIMIT);
      this.#turnBytes = 0;
    } else if (this.lastTurn !== now) this.#turnBytes = 0;
    this.lastTurn = now;
    this.served += n;
    this.#turnBytes += n;
    return this.#turnBytes >= TURN_QUOTA || this.served > slowest + AHEAD_LIMIT;
  }

  /** Call `fn` at the first later turn in which this body is not too far ahead. */
  nextTurn(fn: () => void): void {
    const again = (): void => {
      if (slots.has(this) && slots.size >= 2 && this.served > floorAt(currentTurn()) + AHEAD_LIMIT) setImmediate(again);
      else fn();
    };
    setImmediate(again);
  }

  /** The body ended (or failed): it leaves the share. */
  end(): void {
    slots.delete(this);
  }
}

/** A body starts being read: it joins the share where the slowest of the others stands. */
export function shareStarted(): ShareSlot {
  let served = Number.POSITIVE_INFINITY;
  for (const s of slots) if (s.served < served) served = s.served;
  const slot = new ShareSlot(served === Number.POSITIVE_INFINITY ? 0 : served);
  slots.add(slot);
  return slot;
}

/** More than one body is being read. */
export function sharing(): boolean {
  return slots.size >= 2;
}
