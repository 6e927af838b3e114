/** The edge on Deno: `deno run --allow-net --allow-env --allow-read edge/main.deno.ts`. */
import type { Context } from 'hono';
import { getConnInfo } from 'hono/deno';
import { Redis } from 'ioredis';
import { createEdge } from './app.ts';
import { EdgeConfigError, edgeConfig } from './config.ts';
import { createMemoryStore } from './ratelimit/memory-store.ts';
import { createRedisStore } from './ratelimit/redis-store.ts';

let config: ReturnType<typeof edgeConfig>;
try {
  config = edgeConfig(Deno.env.toObject());
} catch (err) {
  if (!(err instanceof EdgeConfigError)) throw err;
  console.error(`edge: invalid configuration — ${err.message}`);
  Deno.exit(78);
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
const server = Deno.serve(
  {
    port: config.port,
    hostname: Deno.env.get('MERIDIAN_EDGE_HOST') ?? '127.0.0.1',
    onListen: ({ port }) =>
      console.log(
        `edge (deno ${Deno.version.deno}) on http://127.0.0.1:${port}, nearest ${config.nearest}, writer ${config.writer}`,
      ),
  },
  (req, info) => edge.app.fetch(req, info),
);
const shutdown = async () => {
  await server.shutdown();
  await edge.stop();
  redis?.disconnect();
  Deno.exit(0);
};
Deno.addSignalListener('SIGINT', () => void shutdown());
Deno.addSignalListener('SIGTERM', () => void shutdown());
