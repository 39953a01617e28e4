/**
 * Items a listener pushes, pulled with `for await`: the one loop that turns a subscription into
 * an async iterator (the manager's events(), the client's events(), the SSE route). Items come
 * out in order; `end()` finishes the iteration after what is queued, or at once with
 * `{ drop: true }` (a caller that stopped listening does not want the backlog).
 */
export class EventQueue<T> implements AsyncIterable<T> {
  #items: T[] = [];
  #ended = false;
  #wake: (() => void) | undefined;

  /** Items waiting to be pulled. */
  get size(): number {
    return this.#items.length;
  }

  /** Queue an item (ignored once ended). */
  push(item: T): void {
    if (this.#ended) return;
    this.#items.push(item);
    this.#wake?.();
  }

  /** No more items: the iteration ends once the queue is empty (`drop`: now). */
  end(options: { drop?: boolean } = {}): void {
    this.#ended = true;
    if (options.drop === true) this.#items = [];
    this.#wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for (;;) {
      if (this.#items.length > 0) {
        yield this.#items.shift() as T;
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
