/**
 * Cache-first ProductCatalog: products by id and catalog pages are read through the
 * region's Redis. Pages carry a generation number so one bump invalidates them all.
 */
import type { Redis } from 'ioredis';
import type { Product } from '../../domains/commerce/catalog.ts';
import type { ProductCatalog } from '../../domains/commerce/ports.ts';
import { createReadThroughCache, type ReadThroughCache } from '../cache/read-through.ts';

export interface CachedCatalog extends ProductCatalog {
  /** Drops the cached products and every cached page. */
  invalidateProducts(ids: readonly string[]): Promise<void>;
  readonly productCache: ReadThroughCache<Product>;
}

export function createCachedCatalog(
  origin: ProductCatalog,
  redis: Redis,
  opts: { ttlSeconds?: number; negativeTtlSeconds?: number } = {},
): CachedCatalog {
  const ttlSeconds = opts.ttlSeconds ?? 60;
  const productCache = createReadThroughCache<Product>({
    redis,
    namespace: 'commerce:product',
    ttlSeconds,
    negativeTtlSeconds: opts.negativeTtlSeconds ?? 5,
  });
  const pageCache = createReadThroughCache<Product[]>({ redis, namespace: 'commerce:products', ttlSeconds });
  const pageGeneration = 'commerce:products:generation';
  return {
    productCache,
    getProduct(id) {
      return productCache.get(id, () => origin.getProduct(id));
    },
    async listProducts(first, after) {
      const gen = (await redis.get(pageGeneration).catch(() => null)) ?? '0';
      const page = await pageCache.get(`${gen}:${first}:${after ?? ''}`, () => origin.listProducts(first, after));
      return page ?? [];
    },
    countProducts: () => origin.countProducts(),
    async invalidateProducts(ids) {
      await productCache.invalidate(...ids);
      await redis.incr(pageGeneration).catch(() => {});
    },
  };
}
