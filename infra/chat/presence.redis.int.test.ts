/** The Presence contract on the region's real Redis. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { presenceContract } from '../../domains/chat/presence.contract.test.ts';
import { createRedis, type RedisDependency } from '../adapters/redis.ts';
import { resolveEndpoints } from '../config/endpoints.ts';
import { createRedisPresence, presenceKey } from './presence.redis.ts';

let redis: RedisDependency;
before(() => {
  redis = createRedis({ url: resolveEndpoints('east', process.env).redisUrl });
});
after(() => redis?.close());

presenceContract('redis', () => createRedisPresence(redis.client));

describe('presence in Redis', () => {
  it('a room nobody beats for leaves no key behind (the key carries the ttl)', async () => {
    const room = crypto.randomUUID();
    await createRedisPresence(redis.client).heartbeat('t-ttl', room, 'u1', 1000);
    const ttl = await redis.client.pttl(presenceKey('t-ttl', room));
    assert.ok(ttl > 0 && ttl <= 1000, `pttl ${ttl}`);
  });
});
