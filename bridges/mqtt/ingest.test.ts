import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IOT_EVENTS } from '../../domains/iot/events.ts';
import { eventRegistry } from '../../infra/events/registry.ts';
import { telemetryEventId } from '../../infra/iot/event-id.ts';
import { parseTraceparent } from '../../infra/telemetry/traceparent.ts';
import { bridgeSettings } from './config.ts';
import { traceparentOf } from './connection.ts';
import { ingest } from './ingest.ts';

const ctx = { region: 'east', registry: eventRegistry(), redelivered: false, receivedAt: '2026-11-30T12:00:00.000Z' };
const body = (v: unknown) => Buffer.from(JSON.stringify(v));

describe('ingest: a device message into an event or a refusal', () => {
  it('telemetry: the event of the device, in its tenant, with an id derived from device and seq', () => {
    const r = ingest(
      'devices/acme.s1/telemetry',
      body({ seq: 4, ts: '2026-11-30T11:59:59Z', metrics: { t: 21.5 } }),
      ctx,
    );
    assert.ok(r.ok);
    assert.deepEqual(
      [r.envelope.type, r.envelope.tenant, r.envelope.subject, r.key, r.envelope.id],
      [IOT_EVENTS.telemetryRaw, 'acme', 'acme.s1', 'acme.s1', telemetryEventId('acme.s1', 4)],
    );
    assert.deepEqual(r.sequence && [r.sequence.key, r.sequence.seq, r.sequence.redelivered], ['acme.s1', 4, false]);
  });

  it("continues the device's trace (MQTT 5 user property traceparent), else starts one", () => {
    const device = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const traced = ingest(
      'devices/acme.s1/telemetry',
      body({ seq: 5, ts: '2026-11-30T11:59:59Z', metrics: { t: 1 } }),
      {
        ...ctx,
        traceparent: device,
      },
    );
    assert.ok(traced.ok);
    assert.equal(parseTraceparent(traced.envelope.traceparent)?.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.notEqual(parseTraceparent(traced.envelope.traceparent)?.spanId, '00f067aa0ba902b7', 'a span of its own');
    const untraced = ingest(
      'devices/acme.s1/telemetry',
      body({ seq: 6, ts: '2026-11-30T11:59:59Z', metrics: { t: 1 } }),
      ctx,
    );
    assert.ok(untraced.ok && parseTraceparent(untraced.envelope.traceparent));
    assert.equal(traceparentOf({ properties: { userProperties: { traceparent: [device, 'x'] } } }), device);
    assert.equal(traceparentOf({ properties: {} }), undefined);
  });

  it('status and progress are events too (not sequenced)', () => {
    const s = ingest('devices/acme.s1/status', body({ online: false }), ctx);
    assert.ok(s.ok && s.envelope.type === IOT_EVENTS.statusReported && !s.sequence);
    const job = '0b5d9c2e-3f5a-4a44-9d0e-6f1c2b3a4d5e';
    const p = ingest(`devices/acme.s1/jobs/${job}/progress`, body({ status: 'SUCCEEDED' }), ctx);
    assert.ok(p.ok);
    assert.deepEqual(p.envelope.data, {
      status: 'SUCCEEDED',
      deviceId: 's1',
      receivedAt: ctx.receivedAt,
      region: 'east',
      jobId: job,
    });
  });

  it('refusals say why, keep the seq when readable, and name the topic to tell the device on', () => {
    const cases: Array<[string, Buffer, string, number | undefined]> = [
      ['devices/acme.s1/telemetry', Buffer.from('{"seq":'), 'MALFORMED_JSON', undefined],
      ['devices/acme.s1/telemetry', body({ seq: 2, ts: 'yesterday', metrics: { t: 1 } }), 'SCHEMA_VIOLATION', 2],
      ['devices/acme.s1/telemetry', body({ seq: 2, ts: '2026-11-30T11:59:59Z', metrics: {} }), 'SCHEMA_VIOLATION', 2],
      [
        'devices/acme.s1/telemetry',
        body({ seq: 2, ts: '2026-11-30T11:59:59Z', metrics: { t: 1 }, extra: 1 }),
        'SCHEMA_VIOLATION',
        2,
      ],
      ['devices/acme.s1/telemetry', Buffer.alloc(16 * 1024 + 1, 32), 'PAYLOAD_TOO_LARGE', undefined],
      ['devices/acme.s1/status', body({ online: 'yes' }), 'SCHEMA_VIOLATION', undefined],
      ['devices/nobody/telemetry', body({}), 'UNKNOWN_TOPIC', undefined],
    ];
    for (const [topic, payload, code, seq] of cases) {
      const r = ingest(topic, payload, ctx);
      assert.ok(!r.ok, topic);
      assert.deepEqual([r.code, r.sequence?.seq], [code, seq], `${topic}: ${r.reason}`);
      if (code !== 'UNKNOWN_TOPIC') assert.equal(r.noticeTopic, 'devices/acme.s1/commands/rejected');
    }
  });
});

describe('bridge settings', () => {
  const variable = (name: string) => `MERIDIAN_EAST_IOT_${name}`;
  it('defaults, overrides, and refusals naming the variable', () => {
    const s = bridgeSettings('mqtt://meridian:meridian@127.0.0.1:41883', () => undefined, variable, false);
    assert.deepEqual([s.connections, s.instance], [4, 'host']);
    assert.equal(s.mqttUrl, 'mqtt://meridian-bridge:meridian@127.0.0.1:41883');
    const get = (values: Record<string, string>) => (name: string) => values[name];
    assert.throws(
      () => bridgeSettings('mqtt://h:1', get({ BRIDGE_CONNECTIONS: 'many' }), variable, false),
      /MERIDIAN_EAST_IOT_BRIDGE_CONNECTIONS/,
    );
    assert.throws(
      () => bridgeSettings('mqtt://h:1', get({ BRIDGE_INSTANCE: 'Host 1' }), variable, false),
      /BRIDGE_INSTANCE/,
    );
    assert.throws(
      () => bridgeSettings('mqtt://h:1', () => undefined, variable, true),
      /MQTT_BRIDGE_PASSWORD must be set in production/,
    );
    assert.equal(
      bridgeSettings('mqtt://h:1', get({ MQTT_BRIDGE_PASSWORD: 's3cret-long' }), variable, true).mqttUrl,
      'mqtt://meridian-bridge:s3cret-long@h:1',
    );
  });
});
