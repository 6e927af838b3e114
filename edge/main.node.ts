/** The edge on Node: `node edge/main.node.ts` (environment: see edge/config.ts). */
import { serve } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import { Redis } from 'ioredis';
import { createEdge } from './app.ts';
import { EdgeConfigError, edgeConfig } from './config.ts';
import { createMemoryStore } from './ratelimit/memory-store.ts';
import { createRedisStore } from './ratelimit/redis-store.ts';

let config: ReturnType<typeof edgeConfig>;
try {
  config = edgeConfig(process.env);
} catch (err) {
  if (!(err instanceof EdgeConfigError)) throw err;
  console.error(`edge: invalid configuration — ${err.message}`);
  process.exit(78);
}
const memory = createMemoryStore();
const redis = config.redisUrl
  ? new Redis(config.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false })
  : undefined;
redis?.on('error', () => {});
const edge = createEdge(config, {
  clientIp: (_req, c) => getConnInfo(c as Context).remote.address,
  rateLimitStore: redis ? createRedisStore({ client: redis }) : memory,
  fallbackStore: redis ? memory : undefined,
});
edge.start();
const server = serve(
  { fetch: edge.app.fetch, port: config.port, hostname: process.env.MERIDIAN_EDGE_HOST ?? '127.0.0.1' },
  (info) =>
    console.log(
      `edge (node ${process.versions.node}) on http://127.0.0.1:${info.port}, nearest ${config.nearest}, writer ${config.writer}`,
    ),
);
const shutdown = async () => {
  server.close();
  await edge.stop();
  redis?.disconnect();
  process.exit(0);
};
process.once('SIGINT', () => void shutdown());
process.once('SIGTERM', () => void shutdown());
