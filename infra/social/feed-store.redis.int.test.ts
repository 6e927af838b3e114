/** The FeedStore contract against the real east Redis, under a key prefix of this run's own (deleted afterwards). */
import { after, before } from 'node:test';
import { feedStoreContract } from '../../domains/social/feed-store.contract.test.ts';
import type { FeedStore } from '../../domains/social/ports.ts';
import { createRedis, type RedisDependency } from '../adapters/redis.ts';
import { uniqueName } from '../adapters/testing.ts';
import { resolveEndpoints } from '../config/endpoints.ts';
import { createRedisFeedStore } from './feed-store.redis.ts';

const prefix = uniqueName('social-test-feed');
const CAP = 20;
let redis: RedisDependency;
let store: FeedStore;

before(async () => {
  redis = createRedis({ url: resolveEndpoints('east', process.env).redisUrl });
  await redis.ping();
  store = createRedisFeedStore(redis.client, { prefix, cap: CAP, batch: 2 });
});
after(async () => {
  const keys = await redis.client.keys(`${prefix}:*`);
  if (keys.length) await redis.client.del(...keys);
  await redis.close();
});

feedStoreContract('Redis', () => ({ store, cap: CAP }));
