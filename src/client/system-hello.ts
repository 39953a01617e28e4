import type { SystemPaths } from '../api/paths.ts';
import { BitsError, type BitsErrorData } from '../core/bits-error.ts';
import { UnixHttpClient, type UnixReply } from './unix-http.ts';

/** How long the system bitsd gets to make a user's socket. */
const HELLO_TIMEOUT_MS = 10_000;

/**
 * Ask the system bitsd for this user's socket (it makes `users/<uid>.sock`, owned by the uid,
 * on the first hello after it starts). RPC_S_SERVER_UNAVAILABLE when no system bitsd runs.
 */
export async function sayHello(paths: SystemPaths, uid: number): Promise<string> {
  const client = new UnixHttpClient(paths.helloPath);
  let res: UnixReply;
  try {
    res = await client.request({
      method: 'POST',
      path: '/v1/hello',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ uid }),
      timeoutMs: HELLO_TIMEOUT_MS,
      keepAlive: false,
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const absent = code === 'ENOENT' || code === 'ECONNREFUSED';
    throw new BitsError(
      'RPC_S_SERVER_UNAVAILABLE',
      absent
        ? `the system bitsd is not running (nothing answers at ${paths.helloPath}; systemctl start openbits-system)`
        : `the system bitsd's hello socket failed: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const status = res.statusCode;
  const text = await res.text();
  let body: { socketPath?: unknown; error?: BitsErrorData };
  try {
    body = JSON.parse(text);
  } catch {
    throw new BitsError('E_FAIL', `the system bitsd's hello socket answered no JSON (${paths.helloPath})`);
  }
  if (status === 200 && typeof body.socketPath === 'string') return body.socketPath;
  if (body.error !== undefined) throw BitsError.from(body.error);
  throw new BitsError('E_FAIL', `the system bitsd's hello failed with HTTP ${status}`);
}
