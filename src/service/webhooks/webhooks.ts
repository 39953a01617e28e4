/**
 * Webhooks in the service: which deliveries a transition fires (the job's hooks and the policy's,
 * for the event its new state means), built inside the transition's commit; and the sender that
 * drains the store's outbox once that commit is durable, and again at start for what a previous
 * run left (docs/webhooks.md).
 */
import { randomUUID } from 'node:crypto';
import { type Clock, type Job, type Webhook, type WebhookDelivery, webhookEventFor } from '../../core/index.ts';
import type { JobStore } from '../../store/job-store.ts';
import { toJobInfo } from '../job-info.ts';
import { webhookPayload } from './payload.ts';
import { type WebhookLogger, type WebhookRetryPolicy, WebhookSender } from './sender.ts';
import { httpWebhookTransport, type WebhookTransport } from './transport.ts';

export interface WebhooksOptions {
  readonly store: JobStore;
  readonly clock: Clock;
  /** The policy's hooks, for every job (read at each event: a reload applies at once). */
  readonly policyHooks: () => readonly Webhook[];
  readonly logger?: WebhookLogger | undefined;
  readonly retry?: Partial<WebhookRetryPolicy> | undefined;
  readonly userAgent?: string | undefined;
  /** Default: HTTP(S) with undici. */
  readonly transport?: WebhookTransport | undefined;
  /** Told of each attempt's outcome (metrics). */
  readonly onAttempt?: ((outcome: 'delivered' | 'failed' | 'abandoned') => void) | undefined;
}

export class Webhooks {
  readonly #o: WebhooksOptions;
  readonly #sender: WebhookSender;
  readonly #ownTransport: (WebhookTransport & { close(): Promise<void> }) | undefined;

  constructor(options: WebhooksOptions) {
    this.#o = options;
    this.#ownTransport = options.transport === undefined ? httpWebhookTransport() : undefined;
    this.#sender = new WebhookSender({
      outbox: options.store,
      durable: () => options.store.durable(),
      transport: options.transport ?? (this.#ownTransport as WebhookTransport),
      clock: options.clock,
      ...(options.retry === undefined ? {} : { retry: options.retry }),
      ...(options.logger === undefined ? {} : { logger: options.logger }),
      ...(options.userAgent === undefined ? {} : { userAgent: options.userAgent }),
      ...(options.onAttempt === undefined ? {} : { onAttempt: options.onAttempt }),
    });
  }

  /** The deliveries a job entering `next.state` fires (none for most states, or without hooks). */
  deliveriesFor(next: Job): WebhookDelivery[] {
    const event = webhookEventFor(next.state);
    if (event === undefined) return [];
    const hooks = new Map<string, Webhook>();
    for (const h of [...next.webhooks, ...this.#o.policyHooks()]) if (!hooks.has(h.url)) hooks.set(h.url, h);
    if (hooks.size === 0) return [];
    const now = this.#o.clock.wallMs();
    const info = toJobInfo(next);
    return [...hooks.values()].map((hook) => {
      const id = randomUUID();
      return {
        id,
        jobId: next.id,
        event,
        url: hook.url,
        secret: hook.secret,
        body: webhookPayload(id, event, info, now),
        createdAt: now,
        attempts: 0,
        nextAttemptAt: now,
        lastError: null,
      };
    });
  }

  /** New rows are durable (or the service started): send what is due. */
  kick(): void {
    this.#sender.kick();
  }

  async close(): Promise<void> {
    await this.#sender.close();
    await this.#ownTransport?.close();
  }
}
