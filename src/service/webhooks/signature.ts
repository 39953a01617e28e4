/**
 * The webhook signature, in the style of Stripe's: `OpenBITS-Signature: t=<unix seconds>,v1=<hex>`
 * where v1 = HMAC-SHA256(secret, `${t}.${body}`). The timestamp is inside the signed text, so a
 * receiver that refuses old timestamps (5 minutes is the usual tolerance) stops replays; the
 * delivery id (`OpenBITS-Delivery`) lets it drop the duplicates that at-least-once delivery brings.
 * docs/webhooks.md has the receiver's side.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The request headers of a delivery (lower case, as Node shows them). */
export const WEBHOOK_HEADERS = {
  signature: 'openbits-signature',
  event: 'openbits-event',
  delivery: 'openbits-delivery',
} as const;

/** A receiver's default window for the timestamp, seconds either side of its clock. */
export const DEFAULT_TOLERANCE_S = 300;

function hmac(secret: string, timestampS: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestampS}.`).update(body).digest('hex');
}

/** The `OpenBITS-Signature` value for `body` sent at `timestampS` (unix seconds). */
export function signWebhook(secret: string, body: string, timestampS: number): string {
  return `t=${timestampS},v1=${hmac(secret, timestampS, body)}`;
}

/** Why a signature was refused (or `ok`). */
export type SignatureCheck = 'ok' | 'malformed' | 'stale' | 'mismatch';

/**
 * Check a delivery as a receiver would: the header's form, the timestamp within `toleranceS` of
 * `nowS`, and one of its `v1` values equal (in constant time) to the HMAC of the raw body.
 */
export function verifyWebhook(
  secret: string,
  body: string,
  header: string | undefined,
  nowS: number,
  toleranceS = DEFAULT_TOLERANCE_S,
): SignatureCheck {
  if (header === undefined) return 'malformed';
  let t: number | undefined;
  const v1: string[] = [];
  for (const part of header.split(',')) {
    const [k, v] = part.trim().split('=', 2);
    if (k === 't' && v !== undefined && /^\d{1,12}$/u.test(v)) t = Number(v);
    else if (k === 'v1' && v !== undefined && /^[0-9a-f]{64}$/u.test(v)) v1.push(v);
  }
  if (t === undefined || v1.length === 0) return 'malformed';
  if (Math.abs(nowS - t) > toleranceS) return 'stale';
  const expected = Buffer.from(hmac(secret, t, body), 'hex');
  return v1.some((v) => timingSafeEqual(Buffer.from(v, 'hex'), expected)) ? 'ok' : 'mismatch';
}
