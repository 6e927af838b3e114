/** Redis adapter (ioredis). */
import { Redis } from 'ioredis';
import type { Dependency } from './dependency.ts';

export interface RedisConfig {
  readonly url: string;
}

export interface RedisDependency extends Dependency {
  readonly client: Redis;
}

export function createRedis(config: RedisConfig): RedisDependency {
  const client = new Redis(config.url, {
    lazyConnect: true,
    maxRetriesPerRequest: 2,
    connectTimeout: 5000,
    // Keep retrying in the background; callers see errors, not a crash.
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  client.on('error', () => {});
  let closed = false;
  return {
    name: 'redis',
    client,
    async ping() {
      if (client.status === 'wait') await client.connect();
      const info = await client.info('server');
      return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
    },
    async close() {
      if (closed) return;
      closed = true;
      client.disconnect();
    },
  };
}
