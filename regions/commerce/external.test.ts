import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { COMMERCE_EVENTS } from '../../domains/commerce/events.ts';
import type { Envelope } from '../../infra/events/envelope.ts';
import { COMMERCE_EXTERNAL_EVENTS } from './external.ts';

describe('commerce external events', () => {
  it('offers the three order status changes', () => {
    assert.deepEqual(
      COMMERCE_EXTERNAL_EVENTS.map((e) => e.type),
      [COMMERCE_EVENTS.orderCreated, COMMERCE_EVENTS.orderConfirmed, COMMERCE_EVENTS.orderCancelled],
    );
  });

  it('keeps the payment token of a created order inside', () => {
    const created = COMMERCE_EXTERNAL_EVENTS[0];
    const data = { orderId: 'o1', userId: 'u1', status: 'PENDING', paymentToken: 'tok_visa', totalCents: 100 };
    const seen = created?.data?.({ data } as unknown as Envelope);
    assert.deepEqual(seen, { orderId: 'o1', userId: 'u1', status: 'PENDING', totalCents: 100 });
    assert.equal(data.paymentToken, 'tok_visa', 'the event itself is not changed');
  });
});
