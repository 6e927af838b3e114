/**
 * The Inventory contract (ports.ts), run by every adapter's tests: memory (unit),
 * PostgreSQL and gRPC in front of PostgreSQL (integration). Not a test file by itself: it
 * exports the suite. Every test reserves products and orders of its own.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { isDomainError } from '../shared/errors.ts';
import { rejectsWith } from '../shared/testing.ts';
import type { StockLine } from './inventory.ts';
import type { Inventory } from './ports.ts';

export interface InventoryFixture {
  readonly inventory: Inventory;
  /** The products made for this test, one per entry of `stocks`, their ids in ascending order. */
  readonly products: readonly string[];
  /** Units of the product left (undefined: no such product). */
  stockOf(productId: string): Promise<number | undefined>;
}

/** Makes products holding `stocks` units, known only to the calling test. */
export type WithStock = (stocks: readonly number[]) => Promise<InventoryFixture>;

function freshTenant(): string {
  return `t-${randomUUID().replaceAll('-', '').slice(0, 16)}`;
}

const line = (productId: string, quantity: number): StockLine => ({ productId, quantity });

/** Registers the contract suite for one adapter. */
export function inventoryContract(name: string, withStock: WithStock): void {
  /** The stock of each product, in fixture order. */
  async function levels(fx: InventoryFixture): Promise<Array<number | undefined>> {
    return Promise.all(fx.products.map((id) => fx.stockOf(id)));
  }

  /** The fixture's products, typed as the pair or triple the test asked for. */
  function ids<T extends string[]>(fx: InventoryFixture): T {
    return [...fx.products] as T;
  }

  describe(`Inventory contract: ${name}`, () => {
    it('reserve takes every line; lines of one product count together', async () => {
      const fx = await withStock([10, 5]);
      const [a, b] = ids<[string, string]>(fx);
      await fx.inventory.reserve(randomUUID(), freshTenant(), [line(b, 2), line(a, 3), line(b, 1)]);
      assert.deepEqual(await levels(fx), [7, 2]);
    });

    it('all lines or none: one short line is INSUFFICIENT_STOCK and takes nothing from the others', async () => {
      const fx = await withStock([10, 1]);
      // The short product sorts last, so a store going line by line has already taken the first.
      const [plenty, short] = ids<[string, string]>(fx);
      const [orderId, tenant] = [randomUUID(), freshTenant()];
      await assert.rejects(
        fx.inventory.reserve(orderId, tenant, [line(short, 2), line(plenty, 4)]),
        rejectsWith('INSUFFICIENT_STOCK', { productId: short, available: 1, requested: 2 }),
      );
      assert.deepEqual(await levels(fx), [10, 1]);
      // Nothing was recorded for the order either: it may reserve what there is.
      await fx.inventory.reserve(orderId, tenant, [line(plenty, 4)]);
      assert.deepEqual(await levels(fx), [6, 1]);
    });

    it('an unknown product is PRODUCT_NOT_FOUND and takes nothing', async () => {
      const fx = await withStock([10]);
      const [known] = ids<[string]>(fx);
      const unknown = `${known}-missing`;
      await assert.rejects(
        fx.inventory.reserve(randomUUID(), freshTenant(), [line(known, 1), line(unknown, 1)]),
        rejectsWith('PRODUCT_NOT_FOUND', { productId: unknown }),
      );
      assert.deepEqual(await levels(fx), [10]);
    });

    it('stock never goes negative: 30 concurrent one-unit orders for the last 10 units, exactly 10 succeed', async () => {
      const fx = await withStock([10]);
      const [id] = ids<[string]>(fx);
      const tenant = freshTenant();
      const results = await Promise.allSettled(
        Array.from({ length: 30 }, () => fx.inventory.reserve(randomUUID(), tenant, [line(id, 1)])),
      );
      const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
      assert.equal(results.length - failures.length, 10);
      for (const err of failures) assert.ok(isDomainError(err, 'INSUFFICIENT_STOCK'), String(err));
      assert.deepEqual(await levels(fx), [0]);
    });

    it('reserve is idempotent per order id: repeated, concurrent or with other lines, it takes stock once', async () => {
      const fx = await withStock([10]);
      const [id] = ids<[string]>(fx);
      const [orderId, tenant] = [randomUUID(), freshTenant()];
      await fx.inventory.reserve(orderId, tenant, [line(id, 4)]);
      await fx.inventory.reserve(orderId, tenant, [line(id, 4)]);
      assert.deepEqual(await levels(fx), [6]);
      await fx.inventory.reserve(orderId, tenant, [line(id, 2)]);
      assert.deepEqual(await levels(fx), [6]);
      const other = randomUUID();
      await Promise.all(Array.from({ length: 5 }, () => fx.inventory.reserve(other, tenant, [line(id, 3)])));
      assert.deepEqual(await levels(fx), [3]);
    });

    it('release gives the stock back once; a repeated release changes nothing', async () => {
      const fx = await withStock([10, 10]);
      const [a, b] = ids<[string, string]>(fx);
      const [orderId, tenant] = [randomUUID(), freshTenant()];
      await fx.inventory.reserve(orderId, tenant, [line(a, 4), line(b, 1)]);
      await fx.inventory.reserve(randomUUID(), tenant, [line(a, 3)]);
      assert.deepEqual(await levels(fx), [3, 9]);
      await fx.inventory.release(orderId, tenant, 'payment declined');
      assert.deepEqual(await levels(fx), [7, 10]);
      await fx.inventory.release(orderId, tenant, 'payment declined');
      await Promise.all(Array.from({ length: 3 }, () => fx.inventory.release(orderId, tenant, 'again')));
      assert.deepEqual(await levels(fx), [7, 10]);
    });

    it('an order once released is not reserved again by a late reserve', async () => {
      const fx = await withStock([10]);
      const [id] = ids<[string]>(fx);
      const [orderId, tenant] = [randomUUID(), freshTenant()];
      await fx.inventory.reserve(orderId, tenant, [line(id, 4)]);
      await fx.inventory.release(orderId, tenant, 'order cancelled');
      await fx.inventory.reserve(orderId, tenant, [line(id, 4)]);
      assert.deepEqual(await levels(fx), [10]);
    });

    it('release of an unknown order changes nothing', async () => {
      const fx = await withStock([10]);
      const [id] = ids<[string]>(fx);
      const tenant = freshTenant();
      await fx.inventory.reserve(randomUUID(), tenant, [line(id, 2)]);
      await fx.inventory.release(randomUUID(), tenant, 'nothing there');
      assert.deepEqual(await levels(fx), [8]);
    });

    it("release by another tenant changes nothing; the order's own tenant releases it", async () => {
      const fx = await withStock([10]);
      const [id] = ids<[string]>(fx);
      const [orderId, tenant] = [randomUUID(), freshTenant()];
      await fx.inventory.reserve(orderId, tenant, [line(id, 2)]);
      await fx.inventory.release(orderId, freshTenant(), 'not mine');
      assert.deepEqual(await levels(fx), [8]);
      await fx.inventory.release(orderId, tenant, 'mine');
      assert.deepEqual(await levels(fx), [10]);
    });

    it('malformed requests are BAD_USER_INPUT and change nothing', async () => {
      const fx = await withStock([10]);
      const [id] = ids<[string]>(fx);
      const tenant = freshTenant();
      const reserves: Array<[string, StockLine[]]> = [
        ['not-a-uuid', [line(id, 1)]],
        [randomUUID(), []],
        [randomUUID(), [line(id, 0)]],
        [randomUUID(), [line(id, -3)]],
        [randomUUID(), [line(id, 1.5)]],
        [randomUUID(), [line(id, 101)]],
        [randomUUID(), [line(id, 60), line(id, 60)]],
        [randomUUID(), [line('DROP TABLE products', 1)]],
      ];
      for (const [orderId, lines] of reserves) {
        await assert.rejects(fx.inventory.reserve(orderId, tenant, lines), rejectsWith('BAD_USER_INPUT'), orderId);
      }
      const orderId = randomUUID();
      await fx.inventory.reserve(orderId, tenant, [line(id, 2)]);
      await assert.rejects(fx.inventory.release('not-a-uuid', tenant, 'why'), rejectsWith('BAD_USER_INPUT'));
      await assert.rejects(fx.inventory.release(orderId, tenant, '  '), rejectsWith('BAD_USER_INPUT'));
      assert.deepEqual(await levels(fx), [8]);
    });
  });
}
