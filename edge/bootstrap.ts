/**
 * What both entry points do before serving: configuration from the environment and the
 * rate-limit stores (Redis shared between instances when configured, memory otherwise
 * and as the fallback). The runtime supplies its environment, client address and WebSocket upgrade.
 */
import { Redis } from 'ioredis';
import { createEdge, type Edge, type EdgeDeps } from './app.ts';
import { type EdgeConfig, edgeConfig } from './config.ts';
import { createMemoryStore } from './ratelimit/memory-store.ts';
import { createRedisStore } from './ratelimit/redis-store.ts';

export interface BootedEdge {
  readonly config: EdgeConfig;
  readonly edge: Edge;
  /** Stops the edge's background work and closes Redis. */
  close(): Promise<void>;
}

/** Builds and starts the edge; throws EdgeConfigError with the variable's name on bad config. */
export function bootEdge(
  env: Record<string, string | undefined>,
  clientIp: EdgeDeps['clientIp'],
  runtime: Pick<EdgeDeps, 'upgradeWebSocket' | 'gatewayPost' | 'streamFetch' | 'hitTemplates'> = {},
): BootedEdge {
  const config = edgeConfig(env);
  const memory = createMemoryStore();
  const redis = config.redisUrl
    ? new Redis(config.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false })
    : undefined;
  redis?.on('error', () => {});
  const edge = createEdge(config, {
    ...runtime,
    clientIp,
    rateLimitStore: redis ? createRedisStore({ client: redis }) : memory,
    fallbackStore: redis ? memory : undefined,
  });
  edge.start();
  return {
    config,
    edge,
    async close() {
      await edge.stop();
      redis?.disconnect();
    },
  };
}
