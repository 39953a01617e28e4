import type { Dispatcher } from 'undici';
import { redirectPolicy } from '../core/index.ts';
import { AuthResponder, parseChallenges } from './auth.ts';
import { headerValue, headerValues, type RawHeaders } from './content-range.ts';
import { type DispatchedResponse, dispatchRequest, type ReadTarget, type TakeChunk } from './dispatch-response.ts';
import { dispatcherFor } from './dispatcher-pool.ts';
import type { DownloadState } from './download-state.ts';
import { transferError } from './failure-table.ts';
import { followSignal } from './follow-signal.ts';
import { PhaseTimer } from './phase-timer.ts';
import { plainEligible, plainRequest } from './plain-http.ts';
import { selectProxy } from './proxy.ts';
import { nextHop, REDIRECT_STATUSES } from './redirects.ts';

/** Headers the engine owns on every request; custom headers cannot replace them. */
const USER_AGENT = 'openbits/0.1 (BITS)';
/** Bytes of an error or redirect body read before the connection is dropped instead. */
const DUMP_LIMIT = 64 * 1024;

/** A response whose status the caller decides on; `body` not yet read. */
export interface Exchange {
  readonly status: number;
  readonly headers: RawHeaders;
  readonly url: URL;
  /**
   * Hand the body to `take` chunk by chunk as it comes off the socket (each chunk resets the
   * body-idle timer); resolves at its end. `take` pauses the socket by returning a promise.
   * `target` offers the memory to read the next bytes into (plain-http.ts reads there).
   */
  pump(take: TakeChunk, target?: ReadTarget): Promise<void>;
  /** Stop the body being pumped: the pump rejects with `reason`, the connection is closed. */
  stop(reason: unknown): void;
  /** Drop the body (read a little of it to keep the connection, else close). */
  discard(): Promise<void>;
}

/** What a session reads of its download: the request (signal, options, hooks, clock), the URL, the timeouts. */
export type SessionContext = Pick<DownloadState, 'req' | 'url' | 'timeouts'>;

/**
 * Requests of one downloadFile call: follows redirects under the job's policy, answers 401/407
 * challenges, drops credentials and custom headers on a cross-origin hop, runs the headers and
 * body-idle timeouts on the request's Clock.
 */
export class HttpSession {
  readonly #st: SessionContext;
  readonly #origin: URL;
  /** `#origin.origin`, a string the getter would build again for every hop. */
  readonly #originKey: string;
  readonly #serverAuth: AuthResponder;
  readonly #proxyAuth: AuthResponder;
  #current: URL;
  #reported: string | null = null;
  readonly #fairShare: boolean;

  /**
   * `fairShare: false` for the parts of one segmented file: they need no fairness among
   * themselves, and pausing each part per 256 KiB slowed a 4-part download of 1 GiB from 1.3 to
   * 3.7 s (dispatch-response.ts TURN_QUOTA).
   */
  constructor(st: SessionContext, options: { readonly fairShare?: boolean } = {}) {
    this.#fairShare = options.fairShare ?? true;
    this.#st = st;
    // The store moved URL userinfo into the job's credentials; none is ever sent in a URL. A URL
    // without userinfo or fragment is used as it is (nothing changes a URL in place here).
    let url = st.url;
    if (url.username !== '' || url.password !== '' || url.hash !== '') {
      url = new URL(url.href);
      url.username = '';
      url.password = '';
      url.hash = '';
    }
    const creds = st.req.options.credentials;
    this.#origin = url;
    this.#originKey = url.origin;
    this.#current = url;
    this.#serverAuth = new AuthResponder('SERVER', creds);
    this.#proxyAuth = new AuthResponder('PROXY', creds);
  }

