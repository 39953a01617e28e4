import { createHash, randomBytes } from 'node:crypto';

/**
 * Server side of Basic and Digest (RFC 7616) for the test origin and proxy: issue a challenge,
 * check an answer independently of the engine's implementation.
 */

export interface AuthSpec {
  readonly scheme: 'basic' | 'digest';
  readonly user: string;
  readonly password: string;
  readonly algorithm?: 'MD5' | 'SHA-256';
  readonly realm?: string;
}

export class AuthChecker {
  readonly #spec: AuthSpec;
  readonly #nonce = randomBytes(12).toString('hex');

  constructor(spec: AuthSpec) {
    this.#spec = spec;
  }

  challenge(): string {
    const realm = this.#spec.realm ?? 'openbits-test';
    if (this.#spec.scheme === 'basic') return `Basic realm="${realm}"`;
    return `Digest realm="${realm}", qop="auth", algorithm=${this.#spec.algorithm ?? 'MD5'}, nonce="${this.#nonce}", opaque="op4que"`;
  }

  /** True when `header` (Authorization / Proxy-Authorization) answers correctly for `method uri`. */
  check(header: string | undefined, method: string, uri: string): boolean {
    if (header === undefined) return false;
    const { user, password } = this.#spec;
    if (this.#spec.scheme === 'basic') {
      return header === `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    }
    if (!header.startsWith('Digest ')) return false;
    const p: Record<string, string> = {};
    for (const m of header.slice(7).matchAll(/(\w+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/gu)) {
      p[m[1] ?? ''] = m[2] ?? m[3] ?? '';
    }
    const alg = this.#spec.algorithm ?? 'MD5';
    const h = (s: string) =>
      createHash(alg === 'MD5' ? 'md5' : 'sha256')
        .update(s)
        .digest('hex');
    if (p.username !== user || p.nonce !== this.#nonce || p.uri !== uri || p.opaque !== 'op4que') return false;
    const ha1 = h(`${user}:${this.#spec.realm ?? 'openbits-test'}:${password}`);
    const ha2 = h(`${method}:${uri}`);
    return p.response === h(`${ha1}:${p.nonce}:${p.nc}:${p.cnonce}:${p.qop}:${ha2}`);
  }
}
