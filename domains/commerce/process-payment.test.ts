import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DomainError, isDomainError } from '../shared/errors.ts';
import type { OrderCreatedData } from './events.ts';
import { placeOrder } from './place-order.ts';
import type { PaymentProvider, PaymentResult } from './ports.ts';
import { processPayment } from './process-payment.ts';
import { anActor, aProduct, fixedClock, memoryCommerce } from './testing.ts';

async function placed(decide: () => Promise<PaymentResult>) {
  const { deps, shop, orders } = memoryCommerce([aProduct({ stock: 5 })]);
  const { order } = await placeOrder(deps, anActor(), {
    items: [{ productId: 'p-widget', quantity: 2 }],
    idempotencyKey: 'key-00000001',
    paymentToken: 'tok_visa',
  });
  let calls = 0;
  const provider: PaymentProvider = {
    authorize: async () => {
      calls++;
      return decide();
    },
  };
  const event = { id: 'e1', tenant: order.tenant, data: orders.outbox[0]?.data as OrderCreatedData };
  const pay = { orders: orders.store, inventory: shop.inventory, provider, clock: fixedClock };
  return { order, event, pay, shop, orders, calls: () => calls };
}

describe('processPayment', () => {
  it('authorized → CONFIRMED with payment.authorized and order.confirmed', async () => {
    const t = await placed(async () => ({ outcome: 'AUTHORIZED', authorizationId: 'auth-1' }));
    const o = await processPayment(t.pay, t.event);
    assert.equal(o.status, 'CONFIRMED');
    assert.deepEqual(t.orders.outbox.map((e) => e.type).slice(1), [
      'commerce.payment.authorized.v1',
      'commerce.order.confirmed.v1',
    ]);
    assert.equal(t.shop.stock.get('p-widget'), 3);
  });

  it('declined → CANCELLED with the reason, and the stock comes back', async () => {
    const t = await placed(async () => ({ outcome: 'DECLINED', reason: 'card declined' }));
    const o = await processPayment(t.pay, t.event);
    assert.deepEqual([o.status, o.cancelReason], ['CANCELLED', 'card declined']);
    assert.equal(t.shop.stock.get('p-widget'), 5);
  });

  it('a provider fault cancels with the fault as reason', async () => {
    const t = await placed(async () => {
      throw new DomainError('PAYMENT_PROVIDER_FAULT', 'provider internal error');
    });
    const o = await processPayment(t.pay, t.event);
    assert.equal(o.status, 'CANCELLED');
    assert.match(o.cancelReason ?? '', /provider internal error/);
    assert.equal(t.shop.stock.get('p-widget'), 5);
  });

  it('provider unavailable → retryable error, order stays PENDING, stock held', async () => {
    const t = await placed(async () => {
      throw new DomainError('DEPENDENCY_UNAVAILABLE', 'down', { retryable: true });
    });
    await assert.rejects(processPayment(t.pay, t.event), (err: unknown) => isDomainError(err) && err.retryable);
    assert.equal((await t.orders.store.getOrder(t.order.id))?.status, 'PENDING');
    assert.equal(t.shop.stock.get('p-widget'), 3);
  });

  it('a redelivered event changes nothing twice and does not charge twice', async () => {
    const t = await placed(async () => ({ outcome: 'AUTHORIZED', authorizationId: 'auth-1' }));
    await processPayment(t.pay, t.event);
    const events = t.orders.outbox.length;
    const again = await processPayment(t.pay, t.event);
    assert.equal(again.status, 'CONFIRMED');
    assert.equal(t.orders.outbox.length, events);
    assert.equal(t.calls(), 1);
  });
});
