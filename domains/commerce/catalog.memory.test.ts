import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { catalogContract } from './catalog.contract.test.ts';
import { aProduct, memoryShop } from './testing.ts';

catalogContract('memory', async (products) => memoryShop([...products]).catalog);

describe('memory shop', () => {
  it('getProduct and listProducts both show the stock left after reservations', async () => {
    const { catalog, inventory } = memoryShop([aProduct({ stock: 10 })]);
    await inventory.reserve(crypto.randomUUID(), 't1', [{ productId: 'p-widget', quantity: 4 }]);
    assert.equal((await catalog.getProduct('p-widget'))?.stock, 6);
    assert.deepEqual(
      (await catalog.listProducts(10)).map((p) => p.stock),
      [6],
    );
  });
});
