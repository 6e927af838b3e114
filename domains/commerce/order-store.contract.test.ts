/**
 * The OrderStore contract (ports.ts), run by every adapter's tests: memory (unit) and
 * PostgreSQL (integration). Not a test file by itself: it exports the suite; the
 * `.test.ts` suffix marks it as test-only code. Every test works in tenants of its own,
 * so the real store can be shared between tests and runs.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DomainError } from '../shared/errors.ts';
import { rejectsWith } from '../shared/testing.ts';
import { COMMERCE_EVENTS } from './events.ts';
import type { Order } from './order.ts';
import type { IdempotencyClaim, OrderStore, Placed } from './ports.ts';
import { anOrder, confirming, placing } from './testing.ts';

export interface OrderStoreFixture {
  readonly store: OrderStore;
  /** Types of the events committed for the order (its outbox), oldest first. */
  eventTypes(orderId: string): Promise<string[]>;
}

const CREATED = COMMERCE_EVENTS.orderCreated;
const CONFIRMED = COMMERCE_EVENTS.orderConfirmed;

/** A tenant (or consumer) name no other test or run has used. */
function fresh(prefix: string): string {
  return `${prefix}-${randomUUID().replaceAll('-', '').slice(0, 16)}`;
}

function aClaim(tenant: string, overrides: Partial<IdempotencyClaim> = {}): IdempotencyClaim {
  return { tenant, key: fresh('key'), requestHash: 'hash-a', ...overrides };
}

/** A `decide` that counts its calls and answers `placed` (after `delayMs`, to widen races). */
function countingDecide(placed: Placed, delayMs = 0) {
  const decide = async () => {
    decide.calls += 1;
    if (delayMs > 0) await sleep(delayMs);
    return placed;
  };
  decide.calls = 0;
  return decide;
}

/** A `change` that counts its calls and answers `fn(order)`. */
function countingChange(fn: (order: Order) => Placed | undefined) {
  const change = (order: Order) => {
    change.calls += 1;
    return fn(order);
  };
  change.calls = 0;
  return change;
}

const refuse = () => {
  throw new Error('must not be called');
};