  /** GET with `extra` headers (Range, If-Range, …); returns the first non-redirect, non-challenge answer. */
  async get(extra: Readonly<Record<string, string>>): Promise<Exchange> {
    const { req } = this.#st;
    let url = this.#current;
    const visited = new Set([url.href]);
    let serverChallenges = 0;
    let proxyChallenges = 0;
    for (;;) {
      const sameOrigin = url === this.#origin || url.origin === this.#originKey;
      const route = selectProxy(req.options.proxy, url);
      const kind = route === null ? 'direct' : url.protocol === 'https:' ? 'tunnel' : 'forward';
      const headers: Record<string, string> = {};
      if (sameOrigin) for (const [name, value] of req.options.customHeaders) headers[name.toLowerCase()] = value;
      Object.assign(headers, extra, {
        'accept-encoding': 'identity',
        'user-agent': headers['user-agent'] ?? USER_AGENT,
      });
      const path = `${url.pathname}${url.search}`;
      if (!sameOrigin) {
        delete headers.authorization;
        delete headers.cookie;
        delete headers['proxy-authorization'];
      } else {
        const auth = this.#serverAuth.header('GET', path);
        if (auth !== null) headers.authorization = auth;
      }
      if (kind === 'forward') {
        headers.host = url.host;
        const pa = this.#proxyAuth.header('GET', url.href);
        if (pa !== null) headers['proxy-authorization'] = pa;
      }
      // Looked up only when undici carries the request (plain http goes without an Agent).
      const dispatcher = () =>
        dispatcherFor({
          kind,
          proxy: route,
          securityFlags: req.options.securityFlags,
          timeouts: this.#st.timeouts,
          proxyCredentials: req.options.credentials.filter((c) => c.target === 'PROXY'),
        });
      const ex = await this.#send(
        dispatcher,
        kind === 'forward' && route !== null ? route : url,
        kind === 'forward' ? url.href : path,
        headers,
        url,
        kind === 'direct' && plainEligible(url),
      );
      // Whatever throws before the exchange is handed over (the ALLOW_REPORT hook of a 2xx answer,
      // a challenge's parser) drops its body here, unless it was dropped already (a redirect):
      // nobody else would, and its socket and abort listener would stay.
      let dropped = false;
      const drop = (): Promise<void> => {
        dropped = true;
        return ex.discard();
      };
      try {
        const status = ex.status;
        if (REDIRECT_STATUSES.has(status)) {
          await drop();
          url = nextHop(url, status, headerValue(ex.headers, 'location'), req.options.securityFlags, visited, (t) =>
            req.hooks.onRemoteNameChanged(t),
          );
          continue;
        }
        if (status === 401 && sameOrigin && serverChallenges++ === 0) {
          if (this.#serverAuth.accept(parseChallenges(headerValues(ex.headers, 'www-authenticate')))) {
            await drop();
            continue;
          }
        }
        if (status === 407 && kind === 'forward' && proxyChallenges++ === 0) {
          if (this.#proxyAuth.accept(parseChallenges(headerValues(ex.headers, 'proxy-authenticate')))) {
            await drop();
            continue;
          }
        }
        if (status >= 200 && status <= 299) {
          // Both framings at once is how responses get smuggled (aria2 #473): never read such a body.
          if (ex.headers['content-length'] !== undefined && ex.headers['transfer-encoding'] !== undefined) {
            await drop();
            throw transferError('response:both-lengths', 'the response has both Content-Length and Transfer-Encoding');
          }
          this.#current = url;
          if (redirectPolicy(req.options.securityFlags) === 'ALLOW_REPORT' && url.href !== this.#origin.href) {
            if (this.#reported !== url.href) req.hooks.onRemoteNameChanged(url.href);
            this.#reported = url.href;
          }
        }
        return ex;
      } catch (err) {
        if (!dropped) await ex.discard();
        throw err;
      }
    }
  }

  async #send(
    dispatcher: () => Dispatcher,
    to: URL,
    path: string,
    headers: Record<string, string>,
    url: URL,
    plain: boolean,
  ): Promise<Exchange> {
    const { req, timeouts } = this.#st;
    const attempt = new AbortController();
    // The attempt follows the file's signal until the exchange ends (its body read or dropped).
    const unfollow = followSignal(req.signal, attempt);
    const signal = attempt.signal;
    const headersTimer = new PhaseTimer(req.clock, timeouts.headersMs, 'UND_ERR_HEADERS_TIMEOUT', (e) =>
      attempt.abort(e),
    );
    let res: DispatchedResponse | null = null;
    try {
      // Plain http straight into the sink's buffers; undici for the rest and for what it declines.
      if (plain) {
        const fairShare = this.#fairShare;
        res = await plainRequest({ url: to, path, headers, connectTimeoutMs: timeouts.connectMs, fairShare }, signal);
      }
      res ??= await dispatchRequest(
        dispatcher(),
        { origin: to.origin, path, method: 'GET', headers },
        signal,
        this.#fairShare,
      );
    } catch (err) {
      unfollow();
      throw err;
    } finally {
      headersTimer.cancel();
    }
    const idle = new PhaseTimer(req.clock, timeouts.bodyIdleMs, 'UND_ERR_BODY_TIMEOUT', (e) => attempt.abort(e));
    let taken = false;
    return {
      status: res.status,
      headers: res.headers,
      url,
      async pump(take, target) {
        taken = true;
        try {
          await res.pump((chunk) => {
            idle.touch();
            return take(chunk);
          }, target);
        } finally {
          idle.cancel();
          unfollow();
        }
      },
      stop(reason) {
        unfollow();
        res.destroy(reason as Error);
      },
      async discard() {
        idle.cancel();
        try {
          if (taken) {
            res.destroy(new Error('the body was dropped'));
            return;
          }
          taken = true;
          await res.dump(DUMP_LIMIT);
        } finally {
          unfollow();
        }
      },
    };
  }
}
