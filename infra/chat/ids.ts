/**
 * Chat's ids: random UUIDs (v4), and UUIDs derived from a name (v5, RFC 9562 §5.5: "SHA-1 of
 * the namespace ID and the name", version 5 in bits 48-51, variant 10 in bits 64-65). A
 * retried send gets the same message id in any region, process or run.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Ids } from '../../domains/chat/ports.ts';

/** Meridian chat's namespace (itself a random UUID, fixed forever). */
export const CHAT_NAMESPACE = '6f1f6c84-5f0e-4a63-9a55-6a3f1c9a1d27';

/** The version 5 UUID of `name` in `namespace`. */
export function uuidV5(name: string, namespace = CHAT_NAMESPACE): string {
  const ns = Buffer.from(namespace.replaceAll('-', ''), 'hex');
  const hash = createHash('sha1').update(ns).update(name, 'utf8').digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The Ids port for chat. */
export const chatIds: Ids = { uuid: () => randomUUID(), fromName: (name) => uuidV5(name) };
