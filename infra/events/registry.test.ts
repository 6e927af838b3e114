import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { isDomainError } from '../../domains/shared/errors.ts';
import { envelope } from './envelope.ts';
import { fromKafkaMessage, toKafkaMessage } from './kafka-codec.ts';
import { laneOf, OUTBOX_LANES } from './outbox.ts';
import { EVENT_SCHEMAS_DIR, eventRegistry } from './registry.ts';
import { TESTING_EVENTS, testingRegistry, thingEvent } from './testing.ts';

const thingId = '0b0f5a1e-6c1d-4a55-9c55-1f2e3d4c5b6a';
const registry = testingRegistry();
const changed = () =>
  envelope(thingEvent(TESTING_EVENTS.changed, thingId, 't1', 2, 'hello'), { region: 'east', service: 'things' });

describe('event registry', () => {
  it('has one schema per event type, each at schemas/events/<domain>/<context>.<event>.v<N>.json', () => {
    const domains = readdirSync(EVENT_SCHEMAS_DIR, { withFileTypes: true }).filter((e) => e.isDirectory());
    const expected = domains.flatMap((d) =>
      readdirSync(path.join(EVENT_SCHEMAS_DIR, d.name))
        .filter((f) => f.endsWith('.json'))
        .map((f) => {
          const doc = JSON.parse(readFileSync(path.join(EVENT_SCHEMAS_DIR, d.name, f), 'utf8'));
          assert.equal(doc.properties?.type?.const, `${d.name}.${f.replace(/\.json$/, '')}`, `${d.name}/${f}`);
          return `${d.name}.${f.replace(/\.json$/, '')}`;
        }),
    );
    assert.ok(expected.length > 0);
    assert.deepEqual(eventRegistry().types, expected.sort());
    for (const t of eventRegistry().types) assert.match(t, /^[a-z]+\.[a-z-]+\.[a-z-]+\.v\d+$/);
  });

  it('compiles every schema under strict mode (validators are compiled on first use, so checked here)', () => {
    for (const type of eventRegistry().types) {
      // An envelope with nothing but its type: a compile error would throw a plain Error instead.
      assert.throws(
        () => eventRegistry().assertValid({ type }),
        (err: unknown) => isDomainError(err, 'INVALID_EVENT') && err.message.startsWith(`${type} violates its schema`),
        type,
      );
    }
  });

  it('accepts a valid envelope and rejects each kind of violation with the reason', () => {
    const e = changed();
    assert.doesNotThrow(() => registry.assertValid(e));
    const bad: Array<[unknown, RegExp]> = [
      [{ ...e, type: 'testing.thing.nope.v1' }, /no schema for event type/],
      [{ ...e, id: 'not-a-uuid' }, /format "uuid"/],
      [{ ...e, traceparent: 'x' }, /traceparent/],
      [{ ...e, tenant: 'Acme Corp' }, /tenant/],
      [{ ...e, data: { ...(e.data as object), step: -1 } }, /must be >= 0/],
      [{ ...e, data: { thingId } }, /required property/],
      [{ ...e, extra: 1 }, /additional properties/],
      [null, /no schema/],
    ];
    for (const [value, reason] of bad) {
      assert.throws(
        () => registry.assertValid(value),
        (err: unknown) => isDomainError(err, 'INVALID_EVENT') && !err.retryable && reason.test(err.message),
        String(reason),
      );
    }
  });

  it('round-trips through the Kafka codec with id, type and traceparent headers', () => {
    const e = changed();
    const m = toKafkaMessage(e, registry);
    assert.equal(m.key, thingId);
    const headers = m.headers as Record<string, string>;
    assert.deepEqual([headers.ce_id, headers.ce_type, headers.traceparent], [e.id, e.type, e.traceparent]);
    const back = fromKafkaMessage(
      { key: Buffer.from(thingId), value: Buffer.from(m.value as string), headers: m.headers ?? {} },
      registry,
    );
    assert.deepEqual(back, e);
  });

  it('refuses poison messages: not JSON, empty, mismatched ce_id', () => {
    assert.throws(
      () => fromKafkaMessage({ key: null, value: Buffer.from('{nope'), headers: {} }, registry),
      /not JSON/,
    );
    assert.throws(() => fromKafkaMessage({ key: null, value: null, headers: {} }, registry), /empty/);
    const m = toKafkaMessage(changed(), registry);
    assert.throws(
      () =>
        fromKafkaMessage(
          { key: null, value: Buffer.from(m.value as string), headers: { ce_id: Buffer.from('x') } },
          registry,
        ),
      /does not match/,
    );
  });

  it('assigns one aggregate to one lane, spreading aggregates across lanes', () => {
    assert.equal(laneOf(thingId), laneOf(thingId));
    const lanes = new Set(Array.from({ length: 200 }, () => laneOf(crypto.randomUUID())));
    assert.equal(lanes.size, OUTBOX_LANES);
  });
});
