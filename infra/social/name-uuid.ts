/**
 * Name-based UUIDs (RFC 9562 §5.5, version 5: SHA-1 of a namespace and a name): the same name
 * always gives the same UUID, so a retried request or a replayed event names the same thing.
 */
import { createHash } from 'node:crypto';

/** Meridian's namespace for social names (itself a v4 UUID, fixed forever). */
export const SOCIAL_NAMESPACE = '3b1f5a8e-6c2d-4f7a-9e41-0d6b2c8a7f53';

function bytesOf(uuid: string): Buffer {
  return Buffer.from(uuid.replaceAll('-', ''), 'hex');
}

/** The version-5 UUID of `name` in `namespace`. */
export function nameUuid(name: string, namespace = SOCIAL_NAMESPACE): string {
  const hash = createHash('sha1').update(bytesOf(namespace)).update(name, 'utf8').digest();
  // RFC 9562 §5.5: "set the four most significant bits (bits 12 through 15) of the
  // time_hi_and_version field to the 4-bit version number" (5), and the variant bits to 10.
  hash[6] = ((hash[6] as number) & 0x0f) | 0x50;
  hash[8] = ((hash[8] as number) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
