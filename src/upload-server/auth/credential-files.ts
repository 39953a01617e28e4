/**
 * The credential files of the command line: `--htpasswd FILE` (lines `user:hash`, scrypt or
 * bcrypt) and `--bearer-tokens FILE` (lines `user:sha256-hex-of-the-token`, so the file holds no
 * usable secret). Blank lines and `#` comments are skipped; a malformed line stops the start
 * with its line number, so a typo never silently locks a user out or lets one in.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isSupportedHash } from './password-hash.ts';

const USER = /^[^\s:]{1,256}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

function entries(text: string, file: string, check: (value: string) => boolean, what: string) {
  const out = new Map<string, string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    const user = line.slice(0, colon);
    const value = line.slice(colon + 1);
    if (colon <= 0 || !USER.test(user) || !check(value)) {
      throw new RangeError(`${file}:${i + 1}: expected user:${what}`);
    }
    out.set(user, value);
  });
  return out;
}

/** user → password hash. */
export async function readPasswordFile(file: string): Promise<Map<string, string>> {
  return entries(await readFile(file, 'utf8'), file, isSupportedHash, 'scrypt-or-bcrypt-hash');
}

/** sha256-hex of a token → user. */
export async function readTokenFile(file: string): Promise<Map<string, string>> {
  const byUser = entries(await readFile(file, 'utf8'), file, (v) => SHA256_HEX.test(v.toLowerCase()), 'sha256-hex');
  return new Map([...byUser].map(([user, digest]) => [digest.toLowerCase(), user]));
}

/** The digest stored in a token file for `token`. */
export function tokenDigest(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
