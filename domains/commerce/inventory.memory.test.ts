import { inventoryContract } from './inventory.contract.test.ts';
import { aProduct, memoryShop } from './testing.ts';

inventoryContract('memory', async (stocks) => {
  const products = stocks.map((stock, i) => aProduct({ id: `p-stock-${i}`, sku: `S-${i}`, stock }));
  const shop = memoryShop(products);
  return {
    inventory: shop.inventory,
    products: products.map((p) => p.id),
    stockOf: async (id) => shop.stock.get(id),
  };
});
