import type { SystemPaths } from '../api/paths.ts';
import { BitsError, type BitsErrorData } from '../core/bits-error.ts';
import { http } from './node-http.ts';

/** How long the system bitsd gets to make a user's socket. */
const HELLO_TIMEOUT_MS = 10_000;

/**
 * Ask the system bitsd for this user's socket (it makes `users/<uid>.sock`, owned by the uid,
 * on the first hello after it starts). RPC_S_SERVER_UNAVAILABLE when no system bitsd runs.
 */
export function sayHello(paths: SystemPaths, uid: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        socketPath: paths.helloPath,
        method: 'POST',
        path: '/v1/hello',
        headers: { 'content-type': 'application/json' },
        timeout: HELLO_TIMEOUT_MS,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          let body: { socketPath?: unknown; error?: BitsErrorData };
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            reject(new BitsError('E_FAIL', `the system bitsd's hello socket answered no JSON (${paths.helloPath})`));
            return;
          }
          if (res.statusCode === 200 && typeof body.socketPath === 'string') resolve(body.socketPath);
          else if (body.error !== undefined) reject(BitsError.from(body.error));
          else reject(new BitsError('E_FAIL', `the system bitsd's hello failed with HTTP ${res.statusCode}`));
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err: NodeJS.ErrnoException) => {
      const absent = err.code === 'ENOENT' || err.code === 'ECONNREFUSED';
      reject(
        new BitsError(
          'RPC_S_SERVER_UNAVAILABLE',
          absent
            ? `the system bitsd is not running (nothing answers at ${paths.helloPath}; systemctl start openbits-system)`
            : `the system bitsd's hello socket failed: ${err.message}`,
          { cause: err },
        ),
      );
    });
    req.end(JSON.stringify({ uid }));
  });
}
