/**
 * Event ids derived from what identifies a device message, so a redelivery of the same message
 * gets the same id and every consumer absorbs it: RFC 9562 §5.5 UUID version 5 ("name-based,
 * SHA-1"): the first 16 bytes of SHA-1(namespace ‖ name), version nibble 5, variant 10.
 */
import { hash } from 'node:crypto';

/** The namespace of Meridian's device message ids (a fixed random UUID). */
export const DEVICE_MESSAGE_NAMESPACE = '1f0c8b8e-6a3d-4e0b-9a51-3c2f1d7e9b42';

const deviceNamespace = Buffer.from(DEVICE_MESSAGE_NAMESPACE.replaceAll('-', ''), 'hex');

/** UUIDv5 of `name` in a namespace (the device message namespace by default). */
export function uuidV5(name: string, namespace?: string): string {
  const ns = namespace === undefined ? deviceNamespace : Buffer.from(namespace.replaceAll('-', ''), 'hex');
  // One-shot hashing: a bridge computes two hashes per reading, and a Hash object per call showed in its profile.
  const digest = hash('sha1', Buffer.concat([ns, Buffer.from(name, 'utf8')]), 'buffer');
  digest[6] = ((digest[6] as number) & 0x0f) | 0x50;
  digest[8] = ((digest[8] as number) & 0x3f) | 0x80;
  const hex = digest.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The id of a device's telemetry message number `seq`. */
export function telemetryEventId(mqttId: string, seq: number): string {
  return uuidV5(`telemetry/${mqttId}/${seq}`);
}

/** A short hash of a payload (tells a repeat from a different message). */
export function payloadHash(payload: Uint8Array): string {
  return hash('sha1', payload, 'base64url').slice(0, 16);
}
