import { BitsError } from './bits-error.ts';
import { LIMITS } from './limits.ts';
import { isLoopbackHost } from './loopback.ts';

/**
 * Webhooks (beyond BITS, DESIGN.md §8): what a job or the policy may name, and the checks on it.
 * Pure: the signature and the delivery live in the service (src/service/webhooks/).
 */

/** The job events a webhook receives. */
export const WEBHOOK_EVENTS = ['job.transferred', 'job.error', 'job.completed', 'job.cancelled'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** One hook: where to POST and the secret its signature is made with. */
export interface Webhook {
  readonly url: string;
  readonly secret: string;
}

/** A secret shorter than this is refused: the signature is only as strong as its key. */
export const MIN_WEBHOOK_SECRET_LENGTH = 16;
export const MAX_WEBHOOK_SECRET_LENGTH = 256;

const invalid = (message: string): BitsError => new BitsError('E_INVALIDARG', message);

/**
 * A webhook URL: absolute `https://…`, or `http://…` to a loopback host only (the body is signed
 * but not encrypted, and the job's details would cross the network in clear). No user:password
 * (the secret authenticates), no fragment. Anything else is E_INVALIDARG naming the rule.
 */
export function validateWebhookUrl(value: unknown): string {
  if (typeof value !== 'string') throw invalid('webhook URL must be a string');
  if (value.length > LIMITS.url) throw invalid(`webhook URL is longer than ${LIMITS.url} characters`);
  if (/[\s\u0000-\u001f\u007f]/u.test(value)) throw invalid('webhook URL contains spaces or control characters');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid(`webhook URL is not a valid URL: ${value}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw invalid(`webhook URL must be https:// (or http:// to a loopback address), not ${url.protocol}`);
  }
  if (url.hostname === '' || !/^https?:\/\/[^/?#]/iu.test(value)) throw invalid(`webhook URL has no host: ${value}`);
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    throw invalid(
      `webhook URL ${url.origin} is plain http:// to a host that is not loopback: use https:// (http:// is allowed only to 127.0.0.0/8, ::1 and localhost)`,
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw invalid('webhook URL must not carry a user name or password (the secret signs each delivery)');
  }
  if (url.hash !== '') throw invalid('webhook URL must not have a #fragment');
  return value;
}

/** A per-hook secret: 16–256 printable characters (32 random bytes in hex or base64 is right). */
export function validateWebhookSecret(value: unknown): string {
  if (typeof value !== 'string') throw invalid('webhook secret must be a string');
  if (value.length < MIN_WEBHOOK_SECRET_LENGTH || value.length > MAX_WEBHOOK_SECRET_LENGTH) {
    throw invalid(
      `webhook secret must be ${MIN_WEBHOOK_SECRET_LENGTH}–${MAX_WEBHOOK_SECRET_LENGTH} characters (32 random bytes, e.g. \`openssl rand -hex 32\`)`,
    );
  }
  if (/[^\u0021-\u007e]/u.test(value)) throw invalid('webhook secret must be printable ASCII without spaces');
  return value;
}

/** A hook as a caller hands it in. */
export function validateWebhook(value: unknown): Webhook {
  if (typeof value !== 'object' || value === null) throw invalid('a webhook is { url, secret }');
  const { url, secret } = value as Record<string, unknown>;
  return { url: validateWebhookUrl(url), secret: validateWebhookSecret(secret) };
}

/**
 * One delivery waiting in the outbox (a row of the job store): the body is fixed when the event
 * happens; each attempt signs it afresh with the time of sending. `id` stays the same across
 * attempts, so a receiver can drop a duplicate (delivery is at least once).
 */
export interface WebhookDelivery {
  readonly id: string;
  readonly jobId: string;
  readonly event: WebhookEvent;
  readonly url: string;
  readonly secret: string;
  /** The JSON document POSTed. */
  readonly body: string;
  /** Wall-clock ms when the event happened. */
  readonly createdAt: number;
  /** Attempts made so far. */
  readonly attempts: number;
  /** Wall-clock ms of the next attempt (durable: a restart keeps the back-off). */
  readonly nextAttemptAt: number;
  /** What went wrong last time (`HTTP 500`, `timeout`, `ECONNREFUSED`), or null. */
  readonly lastError: string | null;
}

/** The webhook event a job's new state fires, if any. */
export function webhookEventFor(state: string): WebhookEvent | undefined {
  switch (state) {
    case 'TRANSFERRED':
      return 'job.transferred';
    case 'ERROR':
      return 'job.error';
    case 'ACKNOWLEDGED':
      return 'job.completed';
    case 'CANCELLED':
      return 'job.cancelled';
    default:
      return undefined;
  }
}
