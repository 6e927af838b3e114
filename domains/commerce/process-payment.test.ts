import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DomainError, isDomainError } from '../shared/errors.ts';
import type { OrderCreatedData } from './events.ts';
import { placeOrder } from './place-order.ts';
import type { OrderStore, PaymentProvider, PaymentResult } from './ports.ts';
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

/** The store, counting its applyOnce calls (each one a transaction in PostgreSQL). */
function countingApplies(store: OrderStore) {
  let applied = 0;
  return {
    ...store,
    applyOnce: (...args: Parameters<OrderStore['applyOnce']>) => {
      applied++;
      return store.applyOnce(...args);
    },
    applied: () => applied,
  };
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

  it('an order its first read missed (a stale cache, a copy made just now) is retried, not marked done unpaid', async () => {
    const t = await placed(async () => ({ outcome: 'AUTHORIZED', authorizationId: 'auth-1' }));
    const stale = { ...t.pay, orders: { ...t.orders.store, getOrder: async () => undefined } };
    await assert.rejects(
      processPayment(stale, t.event),
      (err: unknown) => isDomainError(err, 'ORDER_NOT_FOUND') && err.retryable,
    );
    assert.equal(t.calls(), 0, 'nothing charged on a read that found nothing');
    // Not marked processed: the retry, reading the order, pays it.
    assert.equal((await processPayment(t.pay, t.event)).status, 'CONFIRMED');
    assert.equal(t.calls(), 1);
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

  it('an order already decided (paid by the other region before a failback) is answered as it is: no charge, no write', async () => {
    const t = await placed(async () => ({ outcome: 'AUTHORIZED', authorizationId: 'auth-1' }));
    t.orders.orders.set(t.order.id, { ...t.order, status: 'CONFIRMED', version: 2 });
    const counting = countingApplies(t.pay.orders);
    const events = t.orders.outbox.length;
    const o = await processPayment({ ...t.pay, orders: counting }, t.event);
    assert.equal(o.status, 'CONFIRMED');
    assert.equal(t.calls(), 0, 'the provider was not asked');
    assert.equal(counting.applied(), 0, 'no transaction');
    assert.equal(t.orders.outbox.length, events);
  });

  it('an order already cancelled gets its stock back again (idempotent), without a transaction', async () => {
    const t = await placed(async () => ({ outcome: 'DECLINED', reason: 'card declined' }));
    await processPayment(t.pay, t.event);
    assert.equal(t.shop.stock.get('p-widget'), 5);
    const counting = countingApplies(t.pay.orders);
    const o = await processPayment({ ...t.pay, orders: counting }, t.event);
    assert.equal(o.status, 'CANCELLED');
    assert.equal(counting.applied(), 0);
    assert.equal(t.shop.stock.get('p-widget'), 5, 'released once, however often');
  });

  describe('two orders under one idempotency key (a write in flight at a failover, retried in the new writer)', () => {
    /** t.order is the retry the new writer accepted (epoch 6); `old` the in-flight one the old writer committed (epoch 5). */
    async function twins() {
      const t = await placed(async () => ({ outcome: 'AUTHORIZED', authorizationId: 'auth-1' }));
      const old = { ...t.order, id: '00000000-0000-4000-8000-00000000beef', createdAt: '2026-11-22T23:59:59.000Z' };
      t.orders.orders.set(old.id, old);
      t.orders.keyOf.set(old.id, 'key-00000001');
      t.orders.epochOf.set(old.id, 5);
      t.orders.epochOf.set(t.order.id, 6);
      const event = (id: string, writerEpoch: number) => ({
        id: `e-${id}`,
        tenant: t.order.tenant,
        data: { ...t.event.data, orderId: id, writerEpoch },
      });
      return { t, old, oldEvent: event(old.id, 5), newEvent: event(t.order.id, 6) };
    }

    it('the one from the older epoch is cancelled as a duplicate, never charged; the other is charged once', async () => {
      const { t, old, oldEvent, newEvent } = await twins();
      const o = await processPayment(t.pay, oldEvent);
      assert.deepEqual([o.status, o.cancelReason], ['CANCELLED', `duplicate of order ${t.order.id}`]);
      assert.equal(t.calls(), 0, 'the provider was not asked');
      assert.equal((await processPayment(t.pay, newEvent)).status, 'CONFIRMED');
      assert.equal(t.calls(), 1);
      assert.equal((await t.orders.store.getOrder(old.id))?.status, 'CANCELLED');
    });

    it('the same verdict when the newer one is processed first', async () => {
      const { t, oldEvent, newEvent } = await twins();
      assert.equal((await processPayment(t.pay, newEvent)).status, 'CONFIRMED');
      const o = await processPayment(t.pay, oldEvent);
      assert.deepEqual([o.status, o.cancelReason], ['CANCELLED', `duplicate of order ${t.order.id}`]);
      assert.equal(t.calls(), 1);
    });

    it('an order already charged under the key wins, whatever the epochs: no second charge', async () => {
      const { t, old, oldEvent, newEvent } = await twins();
      // The old writer charged its order before the region failed; the retry arrives second.
      t.orders.orders.set(old.id, { ...old, status: 'CONFIRMED', version: 2 });
      const o = await processPayment(t.pay, newEvent);
      assert.deepEqual([o.status, o.cancelReason], ['CANCELLED', `duplicate of order ${old.id}`]);
      assert.equal(t.calls(), 0);
      assert.equal((await processPayment(t.pay, oldEvent)).status, 'CONFIRMED', 'already confirmed: nothing to do');
      assert.equal(t.calls(), 0);
    });
  });
});
