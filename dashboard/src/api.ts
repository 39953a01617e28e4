/**
 * The dashboard's calls: the bitsd API (docs/api.md) on the dashboard's own origin, which
 * forwards /v1/* to bitsd for a caller with the user's token (`Authorization: Bearer`).
 */
import type { JobInfo, ManagerEvent, PolicyDocument } from '../../src/api/bits-manager.ts';

export type { JobInfo, ManagerEvent, PolicyDocument };

/** An API failure: the BITS error envelope's fields. */
export class ApiError extends Error {
  readonly code: string;
  readonly status: number;

  constructor(code: string, message: string, status: number) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

const TOKEN_KEY = 'openbits-dashboard-token';

/**
 * The token: from the address's fragment (`#token=…`, as the CLI prints it; the fragment never
 * reaches a server or a Referer), kept in this origin's localStorage, then dropped from the
 * address bar. Undefined when the page was opened without one.
 */
export function takeToken(): string | undefined {
  const fromUrl = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromUrl !== null) {
    localStorage.setItem(TOKEN_KEY, fromUrl);
    history.replaceState(null, '', location.pathname);
  }
  return localStorage.getItem(TOKEN_KEY) ?? undefined;
}

export function forgetToken(): void {
  localStorage.removeItem(TOKEN_KEY);
}

function authHeaders(): Record<string, string> {
  const token = localStorage.getItem(TOKEN_KEY);
  return token === null ? {} : { authorization: `Bearer ${token}` };
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    headers: { ...authHeaders(), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    throw new ApiError('E_FAIL', `${method} ${path}: ${res.status} ${text.slice(0, 200)}`, res.status);
  }
  if (!res.ok) {
    const e = (parsed as { error?: { name?: string; message?: string } } | undefined)?.error;
    throw new ApiError(e?.name ?? 'E_FAIL', e?.message ?? `${method} ${path}: ${res.status}`, res.status);
  }
  return parsed as T;
}

const job = (id: string): string => `/v1/jobs/${encodeURIComponent(id)}`;

export const api = {
  status: () => call<{ version: string; pid: number; startedAt: number }>('GET', '/v1/status'),
  jobs: async () => (await call<{ jobs: JobInfo[] }>('GET', '/v1/jobs')).jobs,
  job: (id: string) => call<JobInfo>('GET', job(id)),
  create: (displayName: string) => call<JobInfo>('POST', '/v1/jobs', { displayName, type: 'DOWNLOAD' }),
  addFiles: (id: string, files: Array<{ remoteName: string; localName: string }>) =>
    call<void>('POST', `${job(id)}/file-set`, { files }),
  resume: (id: string) => call<void>('POST', `${job(id)}/resume`),
  suspend: (id: string) => call<void>('POST', `${job(id)}/suspend`),
  cancel: (id: string) => call<{ result: string }>('POST', `${job(id)}/cancel`),
  complete: (id: string) => call<{ result: string }>('POST', `${job(id)}/complete`),
  setPriority: (id: string, value: string) => call<void>('PUT', `${job(id)}/priority`, { value }),
  policy: async () => (await call<{ policy: PolicyDocument }>('GET', '/v1/policy')).policy,
};

/**
 * The live event stream (SSE, docs/api.md) read with fetch, which can send the token header
 * (EventSource cannot). Reconnects after a second when it drops; `onReady` runs on every
 * (re)connection, when the caller should re-read the list to catch what it missed.
 */
export function watchEvents(handlers: {
  onEvent(e: ManagerEvent): void;
  onReady(): void;
  onDown(unauthorized: boolean): void;
}): () => void {
  let stopped = false;
  let abort = new AbortController();
  const connect = async (): Promise<void> => {
    let unauthorized = false;
    try {
      const res = await fetch('/v1/events', { headers: authHeaders(), signal: abort.signal });
      unauthorized = res.status === 401;
      if (!res.ok || res.body === null) throw new Error(`event stream: ${res.status}`);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          dispatch(buffer.slice(0, end), handlers);
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf('\n\n');
        }
      }
    } catch {
      // dropped or refused: reconnect below
    }
    if (stopped) return;
    handlers.onDown(unauthorized);
    if (unauthorized) return;
    setTimeout(() => {
      if (stopped) return;
      abort = new AbortController();
      void connect();
    }, 1000);
  };
  void connect();
  return () => {
    stopped = true;
    abort.abort();
  };
}

/** One SSE message: `event:` and `data:` lines (comments, the heartbeat, start with `:`). */
function dispatch(message: string, handlers: { onEvent(e: ManagerEvent): void; onReady(): void }): void {
  let event = 'message';
  let data = '';
  for (const line of message.split('\n')) {
    if (line.startsWith('event:')) event = line.slice(6).trim();
    else if (line.startsWith('data:')) data += line.slice(5).trim();
  }
  if (event === 'ready') handlers.onReady();
  else if (data !== '') handlers.onEvent(JSON.parse(data) as ManagerEvent);
}
