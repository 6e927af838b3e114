/**
 * Standard Webhooks signatures (symmetric, `v1`), with node:crypto.
 *
 * "The content to be signed is therefore: `{msg_id}.{timestamp}.{payload}`"; "a symmetric
 * signature will be v1, followed by a comma (`,`), followed by the base64 encoded signature";
 * secrets are "base64 encoded, prefixed with `whsec_`"; "The signature header is a space
 * delimited list of signatures" — one per secret during a rotation.
 */
import { createHmac, randomBytes } from 'node:crypto';

export const SECRET_PREFIX = 'whsec_';
/** "Random. At least 24 bytes (192 bits, 512 maximum)": 32 bytes. */
const SECRET_BYTES = 32;

/** A new signing secret. */
export function newWebhookSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(SECRET_BYTES).toString('base64')}`;
}

function keyOf(secret: string): Buffer {
  return Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, 'base64');
}

/** The `v1,<base64>` signature of one message at one attempt's timestamp (seconds). */
export function signature(secret: string, messageId: string, timestamp: number, payload: string): string {
  const mac = createHmac('sha256', keyOf(secret)).update(`${messageId}.${timestamp}.${payload}`).digest('base64');
  return `v1,${mac}`;
}

/** The three Standard Webhooks headers of an attempt made at `at` (epoch ms). */
export function webhookHeaders(
  secrets: readonly string[],
  messageId: string,
  at: number,
  payload: string,
): Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> {
  const timestamp = Math.floor(at / 1000);
  return {
    'webhook-id': messageId,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': secrets.map((s) => signature(s, messageId, timestamp, payload)).join(' '),
  };
}
