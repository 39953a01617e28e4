import { BitsError, validateCustomHeaders } from '../core/index.ts';
import { transferError } from './failure-table.ts';

/**
 * The checks both engines make before the first byte: custom headers still valid (no CR/LF, no
 * reserved names — they may come from an old record) and a remote name with a scheme the engine
 * speaks. Failures are fatal: retrying would not change them.
 */
export function checkRemoteRequest(
  remoteName: string,
  customHeaders: ReadonlyArray<readonly [string, string]>,
  schemes: readonly string[],
): URL {
  try {
    validateCustomHeaders(customHeaders.map(([name, value]) => `${name}: ${value}`));
  } catch (err) {
    const message = err instanceof BitsError ? err.message : String(err);
    throw transferError('request:invalid-header', message, { cause: err });
  }
  let url: URL;
  try {
    url = new URL(remoteName);
  } catch (err) {
    throw transferError('request:invalid-url', `not a URL: ${remoteName}`, { cause: err });
  }
  if (!schemes.includes(url.protocol)) {
    throw transferError(
      'request:invalid-url',
      `unsupported protocol ${url.protocol} (expected ${schemes.join(' or ')})`,
    );
  }
  return url;
}
