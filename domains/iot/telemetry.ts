/**
 * What devices publish, read from the MQTT payload: telemetry (`{"seq", "ts", "metrics"}`),
 * status (`{"online"}`) and firmware job progress (`{"status", "progress", "reason"}`).
 * Reading here extracts what the bridge needs before schema validation (above all the
 * sequence number, which orders a device's messages); the full check is the event's JSON
 * Schema, applied to the event built from it. A refused message gets a code and a reason,
 * which go to the dead-letter topic and to the device.
 */
import type { DeviceMessageKind } from './topics.ts';

/** Why a device message was refused. */
export const REJECTIONS = [
  'PAYLOAD_TOO_LARGE',
  'MALFORMED_JSON',
  'SCHEMA_VIOLATION',
  'SEQUENCE_BACKWARDS',
  'UNKNOWN_TOPIC',
] as const;
export type RejectionCode = (typeof REJECTIONS)[number];

/** Largest telemetry/status/progress payload the platform accepts (the broker cuts off at 256 KiB). */
export const MAX_PAYLOAD_BYTES = 16 * 1024;

export interface Rejection {
  readonly ok: false;
  readonly code: RejectionCode;
  readonly reason: string;
  /** The message's sequence number, when it could be read. */
  readonly seq?: number;
}

export interface Accepted {
  readonly ok: true;
  /** The event's `data`, before schema validation. */
  readonly data: Record<string, unknown>;
  /** Telemetry only. */
  readonly seq?: number;
}

export type ReadResult = Accepted | Rejection;

function reject(code: RejectionCode, reason: string, seq?: number): Rejection {
  return seq === undefined ? { ok: false, code, reason } : { ok: false, code, reason, seq };
}

/** A sequence number: a non-negative safe integer. */
export function isSeq(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Where and when a message arrived: added to what the device sent. */
export interface Arrival {
  readonly deviceId: string;
  readonly kind: DeviceMessageKind;
  readonly jobId?: string;
  readonly receivedAt: string;
  readonly region: string;
}

/** Reads one device message; the size is checked on the raw bytes before this is called. */
export function readDeviceMessage(text: string, arrival: Arrival): ReadResult {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    return reject('MALFORMED_JSON', `payload is not JSON: ${(err as Error).message}`);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return reject('SCHEMA_VIOLATION', 'payload must be a JSON object');
  }
  const fields = body as Record<string, unknown>;
  const base = { deviceId: arrival.deviceId, receivedAt: arrival.receivedAt, region: arrival.region };
  switch (arrival.kind) {
    case 'telemetry': {
      const seq = fields.seq;
      if (!isSeq(seq)) return reject('SCHEMA_VIOLATION', 'seq must be a non-negative integer');
      // The device's fields first: the platform's own (deviceId, receivedAt, region) win, and a
      // device sending them is refused by the schema only if their value is malformed.
      return { ok: true, seq, data: { ...fields, ...base } };
    }
    case 'status':
    case 'progress':
      return {
        ok: true,
        data: { ...fields, ...base, ...(arrival.jobId !== undefined ? { jobId: arrival.jobId } : {}) },
      };
  }
}

/** A UTF-8 byte length check, before anything is parsed. */
export function tooLarge(bytes: number): Rejection | undefined {
  return bytes > MAX_PAYLOAD_BYTES
    ? reject('PAYLOAD_TOO_LARGE', `payload is ${bytes} bytes; the limit is ${MAX_PAYLOAD_BYTES}`)
    : undefined;
}

/** What the device is told on `devices/<id>/commands/rejected` when a message of its is refused. */
export interface RejectionNotice {
  readonly topic: string;
  readonly code: RejectionCode;
  readonly reason: string;
  readonly seq: number | null;
  /** For SEQUENCE_BACKWARDS: the highest sequence number the platform accepted; continue after it. */
  readonly lastAccepted?: number;
}
