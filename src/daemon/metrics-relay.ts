import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { MetricsSource } from '../api/metrics-route.ts';
import type { ApiLogger } from '../api/server.ts';
import { BitsError } from '../core/bits-error.ts';
import type { Account } from './system-users.ts';

/** Root → relay, and relay → root, over the IPC channel as JSON. */
export type ToRelay = { readonly t: 'metrics'; readonly id: number; readonly text: string };
export type FromRelay =
  | { readonly t: 'listening'; readonly origin: string }
  | { readonly t: 'failed'; readonly message: string }
  | { readonly t: 'scrape'; readonly id: number };

const ENTRY = fileURLToPath(new URL('../../bin/openbits-worker.js', import.meta.url));

/** How long the relay gets to listen. */
const START_TIMEOUT_MS = 15_000;

export interface MetricsRelay {
  /** `http://host:port/metrics`. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * `metrics.listen` for `bitsd --system` (docs/system.md): root parses no HTTP from the network,
 * so the TCP listener is a child process running as `account` (nobody) that asks root for the
 * text of each scrape. The text counts jobs by state and priority and bytes by direction; it
 * names no job, file, URL or user, so every user of the machine may read it.
 */
export async function startMetricsRelay(options: {
  listen: string;
  metrics: MetricsSource;
  account: Account;
  logger: ApiLogger;
  env?: Readonly<Record<string, string | undefined>> | undefined;
}): Promise<MetricsRelay> {
  const { account, logger } = options;
  const from = options.env ?? process.env;
  const child: ChildProcess = spawn(process.execPath, [ENTRY], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'json',
    cwd: '/',
    env: {
      ...(from.PATH === undefined ? {} : { PATH: from.PATH }),
      ...(from.OPENBITS_RUN_FROM === undefined ? {} : { OPENBITS_RUN_FROM: from.OPENBITS_RUN_FROM }),
      HOME: '/',
      OPENBITS_WORKER_ROLE: 'metrics',
      OPENBITS_WORKER_UID: String(account.uid),
      OPENBITS_WORKER_GID: String(account.gid),
      OPENBITS_WORKER_USER: account.name,
      OPENBITS_METRICS_LISTEN: options.listen,
      OPENBITS_METRICS_CONTENT_TYPE: options.metrics.contentType,
    },
  });
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string);
  let origin: string;
  try {
    origin = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('it did not listen in time')), START_TIMEOUT_MS);
      child.on('message', (m: FromRelay) => {
        if (m?.t === 'listening' && typeof m.origin === 'string' && /^http:\/\/\S+$/u.test(m.origin)) {
          clearTimeout(timer);
          resolve(m.origin);
        } else if (m?.t === 'failed') {
          clearTimeout(timer);
          reject(new Error(String(m.message)));
        }
      });
      void exited.then((why) => {
        clearTimeout(timer);
        reject(new Error(`it ended (${why})`));
      });
    });
  } catch (err) {
    child.kill('SIGKILL');
    throw new BitsError(
      'E_FAIL',
      `metrics.listen ${options.listen}: the metrics relay failed: ${(err as Error).message}`,
    );
  }
  // Scrapes: an id the relay chose, answered with the text; nothing else it sends is read.
  child.on('message', (m: FromRelay) => {
    if (m?.t !== 'scrape' || !Number.isSafeInteger(m.id)) return;
    options.metrics.text().then(
      (text) => {
        if (child.connected) child.send({ t: 'metrics', id: m.id, text } satisfies ToRelay);
      },
      (err: unknown) => logger.error({ err }, 'metrics scrape failed'),
    );
  });
  void exited.then((why) => logger.info({ pid: child.pid, why }, 'metrics relay ended'));
  const url = `${origin}/metrics`;
  logger.info({ url, user: account.name, pid: child.pid }, 'metrics listening (relay)');
  return {
    url,
    async close() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
