/** Random ids, webhook secrets and partner passwords from node:crypto (the Secrets port). */
import { randomBytes } from 'node:crypto';
import type { Secrets } from '../../domains/partners/ports.ts';
import { newWebhookSecret } from './webhook-signature.ts';

export const cryptoSecrets: Secrets = {
  webhookSecret: newWebhookSecret,
  // 32 random bytes: far beyond guessing, and safe in a URL, a SOAP header and an AMQP URI.
  password: () => randomBytes(32).toString('base64url'),
  id: (prefix) => `${prefix}${randomBytes(16).toString('hex')}`,
};
