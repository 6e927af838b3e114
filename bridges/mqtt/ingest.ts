/**
 * One MQTT message from a device, turned into what goes to Kafka: the event (envelope checked
 * against its JSON Schema) or a refusal (dead-letter record plus a notice to the device).
 *
 * Topics (domains/iot/topics.ts): `devices/<tenant>.<id>/telemetry` → `iot.telemetry.raw.v1`,
 * `…/status` → `iot.status.reported.v1`, `…/jobs/<jobId>/progress` →
 * `iot.progress.reported.v1`. Kafka key: the device's MQTT id (one device, one
 * partition, its order). A telemetry event's id is derived from the device and its `seq`, so a
 * redelivered message is the same event.
 */
import { randomUUID } from 'node:crypto';
import { IOT_EVENTS } from '../../domains/iot/events.ts';
import type { SequenceItem } from '../../domains/iot/sequence.ts';
import { MAX_PAYLOAD_BYTES, type RejectionCode, readDeviceMessage, tooLarge } from '../../domains/iot/telemetry.ts';
import { type DeviceMessageKind, deviceTopics, parseDeviceTopic } from '../../domains/iot/topics.ts';
import { isDomainError } from '../../domains/shared/errors.ts';
import type { Envelope } from '../../infra/events/envelope.ts';
import type { EventRegistry } from '../../infra/events/registry.ts';
import { payloadHash, telemetryEventId, uuidV5 } from '../../infra/iot/event-id.ts';
import { messageTraceparent } from '../../infra/telemetry/context.ts';

const TYPE_OF: Record<DeviceMessageKind, string> = {
  telemetry: IOT_EVENTS.telemetryRaw,
  status: IOT_EVENTS.statusReported,
  progress: IOT_EVENTS.progressReported,
};

/** An accepted message: its event, and for telemetry the ordering gate's view of it. */
export interface IngestedEvent {
  readonly ok: true;
  readonly envelope: Envelope;
  readonly key: string;
  readonly sequence?: SequenceItem;
}

/** A refused message: what the dead-letter record and the device's notice say. */
export interface IngestedRejection {
  readonly ok: false;
  /** The event type the message would have been (its dead-letter topic is `<type>.dlq`). */
  readonly type: string;
  /** The device's MQTT id, when the topic names one. */
  readonly key: string | undefined;
  readonly code: RejectionCode;
  readonly reason: string;
  /** The telemetry sequence number, when it could be read (and the payload hash, for the gate). */
  readonly sequence?: Omit<SequenceItem, 'redelivered'>;
  /** Where to tell the device. */
  readonly noticeTopic: string | undefined;
}

export type Ingested = IngestedEvent | IngestedRejection;

export interface IngestContext {
  readonly region: string;
  readonly registry: EventRegistry;
  /** MQTT DUP flag of the delivery. */
  readonly redelivered: boolean;
  readonly receivedAt: string;
  /** The device's trace context (MQTT 5 user property), which the event continues. */
  readonly traceparent?: string;
}

/** Reads, builds and validates one device message. */
export function ingest(topic: string, payload: Buffer, ctx: IngestContext): Ingested {
  const parsed = parseDeviceTopic(topic);
  if (!parsed) {
    return {
      ok: false,
      type: IOT_EVENTS.telemetryRaw,
      key: undefined,
      code: 'UNKNOWN_TOPIC',
      reason: `not a device topic: ${topic.slice(0, 200)}`,
      noticeTopic: undefined,
    };
  }
  const type = TYPE_OF[parsed.kind];
  const refuse = (code: RejectionCode, reason: string, seq?: number): IngestedRejection => ({
    ok: false,
    type,
    key: parsed.mqttId,
    code,
    reason,
    noticeTopic: deviceTopics(parsed.mqttId).rejected,
    ...(seq !== undefined ? { sequence: { key: parsed.mqttId, seq, hash: payloadHash(payload) } } : {}),
  });
  const big = tooLarge(payload.byteLength);
  if (big) return refuse(big.code, big.reason);
  const read = readDeviceMessage(payload.toString('utf8'), {
    deviceId: parsed.deviceId,
    kind: parsed.kind,
    ...(parsed.jobId !== undefined ? { jobId: parsed.jobId } : {}),
    receivedAt: ctx.receivedAt,
    region: ctx.region,
  });
  if (!read.ok) return refuse(read.code, read.reason, read.seq);
  const id =
    parsed.kind === 'telemetry'
      ? telemetryEventId(parsed.mqttId, read.seq as number)
      : parsed.kind === 'progress'
        ? uuidV5(`progress/${parsed.mqttId}/${parsed.jobId}/${payloadHash(payload)}`)
        : randomUUID();
  const envelope: Envelope = {
    specversion: '1.0',
    id,
    type,
    source: `/regions/${ctx.region}/mqtt-bridge`,
    time: ctx.receivedAt,
    subject: parsed.mqttId,
    tenant: parsed.tenant,
    traceparent: messageTraceparent(ctx.traceparent, { system: 'kafka', destination: type }),
    datacontenttype: 'application/json',
    data: read.data,
  };
  try {
    ctx.registry.assertValid(envelope);
  } catch (err) {
    const reason = isDomainError(err) ? err.message.replace(/^.*? violates its schema: /, '') : String(err);
    return refuse('SCHEMA_VIOLATION', reason.slice(0, 500), read.seq);
  }
  return {
    ok: true,
    envelope,
    key: parsed.mqttId,
    ...(read.seq !== undefined
      ? { sequence: { key: parsed.mqttId, seq: read.seq, hash: payloadHash(payload), redelivered: ctx.redelivered } }
      : {}),
  };
}

export { MAX_PAYLOAD_BYTES };
