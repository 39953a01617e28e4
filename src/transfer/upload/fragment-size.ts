/**
 * Fragment sizing (bits-upload-protocol.md §9.4). Every fragment costs a round trip and a server
 * sync during which no byte moves (fragments never overlap), so fragments should be as large as
 * is safe: start around 1 MiB; after a full-size fragment acknowledged fast, the next is sized
 * to take about `TARGET_FRAGMENT_MS` at the rate the last one went (at least double); halve when
 * an Ack is slow, halve on 413 (never below the floor). The ceiling is the Windows client's
 * 13 MB (under IIS's 30 MB request filter) unless the server advertises a larger limit
 * (`X-Bits-Max-Fragment-Size`, our server), then that limit up to `LARGEST_FRAGMENT_SIZE`.
 */

/** Windows never sends a fragment below 5 KB, even after 413 (notes <10>, <16>). */
export const MIN_FRAGMENT_SIZE = 5 * 1024;
/** Windows (BITS 2.5+) sends at most 13 MB per fragment: our ceiling for servers that say nothing. */
export const MAX_FRAGMENT_SIZE = 13 * 1024 * 1024;
/** The most we send in one fragment even when a server accepts more (what a failure resends). */
export const LARGEST_FRAGMENT_SIZE = 256 * 1024 * 1024;
export const DEFAULT_FRAGMENT_SIZE = 1024 * 1024;
/** An Ack faster than this lets the next fragment grow. */
const FAST_ACK_MS = 2_000;
/** An Ack slower than this halves the next fragment (less to resend after a failure). */
const SLOW_ACK_MS = 30_000;
/** A grown fragment is sized to take about this long at the last fragment's rate. */
const TARGET_FRAGMENT_MS = 1_000;

function clamp(n: number, ceiling: number): number {
  return Math.min(ceiling, Math.max(MIN_FRAGMENT_SIZE, Math.floor(n)));
}

/** The adaptive fragment size of one upload call. */
export class FragmentSizer {
  #size: number;
  /** Largest size to send: the Windows ceiling, or the server's advertised limit. */
  #ceiling = MAX_FRAGMENT_SIZE;
  /** Set by a 413: never grow past a refused size, whatever the server advertises. */
  #refused = false;

  constructor(initial: number = DEFAULT_FRAGMENT_SIZE) {
    this.#size = clamp(initial, MAX_FRAGMENT_SIZE);
  }

  get size(): number {
    return this.#size;
  }

  /** Length of the next fragment starting at `offset` of a `total`-byte file. */
  next(offset: number, total: number): number {
    return Math.max(0, Math.min(this.#size, total - offset));
  }

  /**
   * The server advertised the largest fragment it accepts: grow up to it (at most
   * `LARGEST_FRAGMENT_SIZE`); a smaller limit also shrinks the current size.
   */
  serverLimit(bytes: number): void {
    if (this.#refused) return;
    this.#ceiling = clamp(bytes, LARGEST_FRAGMENT_SIZE);
    this.#size = Math.min(this.#size, this.#ceiling);
  }

  /** A fragment of `length` bytes was acknowledged after `elapsedMs`. */
  acked(length: number, elapsedMs: number): void {
    // Only a full-size fragment says anything about the size (the last one is usually short).
    if (length < this.#size) return;
    if (elapsedMs < FAST_ACK_MS) {
      const paced = elapsedMs > 0 ? (length * TARGET_FRAGMENT_MS) / elapsedMs : Number.POSITIVE_INFINITY;
      this.#size = clamp(Math.max(this.#size * 2, paced), this.#ceiling);
    } else if (elapsedMs > SLOW_ACK_MS) this.#size = clamp(this.#size / 2, this.#ceiling);
  }

  /**
   * 413 for a fragment of `length` bytes: halve below it. False when already at the floor — the
   * server refuses even the smallest fragment Windows would send.
   */
  tooLarge(length: number): boolean {
    if (length <= MIN_FRAGMENT_SIZE) return false;
    this.#size = clamp(Math.min(this.#size, length) / 2, this.#ceiling);
    this.#ceiling = this.#size;
    this.#refused = true;
    return true;
  }
}
