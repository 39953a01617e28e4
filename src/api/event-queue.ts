/** A bound on what a queue holds: at most `maxBytes`, each item weighing `sizeOf(item)`. */
export interface QueueBound<T> {
  readonly maxBytes: number;
  readonly sizeOf: (item: T) => number;
}

/**
 * Items a listener pushes, pulled with `for await`: the one loop that turns a subscription into
 * an async iterator (the manager's events(), the client's events(), the SSE route). Items come
 * out in order; `end()` finishes the iteration after what is queued, or at once with
 * `{ drop: true }` (a caller that stopped listening does not want the backlog). With a bound,
 * an item that would take the queue past it is refused (push returns false).
 */
export class EventQueue<T> implements AsyncIterable<T> {
  #items: T[] = [];
  #bytes = 0;
  #ended = false;
  #wake: (() => void) | undefined;
  readonly #bound: QueueBound<T> | undefined;

  constructor(bound?: QueueBound<T>) {
    this.#bound = bound;
  }

  /** Items waiting to be pulled. */
  get size(): number {
    return this.#items.length;
  }

  /** What the waiting items weigh (0 without a bound). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Queue an item (ignored once ended); false when the bound refuses it. */
  push(item: T): boolean {
    if (this.#ended) return true;
    if (this.#bound !== undefined) {
      const size = this.#bound.sizeOf(item);
      if (this.#bytes + size > this.#bound.maxBytes) return false;
      this.#bytes += size;
    }
    this.#items.push(item);
    this.#wake?.();
    return true;
  }

  /** Every waiting item, taken out of the queue at once (none: an empty array). */
  takeAll(): T[] {
    const items = this.#items;
    this.#items = [];
    this.#bytes = 0;
    return items;
  }

  /** No more items: the iteration ends once the queue is empty (`drop`: now). */
  end(options: { drop?: boolean } = {}): void {
    this.#ended = true;
    if (options.drop === true) {
      this.#items = [];
      this.#bytes = 0;
    }
    this.#wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for (;;) {
      if (this.#items.length > 0) {
        const item = this.#items.shift() as T;
        if (this.#bound !== undefined) this.#bytes -= this.#bound.sizeOf(item);
        yield item;
        continue;
      }
      if (this.#ended) return;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
      this.#wake = undefined;
    }
  }
}
