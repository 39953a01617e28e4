import type { WebhookDelivery } from '../core/index.ts';

/**
 * The durable webhook outbox (docs/webhooks.md): rows written by `applyTransition` in the same
 * commit as the job's transition (so an event that happened is never lost, and one that was
 * rolled back is never sent), drained by the service's sender, retried with back-off across
 * restarts. Every JobStore implements it; each verb is one transaction.
 */
export interface WebhookOutbox {
  /** Deliveries whose next attempt is due at `nowMs`, oldest first, at most `limit`, none of `skip`. */
  dueWebhooks(nowMs: number, limit: number, skip: ReadonlySet<string>): WebhookDelivery[];
  /** The earliest next attempt among the deliveries not in `skip`, or undefined when none waits. */
  nextWebhookAttempt(skip: ReadonlySet<string>): number | undefined;
  /** The receiver answered 2xx: the delivery leaves the outbox. */
  webhookDelivered(id: string): void;
  /** Attempt `attempts` failed: try again at `nextAttemptAt`. */
  webhookFailed(id: string, attempts: number, nextAttemptAt: number, lastError: string): void;
  /** Given up after the last attempt: the delivery leaves the outbox. */
  webhookAbandoned(id: string): void;
}

/** The outbox in memory (the memory job store's, and tests of the sender). */
export class MemoryWebhookOutbox implements WebhookOutbox {
  readonly #rows = new Map<string, WebhookDelivery>();

  add(delivery: WebhookDelivery): void {
    this.#rows.set(delivery.id, delivery);
  }

  /** Every delivery still waiting. */
  all(): WebhookDelivery[] {
    return [...this.#rows.values()];
  }

  dueWebhooks(nowMs: number, limit: number, skip: ReadonlySet<string>): WebhookDelivery[] {
    return this.all()
      .filter((d) => d.nextAttemptAt <= nowMs && !skip.has(d.id))
      .sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || a.createdAt - b.createdAt)
      .slice(0, limit);
  }

  nextWebhookAttempt(skip: ReadonlySet<string>): number | undefined {
    let next: number | undefined;
    for (const d of this.#rows.values()) {
      if (!skip.has(d.id) && (next === undefined || d.nextAttemptAt < next)) next = d.nextAttemptAt;
    }
    return next;
  }

  webhookDelivered(id: string): void {
    this.#rows.delete(id);
  }

  webhookFailed(id: string, attempts: number, nextAttemptAt: number, lastError: string): void {
    const row = this.#rows.get(id);
    if (row !== undefined) this.#rows.set(id, { ...row, attempts, nextAttemptAt, lastError });
  }

  webhookAbandoned(id: string): void {
    this.#rows.delete(id);
  }
}
