/**
 * POST one webhook delivery over HTTP(S) with undici: no redirects followed (a 3xx is a failed
 * attempt: a hook that moved must be re-registered, not silently re-targeted), certificates
 * verified, the response body read up to a small limit and dropped. The deadline is the caller's
 * AbortSignal (armed on the injected clock), so tests never wait for real time.
 */
import type { Agent } from 'undici';
import { undici } from '../../transfer/undici-module.ts';

/** One attempt: the answer's status, or a thrown error (refused, reset, aborted). */
export type WebhookTransport = (attempt: {
  /** The job whose event this is (system mode: its owner's worker sends it). */
  readonly jobId: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly signal: AbortSignal;
}) => Promise<{ readonly status: number }>;

/** Bytes of a receiver's answer we read before dropping the connection's body. */
const MAX_ANSWER_BYTES = 64 * 1024;

/** An undici transport with its own connection pool; `close()` ends its keep-alive sockets. */
export function httpWebhookTransport(): WebhookTransport & { close(): Promise<void> } {
  // The deadline is the signal's; undici's own timers stay out of the way.
  // Made at the first delivery: most daemons never send one, and undici is slow to load.
  let agent: Agent | undefined;
  const send: WebhookTransport = async ({ url, headers, body, signal }) => {
    const { Agent: AgentClass, request } = undici();
    agent ??= new AgentClass({ headersTimeout: 0, bodyTimeout: 0, connections: 8 });
    const res = await request(url, { method: 'POST', headers, body, signal, dispatcher: agent });
    await res.body.dump({ limit: MAX_ANSWER_BYTES }).catch(() => undefined);
    return { status: res.statusCode };
  };
  return Object.assign(send, { close: async () => agent?.close() });
}
