/**
 * The authentication of the command line as an `authorize` hook: HTTP Basic against the
 * password file, `Bearer` tokens against the token file. NTLM, Negotiate and Kerberos are not
 * implemented: such a request gets 401 with `BITS-Error-Code: 0x80004001` (E_NOTIMPL) and the
 * schemes we do offer, so a client can fall back to Basic (issue 12 item 10). A deployment
 * that needs them plugs its own hook in (it gets a per-connection id for exactly that).
 */
import { createHash } from 'node:crypto';
import type { AuthDecision, AuthHook, AuthRequest } from '../options.ts';
import { tokenDigest } from './credential-files.ts';
import { verifyPassword } from './password-hash.ts';

export interface CredentialSources {
  /** user → scrypt/bcrypt hash (`--htpasswd`). */
  readonly passwords?: ReadonlyMap<string, string>;
  /** sha256-hex of a token → user (`--bearer-tokens`). */
  readonly tokens?: ReadonlyMap<string, string>;
  readonly realm?: string;
}

/** Verified Basic credentials are remembered this long, so each fragment costs no new scrypt. */
const CACHE_MS = 5 * 60 * 1000;
const CACHE_ENTRIES = 1024;
const UNSUPPORTED = /^(ntlm|negotiate|kerberos)(\s|$)/i;

/** Build the hook; `now` is the server's clock (wall milliseconds). */
export function credentialsAuth(sources: CredentialSources, now: () => number): AuthHook {
  const realm = (sources.realm ?? 'BITS uploads').replace(/["\\\r\n]/g, '');
  const challenges: Array<[string, string]> = [];
  if (sources.passwords !== undefined) challenges.push(['WWW-Authenticate', `Basic realm="${realm}", charset="UTF-8"`]);
  if (sources.tokens !== undefined) challenges.push(['WWW-Authenticate', `Bearer realm="${realm}"`]);
  const deny = (errorName?: 'E_NOTIMPL'): AuthDecision => ({
    allow: false,
    status: 401,
    headers: challenges,
    ...(errorName !== undefined && { errorName }),
  });
  const verified = new Map<string, { user: string; until: number }>();

  return async (req: AuthRequest): Promise<AuthDecision> => {
    const value = req.headers.get('authorization')?.[0];
    if (value === undefined) return deny();
    if (UNSUPPORTED.test(value)) return deny('E_NOTIMPL');
    const space = value.indexOf(' ');
    const scheme = value.slice(0, space === -1 ? value.length : space).toLowerCase();
    const param = space === -1 ? '' : value.slice(space + 1).trim();
    if (scheme === 'bearer' && sources.tokens !== undefined) {
      const user = sources.tokens.get(tokenDigest(param));
      return user === undefined ? deny() : { allow: true, user };
    }
    if (scheme !== 'basic' || sources.passwords === undefined) return deny();
    const key = createHash('sha256').update(value).digest('hex');
    const hit = verified.get(key);
    if (hit !== undefined && hit.until > now()) return { allow: true, user: hit.user };
    const decoded = Buffer.from(param, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) return deny();
    const user = decoded.slice(0, colon);
    const hash = sources.passwords.get(user);
    if (hash === undefined || !(await verifyPassword(decoded.slice(colon + 1), hash))) return deny();
    verified.delete(key);
    verified.set(key, { user, until: now() + CACHE_MS });
    if (verified.size > CACHE_ENTRIES) verified.delete(verified.keys().next().value as string);
    return { allow: true, user };
  };
}
