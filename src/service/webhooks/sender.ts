/**
 * The webhook sender: drains the outbox in the background. Each attempt signs the stored body
 * with the time of sending and POSTs it; a 2xx removes the delivery, anything else (another
 * status, a refused or reset connection, no answer within the deadline) schedules the next
 * attempt with exponential back-off, durably, so a restart picks up where this one stopped.
 * Nothing here is awaited by a transfer: events only add rows, and `kick()` returns at once.
 */
import type { Clock, TimerHandle, WebhookDelivery } from '../../core/index.ts';
import type { WebhookOutbox } from '../../store/webhook-outbox.ts';
import { signWebhook, WEBHOOK_HEADERS } from './signature.ts';
import type { WebhookTransport } from './transport.ts';

/** Back-off and limits (defaults: 10 s doubling to 1 h, 25 attempts ≈ 19 h, 10 s deadline, 4 at once). */
export interface WebhookRetryPolicy {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly maxAttempts: number;
  readonly timeoutMs: number;
  readonly concurrency: number;
}

export const DEFAULT_WEBHOOK_RETRY: WebhookRetryPolicy = {
  initialDelayMs: 10_000,
  maxDelayMs: 3_600_000,
  maxAttempts: 25,
  timeoutMs: 10_000,
  concurrency: 4,
};

/** The delay before attempt `attempts + 1`, after `attempts` failures. */
export function backoffMs(policy: WebhookRetryPolicy, attempts: number): number {
  return Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.max(0, attempts - 1));
}

/** The pino-like subset the sender logs through. */
export interface WebhookLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface WebhookSenderOptions {
  readonly outbox: WebhookOutbox;
  readonly transport: WebhookTransport;
  readonly clock: Clock;
  readonly retry?: Partial<WebhookRetryPolicy>;
  readonly logger?: WebhookLogger;
  /** `User-Agent` of the POSTs. */
  readonly userAgent?: string;
  /** Told of each attempt's outcome (metrics). */
  readonly onAttempt?: (outcome: 'delivered' | 'failed' | 'abandoned', delivery: WebhookDelivery) => void;
  /**
   * Resolves once every commit made so far is on disk (the job store's durable()); a row is read
   * only after it, so nothing goes out before the sync that covers it. Without it, rows are read at once.
   */
  readonly durable?: () => Promise<void>;
}

const quiet: WebhookLogger = { info() {}, warn() {} };

export class WebhookSender {
  readonly #o: WebhookSenderOptions;
  readonly #policy: WebhookRetryPolicy;
  readonly #log: WebhookLogger;
  /** Deliveries with an attempt in flight (never picked twice). */
  readonly #inFlight = new Map<string, Promise<void>>();
  readonly #aborts = new Set<AbortController>();
  #timer: TimerHandle | undefined;
  #timerAt: number | undefined;
  #closed = false;

  constructor(options: WebhookSenderOptions) {
    this.#o = options;
    this.#policy = { ...DEFAULT_WEBHOOK_RETRY, ...options.retry };
    this.#log = options.logger ?? quiet;
  }

  /**
   * Look at the outbox (new rows were committed, the service started, an attempt ended, a retry
   * fell due) once what was committed so far is durable: a row of a transition whose sync still
   * runs must not go out, a power cut could lose it with the state it reports. A failed sync
   * poisons the store and sends nothing.
   */
  kick(): void {
    if (this.#closed) return;
    if (this.#o.durable === undefined) {
      this.#drain();
      return;
    }
    this.#o.durable().then(
      () => this.#drain(),
      () => undefined,
    );
  }

  #drain(): void {
    if (this.#closed) return;
    const { outbox, clock } = this.#o;
    const skip = new Set(this.#inFlight.keys());
    const room = this.#policy.concurrency - this.#inFlight.size;
    if (room > 0) {
      for (const d of outbox.dueWebhooks(clock.wallMs(), room, skip)) {
        skip.add(d.id);
        const attempt = this.#attempt(d).finally(() => {
          this.#inFlight.delete(d.id);
          this.kick();
        });
        this.#inFlight.set(d.id, attempt);
      }
    }
    if (this.#inFlight.size >= this.#policy.concurrency) return; // the next finish kicks again
    this.#arm(outbox.nextWebhookAttempt(skip));
  }

  /** Attempts in flight (tests wait for them to settle). */
  get busy(): number {
    return this.#inFlight.size;
  }

  /** Stop: no new attempts, abort the ones in flight (they stay in the outbox, due again at once). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#timer?.cancel();
    for (const a of this.#aborts) a.abort();
    await Promise.allSettled([...this.#inFlight.values()]);
  }

  /** One timer for the earliest future attempt. */
  #arm(at: number | undefined): void {
    if (at === undefined || (this.#timerAt !== undefined && this.#timerAt <= at)) return;
    this.#timer?.cancel();
    this.#timerAt = at;
    this.#timer = this.#o.clock.setTimer(Math.max(0, at - this.#o.clock.wallMs()), () => {
      this.#timerAt = undefined;
      this.#timer = undefined;
      this.kick();
    });
  }

  async #attempt(d: WebhookDelivery): Promise<void> {
    const { clock, transport, outbox } = this.#o;
    const abort = new AbortController();
    this.#aborts.add(abort);
    const deadline = clock.setTimer(this.#policy.timeoutMs, () => abort.abort(new Error('timeout')));
    let failure: string | undefined;
    try {
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'user-agent': this.#o.userAgent ?? 'openbits-webhook',
        [WEBHOOK_HEADERS.event]: d.event,
        [WEBHOOK_HEADERS.delivery]: d.id,
        [WEBHOOK_HEADERS.signature]: signWebhook(d.secret, d.body, Math.floor(clock.wallMs() / 1000)),
      };
      const { status } = await transport({ jobId: d.jobId, url: d.url, headers, body: d.body, signal: abort.signal });
      if (status < 200 || status > 299) failure = `HTTP ${status}`;
    } catch (err) {
      failure = abort.signal.aborted ? (this.#closed ? 'stopped' : 'timeout') : describe(err);
    } finally {
      deadline.cancel();
      this.#aborts.delete(abort);
    }
    if (failure === undefined) {
      outbox.webhookDelivered(d.id);
      this.#o.onAttempt?.('delivered', d);
      return;
    }
    if (this.#closed) return; // stopping: not the receiver's fault, the row stays due
    const attempts = d.attempts + 1;
    if (attempts >= this.#policy.maxAttempts) {
      outbox.webhookAbandoned(d.id);
      this.#log.warn({ delivery: d.id, jobId: d.jobId, url: d.url, attempts, error: failure }, 'webhook abandoned');
      this.#o.onAttempt?.('abandoned', d);
      return;
    }
    const next = clock.wallMs() + backoffMs(this.#policy, attempts);
    outbox.webhookFailed(d.id, attempts, next, failure);
    this.#log.info({ delivery: d.id, url: d.url, attempts, error: failure }, 'webhook attempt failed; will retry');
    this.#o.onAttempt?.('failed', d);
  }
}

/** A short reason: the errno-style code when there is one. */
function describe(err: unknown): string {
  const e = err as { code?: unknown; cause?: { code?: unknown }; message?: unknown } | undefined;
  const code = e?.code ?? e?.cause?.code;
  if (typeof code === 'string') return code;
  return typeof e?.message === 'string' ? e.message.slice(0, 200) : 'failed';
}