/** Registers the contract suite for one adapter; `fixture()` is called once per test. */
export function orderStoreContract(name: string, fixture: () => OrderStoreFixture | Promise<OrderStoreFixture>): void {
  /** A PENDING order placed in a fresh tenant. */
  async function placedOrder(store: OrderStore, overrides: Partial<Order> = {}): Promise<Order> {
    const order = anOrder({ tenant: fresh('t'), ...overrides });
    await store.placeOnce(aClaim(order.tenant), async () => placing(order));
    return order;
  }

  describe(`OrderStore contract: ${name}`, () => {
    describe('placeOnce', () => {
      it('a new key runs decide once and commits the order with its events', async () => {
        const { store, eventTypes } = await fixture();
        const order = anOrder({ tenant: fresh('t') });
        const decide = countingDecide(placing(order));
        assert.deepEqual(await store.placeOnce(aClaim(order.tenant), decide), { order, replayed: false });
        assert.equal(decide.calls, 1);
        assert.deepEqual(await store.getOrder(order.id), order);
        assert.deepEqual(await eventTypes(order.id), [CREATED]);
      });

      it('the same key with the same request hash answers the stored order, replayed, without running decide', async () => {
        const { store, eventTypes } = await fixture();
        const order = anOrder({ tenant: fresh('t') });
        const claim = aClaim(order.tenant);
        await store.placeOnce(claim, async () => placing(order));
        const other = anOrder({ tenant: order.tenant });
        const decide = countingDecide(placing(other));
        assert.deepEqual(await store.placeOnce({ ...claim }, decide), { order, replayed: true });
        assert.equal(decide.calls, 0);
        assert.equal(await store.getOrder(other.id), undefined);
        assert.deepEqual(await eventTypes(order.id), [CREATED]);
      });

      it('the same key with another request hash is IDEMPOTENCY_KEY_REUSED, naming the stored order', async () => {
        const { store } = await fixture();
        const order = anOrder({ tenant: fresh('t') });
        const claim = aClaim(order.tenant);
        await store.placeOnce(claim, async () => placing(order));
        const decide = countingDecide(placing(anOrder({ tenant: order.tenant })));
        await assert.rejects(
          store.placeOnce({ ...claim, requestHash: 'hash-b' }, decide),
          rejectsWith('IDEMPOTENCY_KEY_REUSED', { orderId: order.id }),
        );
        assert.equal(decide.calls, 0);
        assert.deepEqual(await store.getOrder(order.id), order);
      });

      it('ordersForKey lists the orders placed under a key, per tenant', async () => {
        const { store } = await fixture();
        const order = anOrder({ tenant: fresh('t') });
        const claim = aClaim(order.tenant);
        await store.placeOnce(claim, async () => placing(order));
        assert.deepEqual(await store.ordersForKey(order.tenant, claim.key), [
          { id: order.id, status: 'PENDING', writerEpoch: null, createdAt: order.createdAt },
        ]);
        assert.deepEqual(await store.ordersForKey(fresh('t'), claim.key), [], 'the same key in another tenant');
        assert.deepEqual(await store.ordersForKey(order.tenant, fresh('key')), []);
      });

      it('a decide that throws writes nothing and leaves the key free for a later request', async () => {
        const { store, eventTypes } = await fixture();
        const tenant = fresh('t');
        const claim = aClaim(tenant);
        const failure = new DomainError('INSUFFICIENT_STOCK', 'only 1 of p-widget left, 2 asked');
        await assert.rejects(
          store.placeOnce(claim, async () => {
            throw failure;
          }),
          rejectsWith('INSUFFICIENT_STOCK'),
        );
        // Another request hash: had the key been stored, this would be IDEMPOTENCY_KEY_REUSED.
        const order = anOrder({ tenant });
        const decide = countingDecide(placing(order));
        assert.deepEqual(await store.placeOnce({ ...claim, requestHash: 'hash-b' }, decide), {
          order,
          replayed: false,
        });
        assert.equal(decide.calls, 1);
        assert.deepEqual(await eventTypes(order.id), [CREATED]);
        assert.deepEqual(await store.listOrdersForUser(tenant, order.userId, 10), [order]);
      });

      it('20 concurrent calls with one key run decide once and all answer the one order', async () => {
        const { store, eventTypes } = await fixture();
        const order = anOrder({ tenant: fresh('t') });
        const claim = aClaim(order.tenant);
        const decide = countingDecide(placing(order), 20);
        const results = await Promise.all(Array.from({ length: 20 }, () => store.placeOnce({ ...claim }, decide)));
        assert.equal(decide.calls, 1);
        for (const r of results) assert.deepEqual(r.order, order);
        assert.equal(results.filter((r) => !r.replayed).length, 1);
        assert.deepEqual(await eventTypes(order.id), [CREATED]);
        assert.deepEqual(await store.listOrdersForUser(order.tenant, order.userId, 10), [order]);
      });

      it('keys are per tenant: one key in two tenants places two orders, for the same user id too', async () => {
        const { store } = await fixture();
        const key = fresh('key');
        const userId = fresh('u');
        const [a, b] = [anOrder({ tenant: fresh('t'), userId }), anOrder({ tenant: fresh('t'), userId })];
        for (const order of [a, b]) {
          const decide = countingDecide(placing(order));
          const claim = aClaim(order.tenant, { key, requestHash: 'hash-a' });
          assert.deepEqual(await store.placeOnce(claim, decide), { order, replayed: false });
          assert.equal(decide.calls, 1);
        }
        assert.deepEqual(await store.listOrdersForUser(a.tenant, userId, 10), [a]);
        assert.deepEqual(await store.listOrdersForUser(b.tenant, userId, 10), [b]);
      });
    });

    describe('applyOnce', () => {
      it('applies a change once per (consumer, event id); a repeat is applied: false without calling change', async () => {
        const { store, eventTypes } = await fixture();
        const order = await placedOrder(store);
        const [consumer, eventId] = [fresh('consumer'), randomUUID()];

        const first = await store.applyOnce(consumer, eventId, order.id, confirming);
        const confirmed = confirming(order).order;
        assert.deepEqual(first, { order: confirmed, applied: true });
        assert.deepEqual(await store.getOrder(order.id), confirmed);
        assert.deepEqual(await eventTypes(order.id), [CREATED, CONFIRMED]);

        const change = countingChange(refuse);
        assert.deepEqual(await store.applyOnce(consumer, eventId, order.id, change), {
          order: confirmed,
          applied: false,
        });
        assert.equal(change.calls, 0);
        assert.deepEqual(await eventTypes(order.id), [CREATED, CONFIRMED]);
      });

      it('10 concurrent deliveries of one event apply it once', async () => {
        const { store, eventTypes } = await fixture();
        const order = await placedOrder(store);
        const [consumer, eventId] = [fresh('consumer'), randomUUID()];
        const change = countingChange(confirming);
        const results = await Promise.all(
          Array.from({ length: 10 }, () => store.applyOnce(consumer, eventId, order.id, change)),
        );
        assert.equal(change.calls, 1);
        assert.equal(results.filter((r) => r.applied).length, 1);
        for (const r of results) assert.equal(r.order.version, 2);
        assert.deepEqual(await eventTypes(order.id), [CREATED, CONFIRMED]);
      });

      it('two consumers each apply the same event', async () => {
        const { store } = await fixture();
        const order = await placedOrder(store);
        const eventId = randomUUID();
        const first = await store.applyOnce(fresh('consumer'), eventId, order.id, confirming);
        assert.equal(first.applied, true);
        const change = countingChange(() => undefined);
        const second = await store.applyOnce(fresh('consumer'), eventId, order.id, change);
        assert.deepEqual(second, { order: first.order, applied: true });
        assert.equal(change.calls, 1);
      });

      it('regression: memory applyOnce marked the event before change ran, so a change that threw left the mark and its retry was skipped', async () => {
        const { store, eventTypes } = await fixture();
        const order = await placedOrder(store);
        const [consumer, eventId] = [fresh('consumer'), randomUUID()];
        const failure = new DomainError('INVALID_TRANSITION', 'refused by the change');
        await assert.rejects(
          store.applyOnce(consumer, eventId, order.id, () => {
            throw failure;
          }),
          rejectsWith('INVALID_TRANSITION'),
        );
        assert.deepEqual(await store.getOrder(order.id), order, 'no state change');
        assert.deepEqual(await eventTypes(order.id), [CREATED], 'no event');

        const change = countingChange(confirming);
        const retry = await store.applyOnce(consumer, eventId, order.id, change);
        assert.equal(change.calls, 1, 'the retry runs change: no processed mark was left');
        assert.deepEqual(retry, { order: confirming(order).order, applied: true });
      });

      it('an unknown order is ORDER_NOT_FOUND and change is not called', async () => {
        const { store } = await fixture();
        const orderId = randomUUID();
        const change = countingChange(refuse);
        await assert.rejects(
          store.applyOnce(fresh('consumer'), randomUUID(), orderId, change),
          rejectsWith('ORDER_NOT_FOUND', { orderId }),
        );
        assert.equal(change.calls, 0);
      });

      it('a change answering undefined marks the event processed and leaves the order as it was', async () => {
        const { store, eventTypes } = await fixture();
        const order = await placedOrder(store);
        const [consumer, eventId] = [fresh('consumer'), randomUUID()];
        assert.deepEqual(await store.applyOnce(consumer, eventId, order.id, () => undefined), {
          order,
          applied: true,
        });
        assert.deepEqual(await store.getOrder(order.id), order);
        assert.deepEqual(await eventTypes(order.id), [CREATED]);
        const change = countingChange(refuse);
        assert.deepEqual(await store.applyOnce(consumer, eventId, order.id, change), { order, applied: false });
        assert.equal(change.calls, 0);
      });
    });

    describe('getOrder and listOrdersForUser', () => {
      it('getOrder answers the order as placed, and undefined for an unknown id', async () => {
        const { store } = await fixture();
        const order = await placedOrder(store, {
          items: [
            { productId: 'p-widget', quantity: 2, unitPriceCents: 250 },
            { productId: 'p-gadget', quantity: 1, unitPriceCents: 1000 },
          ],
          totalCents: 1500,
        });
        assert.deepEqual(await store.getOrder(order.id), order);
        assert.equal(await store.getOrder(randomUUID()), undefined);
      });

      it("lists only the tenant's orders of that user: the same user id in another tenant sees its own", async () => {
        const { store } = await fixture();
        const [tenantA, tenantB, userId] = [fresh('t'), fresh('t'), fresh('u')];
        const mineA = await placedOrder(store, { tenant: tenantA, userId, createdAt: '2026-11-23T00:00:01.000Z' });
        const mineA2 = await placedOrder(store, { tenant: tenantA, userId, createdAt: '2026-11-23T00:00:02.000Z' });
        await placedOrder(store, { tenant: tenantA, userId: fresh('u') });
        const mineB = await placedOrder(store, { tenant: tenantB, userId });
        assert.deepEqual(await store.listOrdersForUser(tenantA, userId, 10), [mineA2, mineA]);
        assert.deepEqual(await store.listOrdersForUser(tenantB, userId, 10), [mineB]);
        assert.deepEqual(await store.listOrdersForUser(tenantA, fresh('u'), 10), []);
        assert.deepEqual(await store.listOrdersForUser(fresh('t'), userId, 10), []);
      });

      it('lists newest first (createdAt) and at most `first`', async () => {
        const { store } = await fixture();
        const [tenant, userId] = [fresh('t'), fresh('u')];
        const at = (minute: number) => ({ tenant, userId, createdAt: `2026-11-23T00:0${minute}:00.000Z` });
        // Placed out of time order, so insertion order cannot pass for time order.
        const middle = await placedOrder(store, at(2));
        const oldest = await placedOrder(store, at(1));
        const newest = await placedOrder(store, at(3));
        assert.deepEqual(await store.listOrdersForUser(tenant, userId, 10), [newest, middle, oldest]);
        assert.deepEqual(await store.listOrdersForUser(tenant, userId, 2), [newest, middle]);
        assert.deepEqual(await store.listOrdersForUser(tenant, userId, 1), [newest]);
      });
    });
  });
}
