import type { AuthTarget, Credentials } from '../core/index.ts';
import { type Challenge, DigestSession, pickDigest } from './auth-digest.ts';
import { readQuotedString } from './quoted-string.ts';

/**
 * Credentials for a server (401, WWW-Authenticate → Authorization) or a proxy (407,
 * Proxy-Authenticate → Proxy-Authorization): Basic and Digest, answered after a challenge.
 * NTLM, Negotiate and Passport are not implemented: SetCredentials refuses them (E_NOTIMPL).
 */

const TOKEN = /[!#$%&'*+.^_`|~0-9A-Za-z-]+/uy;

/** Parse WWW-Authenticate / Proxy-Authenticate values (RFC 9110 §11.6.1) into challenges. */
export function parseChallenges(values: readonly string[]): Challenge[] {
  const out: Challenge[] = [];
  for (const value of values) {
    let i = 0;
    let current: { scheme: string; params: Record<string, string> } | null = null;
    const skip = (): void => {
      while (i < value.length && /[\s,]/u.test(value[i] ?? '')) i++;
    };
    while (i < value.length) {
      skip();
      TOKEN.lastIndex = i;
      const tok = TOKEN.exec(value);
      if (tok === null) break;
      i = TOKEN.lastIndex;
      let j = i;
      while (value[j] === ' ' || value[j] === '\t') j++;
      if (value[j] === '=' && current !== null && value[j + 1] !== '=') {
        i = j + 1;
        while (value[i] === ' ' || value[i] === '\t') i++;
        let v = '';
        if (value[i] === '"') {
          ({ text: v, end: i } = readQuotedString(value, i));
        } else {
          TOKEN.lastIndex = i;
          const t = TOKEN.exec(value);
          v = t?.[0] ?? '';
          i = t === null ? i : TOKEN.lastIndex;
        }
        current.params[tok[0].toLowerCase()] = v;
      } else {
        // token68 (e.g. `Negotiate abc==`) is skipped: only Basic and Digest are answered.
        current = { scheme: tok[0].toLowerCase(), params: {} };
        out.push(current);
        while (value[i] === ' ') i++;
        const rest = /^[A-Za-z0-9._~+/-]+=*\s*(,|$)/u.exec(value.slice(i));
        if (rest !== null && !/=\s*[^=,\s]/u.test(rest[0])) i += rest[0].length;
      }
    }
  }
  return out;
}

/** Answers challenges for one target with the job's credentials for that target. */
export class AuthResponder {
  readonly #creds: readonly Credentials[];
  #digest: DigestSession | null = null;
  #basic: string | null = null;
  /** Challenges answered so far; a second 401/407 after an answer means wrong credentials. */
  attempts = 0;

  constructor(target: AuthTarget, credentials: readonly Credentials[]) {
    this.#creds = credentials.filter((c) => c.target === target && c.userName !== null && c.password !== null);
  }

  get hasCredentials(): boolean {
    return this.#creds.length > 0;
  }

  /** Take a challenge; true if it can be answered (Digest preferred over Basic). */
  accept(challenges: readonly Challenge[]): boolean {
    const digestCreds = this.#creds.find((c) => c.scheme === 'DIGEST');
    const digest = pickDigest(challenges);
    if (digestCreds !== undefined && digest !== null) {
      this.#digest = new DigestSession(digest, digestCreds.userName ?? '', digestCreds.password ?? '');
      this.#basic = null;
      return true;
    }
    const basicCreds = this.#creds.find((c) => c.scheme === 'BASIC');
    if (basicCreds !== undefined && challenges.some((c) => c.scheme === 'basic')) {
      this.#basic = `Basic ${Buffer.from(`${basicCreds.userName}:${basicCreds.password}`, 'utf8').toString('base64')}`;
      this.#digest = null;
      return true;
    }
    return false;
  }

  /** The header value for a request, or null before any challenge. */
  header(method: string, uri: string): string | null {
    if (this.#digest !== null) return this.#digest.header(method, uri);
    return this.#basic;
  }
}
