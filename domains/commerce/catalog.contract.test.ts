/**
 * The ProductCatalog contract (ports.ts), run by every adapter's tests: memory (unit) and
 * PostgreSQL (integration). Not a test file by itself: it exports the suite. Each test
 * states the whole catalog it reads, so a real adapter needs a catalog of its own.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Product } from './catalog.ts';
import type { ProductCatalog } from './ports.ts';
import { aProduct } from './testing.ts';

/** A catalog holding exactly `products`. */
export type WithProducts = (products: readonly Product[]) => Promise<ProductCatalog>;

/** Products with these ids (each its own sku, price and stock), in the order given. */
function productsWith(...ids: string[]): Product[] {
  return ids.map((id, i) => aProduct({ id, sku: `SKU-${id}`, name: `Product ${id}`, priceCents: 100 + i, stock: i }));
}

const ids = (products: readonly Product[]) => products.map((p) => p.id);

/** Registers the contract suite for one adapter. */
export function catalogContract(name: string, withProducts: WithProducts): void {
  describe(`ProductCatalog contract: ${name}`, () => {
    it('getProduct answers the product, and undefined for an unknown id', async () => {
      const products = productsWith('p-mouse', 'p-cable');
      const catalog = await withProducts(products);
      assert.deepEqual(await catalog.getProduct('p-cable'), products[1]);
      assert.equal(await catalog.getProduct('p-unknown'), undefined);
    });

    it('listProducts answers products in id order, whatever order they were added in, at most `first`', async () => {
      const products = productsWith('p-mouse', 'p-cable', 'p-zebra', 'p-arm', 'p-monitor');
      const catalog = await withProducts(products);
      const all = await catalog.listProducts(10);
      assert.deepEqual(ids(all), ['p-arm', 'p-cable', 'p-monitor', 'p-mouse', 'p-zebra']);
      assert.deepEqual(all[0], products[3]);
      assert.deepEqual(ids(await catalog.listProducts(2)), ['p-arm', 'p-cable']);
      assert.deepEqual(ids(await catalog.listProducts(1)), ['p-arm']);
    });

    it('`after` starts the page after that id (exclusive), also when no product has it', async () => {
      const catalog = await withProducts(productsWith('p-mouse', 'p-cable', 'p-zebra', 'p-arm'));
      assert.deepEqual(ids(await catalog.listProducts(10, 'p-cable')), ['p-mouse', 'p-zebra']);
      assert.deepEqual(ids(await catalog.listProducts(1, 'p-cable')), ['p-mouse']);
      assert.deepEqual(ids(await catalog.listProducts(10, 'p-d')), ['p-mouse', 'p-zebra']);
      assert.deepEqual(await catalog.listProducts(10, 'p-zebra'), []);
    });

    it('paging with the last id of each page visits every product once, in id order', async () => {
      const catalog = await withProducts(productsWith('p-e', 'p-b', 'p-g', 'p-a', 'p-d', 'p-c', 'p-f'));
      const seen: string[] = [];
      let after: string | undefined;
      for (let pages = 0; pages < 10; pages++) {
        const page = await catalog.listProducts(3, after);
        if (page.length === 0) break;
        seen.push(...ids(page));
        after = page.at(-1)?.id;
      }
      assert.deepEqual(seen, ['p-a', 'p-b', 'p-c', 'p-d', 'p-e', 'p-f', 'p-g']);
    });

    it('countProducts counts every product', async () => {
      assert.equal(await (await withProducts(productsWith('p-a', 'p-b', 'p-c'))).countProducts(), 3);
      assert.equal(await (await withProducts([])).countProducts(), 0);
      assert.deepEqual(await (await withProducts([])).listProducts(10), []);
    });
  });
}
