import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DomainError, isDomainError } from '../shared/errors.ts';
import { type PlaceOrderDeps, placeOrder } from './place-order.ts';
import { anActor, aProduct, memoryCommerce } from './testing.ts';

function setup(stock = 10) {
  return memoryCommerce([aProduct({ stock }), aProduct({ id: 'p-gadget', sku: 'G-1', priceCents: 1000, stock: 3 })]);
}

const input = (overrides = {}) => ({
  items: [{ productId: 'p-widget', quantity: 2 }],
  idempotencyKey: 'key-00000001',
  paymentToken: 'tok_visa',
  ...overrides,
});

function rejectsWith(code: string) {
  return (err: unknown) => isDomainError(err) && err.code === code;
}

describe('placeOrder', () => {
  it('prices from the catalog, reserves stock and emits order.created', async () => {
    const { deps, shop, orders } = setup();
    const { order, replayed } = await placeOrder(
      deps,
      anActor(),
      input({
        items: [
          { productId: 'p-widget', quantity: 2 },
          { productId: 'p-gadget', quantity: 1 },
        ],
      }),
    );
    assert.equal(replayed, false);
    assert.equal(order.status, 'PENDING');
    assert.equal(order.totalCents, 2 * 250 + 1000);
    assert.equal(shop.stock.get('p-widget'), 8);
    assert.equal(shop.stock.get('p-gadget'), 2);
    assert.deepEqual(
      orders.outbox.map((e) => [e.type, e.subject]),
      [['commerce.order.created.v1', order.id]],
    );
  });

  it('same key and input → the same order; same key and other input → IDEMPOTENCY_KEY_REUSED', async () => {
    const { deps, shop } = setup();
    const first = await placeOrder(deps, anActor(), input());
    const again = await placeOrder(deps, anActor(), input());
    assert.equal(again.order.id, first.order.id);
    assert.equal(again.replayed, true);
    assert.equal(shop.stock.get('p-widget'), 8);
    await assert.rejects(
      placeOrder(deps, anActor(), input({ items: [{ productId: 'p-widget', quantity: 3 }] })),
      rejectsWith('IDEMPOTENCY_KEY_REUSED'),
    );
  });

  it('takes the key from the header, and refuses a mismatch between header and input', async () => {
    const { deps } = setup();
    const { order } = await placeOrder(deps, anActor(), input({ idempotencyKey: undefined }), 'header-key-1');
    assert.ok(order.id);
    await assert.rejects(placeOrder(deps, anActor(), input(), 'other-key-99'), rejectsWith('BAD_USER_INPUT'));
  });

  it('rejects bad input with a clear code and changes nothing', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ idempotencyKey: undefined }, 'IDEMPOTENCY_KEY_REQUIRED'],
      [{ idempotencyKey: 'short' }, 'BAD_USER_INPUT'],
      [{ items: [] }, 'BAD_USER_INPUT'],
      [{ items: [{ productId: 'p-widget', quantity: 0 }] }, 'BAD_USER_INPUT'],
      [{ items: [{ productId: 'p-widget', quantity: -1 }] }, 'BAD_USER_INPUT'],
      [{ items: [{ productId: 'p-widget', quantity: 1.5 }] }, 'BAD_USER_INPUT'],
      [{ items: [{ productId: 'p-widget', quantity: 1_000_000 }] }, 'BAD_USER_INPUT'],
      [
        {
          items: [
            { productId: 'p-widget', quantity: 60 },
            { productId: 'p-widget', quantity: 60 },
          ],
        },
        'BAD_USER_INPUT',
      ],
      [{ items: [{ productId: 'DROP TABLE', quantity: 1 }] }, 'BAD_USER_INPUT'],
      [{ items: [{ productId: 'p-nope', quantity: 1 }] }, 'PRODUCT_NOT_FOUND'],
      [{ items: [{ productId: 'p-widget', quantity: 11 }] }, 'INSUFFICIENT_STOCK'],
      [{ paymentToken: '4111111111111111' }, 'BAD_USER_INPUT'],
    ];
    for (const [override, code] of cases) {
      const { deps, shop, orders } = setup();
      await assert.rejects(placeOrder(deps, anActor(), input(override)), rejectsWith(code), JSON.stringify(override));
      assert.equal(shop.stock.get('p-widget'), 10, 'no stock change');
      assert.equal(orders.orders.size, 0, 'no order');
      assert.equal(orders.outbox.length, 0, 'no event');
    }
  });

  it('needs the orders:write scope', async () => {
    const { deps } = setup();
    await assert.rejects(placeOrder(deps, anActor({ scopes: [] }), input()), rejectsWith('FORBIDDEN'));
  });

  it('gives the stock back when the order cannot be recorded after reserving', async () => {
    const { deps, shop } = setup();
    const failing = {
      ...deps,
      orders: {
        ...deps.orders,
        placeOnce: async (_c: unknown, decide: () => Promise<unknown>) => {
          await decide();
          throw new Error('connection lost at commit');
        },
      },
    } as PlaceOrderDeps;
    await assert.rejects(
      placeOrder(failing, anActor(), input()),
      (err: unknown) => isDomainError(err, 'DEPENDENCY_UNAVAILABLE') && err.retryable,
    );
    assert.equal(shop.stock.get('p-widget'), 10);
  });
});

describe('placeOrder in a region that is not the writer', () => {
  it('refuses with WRITER_MOVED naming the writer, and reserves and records nothing', async () => {
    const { deps, shop, orders } = setup();
    const moved = new DomainError('WRITER_MOVED', 'orders are written in west', {
      details: { writer: 'west', epoch: 4 },
    });
    const fenced: PlaceOrderDeps = { ...deps, fence: { assertWriter: () => Promise.reject(moved) } };
    await assert.rejects(placeOrder(fenced, anActor(), input()), (err: unknown) => {
      assert.ok(isDomainError(err, 'WRITER_MOVED'));
      assert.deepEqual(err.details, { writer: 'west', epoch: 4 });
      return true;
    });
    assert.equal(shop.stock.get('p-widget'), 10);
    assert.equal(orders.orders.size, 0);
    assert.equal(orders.outbox.length, 0);
  });

  it('the writer records the idempotency key, request hash and writer epoch in order.created, for standby copies', async () => {
    const { deps, orders } = setup();
    let asked = 0;
    const fenced: PlaceOrderDeps = {
      ...deps,
      fence: {
        assertWriter: async () => {
          asked++;
          return { epoch: 7 };
        },
      },
    };
    await placeOrder(fenced, anActor(), input());
    assert.equal(asked, 1);
    const created = orders.outbox[0]?.data as { idempotencyKey?: string; requestHash?: string; writerEpoch?: number };
    assert.equal(created.idempotencyKey, 'key-00000001');
    assert.ok(created.requestHash);
    assert.equal(created.writerEpoch, 7, 'the epoch it was accepted under');
  });
});
