import { createRequire } from 'node:module';

/**
 * node:http through require(), not an ES import: the ES facade of a builtin reads every export,
 * and node:http's lazy ones (WebSocket, EventSource…) load Node's bundled undici and with it
 * http2, tls, zlib, worker_threads and perf_hooks — about a fifth of a `bitsadmin /list`.
 */
export const http = createRequire(import.meta.url)('node:http') as typeof import('node:http');
