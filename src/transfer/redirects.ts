import { type ErrorName, redirectPolicy, SecurityFlag } from '../core/index.ts';
import { transferError } from './failure-table.ts';

/**
 * Redirects are followed here, never by undici (bits-client.md §5.10): ALLOW_SILENT (follow,
 * keep the name), ALLOW_REPORT (follow, report the final URL), DISALLOW (fatal
 * HTTP_STATUS_*, report the target). HTTPS→HTTP needs REDIRECT_POLICY_ALLOW_HTTPS_TO_HTTP;
 * only http(s) targets; at most MAX_REDIRECTS hops, no URL twice.
 */

/** Hops followed before ERROR_HTTP_REDIRECT_FAILED. */
export const MAX_REDIRECTS = 10;
/** Statuses followed as redirects (with a Location). */
export const REDIRECT_STATUSES: ReadonlySet<number> = new Set([300, 301, 302, 303, 307, 308]);

const DISALLOWED_NAMES: Readonly<Record<number, ErrorName>> = {
  300: 'HTTP_STATUS_AMBIGUOUS',
  301: 'HTTP_STATUS_MOVED',
  302: 'HTTP_STATUS_REDIRECT',
  303: 'HTTP_STATUS_REDIRECT_METHOD',
  307: 'HTTP_STATUS_REDIRECT_KEEP_VERB',
  308: 'HTTP_STATUS_PERMANENT_REDIRECT',
};

const failed = (message: string) => transferError('redirect:failed', message);

/**
 * Decide one hop: returns the URL to follow, or throws the fatal TransferError. `onDisallowed`
 * receives the target when the policy forbids redirects (the remote name becomes it).
 */
export function nextHop(
  from: URL,
  status: number,
  location: string | null,
  securityFlags: number,
  visited: Set<string>,
  onDisallowed: (target: string) => void,
): URL {
  if (location === null || location.trim() === '') throw failed(`HTTP ${status} without a Location header`);
  let target: URL;
  try {
    target = new URL(location.trim(), from);
  } catch {
    throw failed(`HTTP ${status} to an invalid Location ${JSON.stringify(location)}`);
  }
  target.hash = '';
  // A server's userinfo is neither used nor reported (it would become the job's credentials).
  target.username = '';
  target.password = '';
  if (redirectPolicy(securityFlags) === 'DISALLOW') {
    onDisallowed(target.href);
    throw transferError(
      'redirect:disallowed',
      `the server redirected (${status}) to ${target.href}; the job disallows redirects`,
      { name: DISALLOWED_NAMES[status] ?? 'HTTP_STATUS_REDIRECT' },
    );
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    throw failed(`redirect to a ${target.protocol} URL is refused`);
  }
  if (
    from.protocol === 'https:' &&
    target.protocol === 'http:' &&
    (securityFlags & SecurityFlag.REDIRECT_POLICY_ALLOW_HTTPS_TO_HTTP) === 0
  ) {
    throw failed(`redirect from HTTPS to HTTP (${target.origin}) is refused`);
  }
  if (visited.has(target.href)) throw failed(`redirect loop at ${target.href}`);
  if (visited.size > MAX_REDIRECTS) throw failed(`more than ${MAX_REDIRECTS} redirects`);
  visited.add(target.href);
  return target;
}
