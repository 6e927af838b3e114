/**
 * Event ids derived from what identifies a device message, so a redelivery of the same message
 * gets the same id and every consumer absorbs it: RFC 9562 §5.5 UUID version 5 ("name-based,
 * SHA-1"): the first 16 bytes of SHA-1(namespace ‖ name), version nibble 5, variant 10.
 */
import { hash } from 'node:crypto';

/** The namespace of Meridian's device message ids (a fixed random UUID). */
export const DEVICE_MESSAGE_NAMESPACE = '1f0c8b8e-6a3d-4e0b-9a51-3c2f1d7e9b42';

const deviceNamespace = Buffer.from(DEVICE_MESSAGE_NAMESPACE.replaceAll('-', ''), 'hex');

/** Namespace ‖ name, hashed from one buffer (a bridge makes an id per reading: no buffers per call). */
const scratch = Buffer.alloc(1024);
deviceNamespace.copy(scratch);

/** UUIDv5 of `name` in a namespace (the device message namespace by default). */
export function uuidV5(name: string, namespace?: string): string {
  let input: Buffer;
  if (namespace === undefined && Buffer.byteLength(name) <= scratch.length - 16) {
    input = scratch.subarray(0, 16 + scratch.write(name, 16));
  } else {
    const ns = namespace === undefined ? deviceNamespace : Buffer.from(namespace.replaceAll('-', ''), 'hex');
    input = Buffer.concat([ns, Buffer.from(name, 'utf8')]);
  }
  const hex = hash('sha1', input, 'hex');
  // Version 5 (the 13th hex digit), variant 10 (the top two bits of the 17th).
  const variant = ((Number.parseInt(hex[16] as string, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The id of a device's telemetry message number `seq`. */
export function telemetryEventId(mqttId: string, seq: number): string {
  return uuidV5(`telemetry/${mqttId}/${seq}`);
}

/**
 * A short hash of a payload: tells a device's repeat of a message from a different message under
 * the same number (the ordering gate keeps it per settled number, shared by every bridge process,
 * so it must not change between versions). 64 bits of two multiply-xorshift lanes (cyrb53's mixing),
 * not a cryptographic hash: a device that forged a collision would only have its own message taken
 * for a repeat of its own earlier one. A SHA-1 here cost a bridge about 2 µs per reading.
 */
export function payloadHash(payload: Uint8Array): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < payload.length; i++) {
    const b = payload[i] as number;
    h1 = Math.imul(h1 ^ b, 2654435761);
    h2 = Math.imul(h2 ^ b, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (h2 >>> 0).toString(16).padStart(8, '0') + (h1 >>> 0).toString(16).padStart(8, '0');
}
