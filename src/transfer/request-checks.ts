import { BitsError, validateCustomHeaders } from '../core/index.ts';
import { transferError } from './transfer-error.ts';

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
    throw transferError('fatal', 'E_INVALIDARG', 'GENERAL_TRANSPORT', message, { cause: err });
  }
  let url: URL;
  try {
    url = new URL(remoteName);
  } catch (err) {
    throw transferError('fatal', 'E_INVALIDARG', 'REMOTE_FILE', `not a URL: ${remoteName}`, { cause: err });
  }
  if (!schemes.includes(url.protocol)) {
    throw transferError(
      'fatal',
      'E_INVALIDARG',
      'REMOTE_FILE',
      `unsupported protocol ${url.protocol} (expected ${schemes.join(' or ')})`,
    );
  }
  return url;
}
