import type { ManagerEvent } from '../api/bits-manager.ts';
import { normalizeJobId } from '../core/validate.ts';
import type { StreamReply } from './transport.ts';

type Listener = (event: ManagerEvent) => void;
interface Entry {
  readonly fn: Listener;
  readonly jobId: string | undefined;
}

export interface EventFeedOptions {
  /** Opens GET `path` as a stream (Transport.stream). */
  readonly open: (path: string, signal: AbortSignal, idleTimeoutMs: number) => Promise<StreamReply>;
  /** Reconnect delay bounds after the stream drops (default 100 ms doubling to 5 s). */
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Called for a stream failure (for logging); the feed reconnects on its own. */
  readonly onError?: (err: unknown) => void;
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });

/**
 * One GET /v1/events stream shared by every subscriber of a client, opened while anyone listens
 * and reopened (with back-off) when it drops. Filtering by job happens here. Events that
 * happen while the stream is down are lost, as BITS's own modification callbacks may be:
 * read the job again after a reconnect if it matters.
 */
export class EventFeed {
  readonly #options: EventFeedOptions;
  readonly #entries = new Set<Entry>();
  #abort: AbortController | undefined;
  #ready: Promise<void> | undefined;
  #markReady: (() => void) | undefined;
  #closed = false;

  constructor(options: EventFeedOptions) {
    this.#options = options;
  }

  /**
   * Add a listener. `ready` resolves once the stream is live: at once if it is, else when it
   * (re)connects.
   */
  add(fn: Listener, jobId: string | undefined): { remove: () => void; ready: Promise<void> } {
    // Events carry the canonical id; a `{GUID}` or upper-case filter must still match.
    const entry: Entry = { fn, jobId: jobId === undefined ? undefined : (normalizeJobId(jobId) ?? jobId) };
    this.#entries.add(entry);
    if (this.#abort === undefined && !this.#closed) this.#start();
    return {
      remove: () => {
        this.#entries.delete(entry);
        if (this.#entries.size === 0) this.#stop();
      },
      ready: this.#ready ?? Promise.resolve(),
    };
  }

  close(): void {
    this.#closed = true;
    this.#entries.clear();
    this.#stop();
  }

  #start(): void {
    const abort = new AbortController();
    this.#abort = abort;
    this.#notReady();
    void this.#run(abort.signal);
  }

  /** The stream is down: later subscribers wait for the next `ready` (a pending wait is kept). */
  #notReady(): void {
    if (this.#ready !== undefined && this.#markReady !== undefined) return;
    this.#ready = new Promise<void>((resolve) => {
      this.#markReady = () => {
        this.#markReady = undefined;
        resolve();
      };
    });
  }

  #stop(): void {
    this.#abort?.abort();
    this.#abort = undefined;
    this.#markReady?.(); // nobody waits for a stream that will not come
    this.#ready = undefined;
    this.#markReady = undefined;
  }

  async #run(signal: AbortSignal): Promise<void> {
    const min = this.#options.minBackoffMs ?? 100;
    let backoff = min;
    while (!signal.aborted) {
      try {
        // Heartbeats arrive every 15 s; three missed ones mean a dead connection.
        const res = await this.#options.open('/v1/events', signal, 45_000);
        if (res.statusCode !== 200) {
          await res.text();
          throw new Error(`GET /v1/events answered HTTP ${res.statusCode}`);
        }
        for await (const message of parseSse(res.body)) {
          if (message.event === 'ready') {
            backoff = min;
            this.#markReady?.();
            continue;
          }
          this.#dispatch(JSON.parse(message.data) as ManagerEvent);
        }
      } catch (err) {
        if (signal.aborted) return;
        this.#options.onError?.(err);
      }
      if (signal.aborted) return;
      this.#notReady();
      await sleep(backoff, signal);
      backoff = Math.min(backoff * 2, this.#options.maxBackoffMs ?? 5_000);
    }
  }

  #dispatch(event: ManagerEvent): void {
    for (const entry of [...this.#entries]) {
      if (entry.jobId !== undefined && entry.jobId !== event.jobId) continue;
      try {
        entry.fn(event);
      } catch {
        // One throwing listener must not starve the others.
      }
    }
  }
}

interface SseMessage {
  readonly event: string;
  readonly data: string;
}

/** Parse a text/event-stream body into messages (comments and ids are skipped). */
export async function* parseSse(body: AsyncIterable<Uint8Array | string>): AsyncGenerator<SseMessage> {
  const decoder = new TextDecoder();
  // Messages end at a blank line; the rest of the buffer is cut once per chunk, not per message.
  const blank = /\r?\n\r?\n/gu;
  let buffer = '';
  for await (const chunk of body) {
    buffer += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let from = 0;
    blank.lastIndex = 0;
    for (let end = blank.exec(buffer); end !== null; end = blank.exec(buffer)) {
      const message = parseBlock(buffer.slice(from, end.index));
      from = blank.lastIndex;
      if (message !== undefined) yield message;
    }
    buffer = buffer.slice(from);
  }
}

/** One message's lines; undefined when it has no data (a comment such as a heartbeat). */
function parseBlock(block: string): SseMessage | undefined {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split(/\r?\n/u)) {
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const name = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(line.charCodeAt(colon + 1) === 32 ? colon + 2 : colon + 1);
    if (name === 'event') event = value;
    else if (name === 'data') data.push(value);
  }
  return data.length > 0 ? { event, data: data.join('\n') } : undefined;
}
