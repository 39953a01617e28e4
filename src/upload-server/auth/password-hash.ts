/**
 * Password hashes of the htpasswd-style file: scrypt from node:crypto (our own `$scrypt$` form,
 * what `bits-upload-server hash-password` writes) and bcrypt (`$2a$`/`$2b$`/`$2y$`, as
 * `htpasswd -B` writes) checked with bcryptjs, a pure-JavaScript implementation.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';

const SCRYPT = /^\$scrypt\$N=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;
const BCRYPT = /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/;
const DEFAULT_N = 16384;
const KEY_LENGTH = 32;

function scryptAsync(password: string, salt: Buffer, n: number, r: number, p: number, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, length, { N: n, r, p, maxmem: 256 * n * r + 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

/** Whether `hash` is a form we can verify. */
export function isSupportedHash(hash: string): boolean {
  return SCRYPT.test(hash) || BCRYPT.test(hash);
}

/** A new scrypt hash of `password` with a random 16-byte salt. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, DEFAULT_N, 8, 1, KEY_LENGTH);
  return `$scrypt$N=${DEFAULT_N},r=8,p=1$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** Check a password against a scrypt or bcrypt hash (false for any other form). */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const m = SCRYPT.exec(hash);
  if (m !== null) {
    const [n, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
    // Bounds keep a hostile file from asking for gigabytes of memory.
    if (n < 2 || n > 2 ** 20 || (n & (n - 1)) !== 0 || r < 1 || r > 32 || p < 1 || p > 16) return false;
    const expected = Buffer.from(m[5] ?? '', 'base64');
    if (expected.length < 16) return false;
    const key = await scryptAsync(password, Buffer.from(m[4] ?? '', 'base64'), n, r, p, expected.length);
    return timingSafeEqual(key, expected);
  }
  if (BCRYPT.test(hash)) return bcrypt.compare(password, hash);
  return false;
}
