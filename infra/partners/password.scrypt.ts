/**
 * The PasswordHasher with scrypt (node:crypto): `scrypt$N$r$p$<salt>$<key>` (base64url), compared
 * in constant time. An unknown user is verified against a throwaway hash, costing the same.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type { PasswordHasher } from '../../domains/partners/ports.ts';

const N = 16384;
const R = 8;
const P = 1;
const KEY_BYTES = 32;

function derive(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, KEY_BYTES, { N: n, r, p, maxmem: 64 * 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

const DECOY = `scrypt$${N}$${R}$${P}$${randomBytes(16).toString('base64url')}$${randomBytes(KEY_BYTES).toString('base64url')}`;

export const scryptHasher: PasswordHasher = {
  async hash(password) {
    const salt = randomBytes(16);
    const key = await derive(password, salt, N, R, P);
    return `scrypt$${N}$${R}$${P}$${salt.toString('base64url')}$${key.toString('base64url')}`;
  },
  async verify(password, hash) {
    const parts = (hash ?? DECOY).split('$');
    const [scheme, n, r, p, salt, key] = parts;
    if (parts.length !== 6 || scheme !== 'scrypt' || !salt || !key) return false;
    const expected = Buffer.from(key, 'base64url');
    if (expected.length !== KEY_BYTES || ![n, r, p].every((x) => /^\d{1,6}$/.test(x ?? ''))) return false;
    const actual = await derive(password, Buffer.from(salt, 'base64url'), Number(n), Number(r), Number(p));
    return timingSafeEqual(actual, expected) && hash !== undefined;
  },
};
