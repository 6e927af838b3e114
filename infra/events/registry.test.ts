import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { COMMERCE_EVENTS, domainEvent } from '../../domains/commerce/events.ts';
import { isDomainError } from '../../domains/shared/errors.ts';
import { envelope } from './envelope.ts';
import { fromKafkaMessage, toKafkaMessage } from './kafka-codec.ts';
import { laneOf, OUTBOX_LANES } from './outbox.ts';
import { eventRegistry } from './registry.ts';

const orderId = '0b0f5a1e-6c1d-4a55-9c55-1f2e3d4c5b6a';
const confirmed = () =>
  envelope(
    domainEvent(COMMERCE_EVENTS.orderConfirmed, orderId, 't1', {
      orderId,
      userId: 'u1',
      status: 'CONFIRMED',
      version: 2,
    }),
    { region: 'east', service: 'commerce' },
  );

describe('event registry', () => {
  it('has a schema for every commerce event type', () => {
    assert.deepEqual(eventRegistry().types, Object.values(COMMERCE_EVENTS).sort());
  });

  it('accepts a valid envelope and rejects each kind of violation with the reason', () => {
    const e = confirmed();
    const registry = eventRegistry();
    assert.doesNotThrow(() => registry.assertValid(e));
    const bad: Array<[unknown, RegExp]> = [
      [{ ...e, type: 'commerce.order.nope.v1' }, /no schema for event type/],
      [{ ...e, id: 'not-a-uuid' }, /format "uuid"/],
      [{ ...e, traceparent: 'x' }, /traceparent/],
      [{ ...e, data: { ...(e.data as object), status: 'PENDING' } }, /constant/],
      [{ ...e, data: { orderId } }, /required property/],
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
    const e = confirmed();
    const m = toKafkaMessage(e);
    assert.equal(m.key, orderId);
    const headers = m.headers as Record<string, string>;
    assert.deepEqual([headers.ce_id, headers.ce_type, headers.traceparent], [e.id, e.type, e.traceparent]);
    const back = fromKafkaMessage({
      key: Buffer.from(orderId),
      value: Buffer.from(m.value as string),
      headers: m.headers ?? {},
    });
    assert.deepEqual(back, e);
  });

  it('refuses poison messages: not JSON, empty, mismatched ce_id', () => {
    assert.throws(() => fromKafkaMessage({ key: null, value: Buffer.from('{nope'), headers: {} }), /not JSON/);
    assert.throws(() => fromKafkaMessage({ key: null, value: null, headers: {} }), /empty/);
    const m = toKafkaMessage(confirmed());
    assert.throws(
      () =>
        fromKafkaMessage({ key: null, value: Buffer.from(m.value as string), headers: { ce_id: Buffer.from('x') } }),
      /does not match/,
    );
  });

  it('assigns one aggregate to one lane, spreading aggregates across lanes', () => {
    assert.equal(laneOf(orderId), laneOf(orderId));
    const lanes = new Set(Array.from({ length: 200 }, () => laneOf(crypto.randomUUID())));
    assert.equal(lanes.size, OUTBOX_LANES);
  });
});
