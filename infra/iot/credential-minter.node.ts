/**
 * Device passwords: 192 random bits (base64url), stored only as a SHA-256 hash. A slow password
 * hash buys nothing for a random secret of this size (it is not guessable), and the broker keeps
 * its own salted PBKDF2 hash for logins.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { CredentialMinter } from '../../domains/iot/ports.ts';

export const nodeCredentialMinter: CredentialMinter = {
  newPassword: () => randomBytes(24).toString('base64url'),
  hash: (password) => `sha256:${createHash('sha256').update(password).digest('hex')}`,
};
