import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { COMMERCE_EVENTS, type CommerceEventType, domainEvent } from '../../domains/commerce/events.ts';
import { type Envelope, envelope } from '../../infra/events/envelope.ts';
import { commerceChangedEntities } from './changes.ts';

const ORDER = '0b5e6a1e-8d2c-4f6a-9a51-3c1f2d4e5a6b';
const USER = 'u-42';

/** A real envelope of `type`, as the outbox relay would put it on Kafka. */
function event(type: CommerceEventType, data: Record<string, unknown>): Envelope {
  // biome-ignore lint/suspicious/noExplicitAny: builder over every event type; each test passes that type's data
  return envelope(domainEvent(type, ORDER, 'tenant-1', data as any), { region: 'east', service: 'commerce' });
}

describe('commerce changed entities (cache invalidation and edge purge alike)', () => {
  it('stock changes make each product of the lines stale, once each, softly', () => {
    const reserved = event(COMMERCE_EVENTS.inventoryReserved, {
      orderId: ORDER,
      items: [
        { productId: 'p1', quantity: 2 },
        { productId: 'p2', quantity: 1 },
        { productId: 'p1', quantity: 1 },
      ],
    });
    assert.deepEqual(commerceChangedEntities(reserved), {
      entities: [
        { type: 'Product', id: 'p1' },
        { type: 'Product', id: 'p2' },
      ],
      soft: true,
    });
    const released = event(COMMERCE_EVENTS.inventoryReleased, { orderId: ORDER, items: [{ productId: 42 }] });
    assert.deepEqual(commerceChangedEntities(released)?.entities, [], 'a non-string product id names no entity');
  });

  it('a stock adjustment makes its product stale, softly', () => {
    const adjusted = event(COMMERCE_EVENTS.inventoryAdjusted, { productId: 'p-mouse', delta: 5 });
    assert.deepEqual(commerceChangedEntities(adjusted), { entities: [{ type: 'Product', id: 'p-mouse' }], soft: true });
  });

  it("order state changes make the order and its user's answers stale, hard", () => {
    const created = event(COMMERCE_EVENTS.orderCreated, {
      orderId: ORDER,
      userId: USER,
      status: 'PENDING',
      items: [{ productId: 'p1', quantity: 1, unitPriceCents: 100 }],
      totalCents: 100,
      currency: 'USD',
      paymentToken: 'tok',
      version: 1,
    });
    const expected = {
      entities: [
        { type: 'Order', id: ORDER },
        { type: 'User', id: USER },
      ],
      soft: false,
    };
    assert.deepEqual(commerceChangedEntities(created), expected);
    const confirmed = event(COMMERCE_EVENTS.orderConfirmed, {
      orderId: ORDER,
      userId: USER,
      status: 'CONFIRMED',
      version: 2,
    });
    assert.deepEqual(commerceChangedEntities(confirmed), expected);
    const noUser = event(COMMERCE_EVENTS.orderCancelled, { orderId: ORDER, status: 'CANCELLED', reason: 'x' });
    assert.deepEqual(commerceChangedEntities(noUser)?.entities, [{ type: 'Order', id: ORDER }]);
  });

  it('payment events change nothing cached', () => {
    const authorized = event(COMMERCE_EVENTS.paymentAuthorized, {
      orderId: ORDER,
      authorizationId: 'a1',
      amountCents: 100,
      currency: 'USD',
    });
    assert.equal(commerceChangedEntities(authorized), undefined);
  });
});
