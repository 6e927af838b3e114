/**
 * What a region process measures for /metrics beyond its own requests: consumer lag per group
 * and outbox backlog (asked of Kafka and PostgreSQL at scrape time, cached briefly), the
 * regional caches' hit ratio per domain, and the hub's connections, drops and slow-client
 * disconnects (read from their own counters at render time).
 */
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { Registry } from '../../edge/metrics/metrics.ts';
import type { KafkaDependency } from '../../infra/adapters/kafka.ts';
import { cachesOn } from '../../infra/cache/read-through.ts';
import { groupProgress, partitionLag } from '../../infra/events/consumer-lag.ts';
import type { Hub } from '../hub/hub.ts';
import type { WsStats } from '../hub/ws.ts';
import type { ScrapeCollector } from './region-metrics.ts';

/**
 * Consumer lag of the region's durable groups (ids ending in `-<region>`, e.g.
 * `<domain>-<processor>-east`, `commerce-cache-invalidator-east`): per group and topic, the end offsets
 * minus the committed offsets (a partition never committed counts from its low watermark).
 * Ephemeral per-process feeds commit nothing, so they have no lag to report.
 */
export function consumerLagCollector(registry: Registry, kafka: KafkaDependency, region: string): ScrapeCollector {
  let lag = new Map<string, number>();
  registry.collect<'group' | 'topic'>(
    {
      name: 'meridian_region_consumer_lag_records',
      help: 'Records a durable consumer group has yet to consume, per group and topic (end offset minus committed offset, at scrape time).',
      type: 'gauge',
      labelNames: ['group', 'topic'],
    },
    () =>
      [...lag].map(([key, value]) => {
        const [group, topic] = key.split('\u0000') as [string, string];
        return [{ group, topic }, value] as const;
      }),
  );
  return {
    name: 'consumer-lag',
    async refresh() {
      const next = new Map<string, number>();
      for (const g of await groupProgress(kafka, (id) => id.endsWith(`-${region}`))) {
        for (const t of g.topics) {
          next.set(
            `${g.groupId}\u0000${t.topic}`,
            t.partitions.reduce((sum, p) => sum + partitionLag(p), 0),
          );
        }
      }
      lag = next;
    },
  };
}

/** Outbox rows not yet published, and the age of the oldest (0 when none), read from PostgreSQL at scrape time. */
export function outboxCollector(registry: Registry, pool: pg.Pool): ScrapeCollector {
  const backlog = registry.gauge({
    name: 'meridian_region_outbox_backlog',
    help: 'Outbox rows written but not yet published to Kafka (at scrape time).',
  });
  const oldest = registry.gauge({
    name: 'meridian_region_outbox_oldest_unpublished_seconds',
    help: 'Age of the oldest unpublished outbox row, in seconds (0 when the outbox is drained).',
  });
  return {
    name: 'outbox',
    async refresh() {
      // The partial index outbox_unpublished covers exactly these rows.
      const { rows } = await pool.query<{ n: string; age: number | null }>(
        `SELECT count(*) AS n, extract(epoch FROM now() - min(created_at))::float8 AS age
           FROM outbox WHERE published_at IS NULL`,
      );
      backlog.set(undefined, Number(rows[0]?.n ?? 0));
      oldest.set(undefined, Math.max(0, rows[0]?.age ?? 0));
    },
  };
}

/**
 * The regional read-through caches over this process's Redis connection, by domain (a cache
 * namespace's first segment, `<domain>:<entity>` → <domain>): lookups by result, and the hit
 * ratio since start (hits, positive or negative, over lookups that reached Redis).
 */
export function cacheMetrics(registry: Registry, redis: Redis): void {
  const byDomain = () => {
    const out = new Map<
      string,
      { hit: number; negative_hit: number; miss: number; coalesced: number; error: number }
    >();
    for (const { namespace, stats } of cachesOn(redis)) {
      const domain = namespace.split(':')[0] ?? namespace;
      const d = out.get(domain) ?? { hit: 0, negative_hit: 0, miss: 0, coalesced: 0, error: 0 };
      d.hit += stats.hits;
      d.negative_hit += stats.negativeHits;
      d.miss += stats.misses;
      d.coalesced += stats.coalesced;
      d.error += stats.errors;
      out.set(domain, d);
    }
    return out;
  };
  registry.collect<'domain' | 'result'>(
    {
      name: 'meridian_region_cache_requests_total',
      help: 'Regional cache lookups by domain and result (hit, negative_hit, miss, coalesced into a load in flight, error).',
      type: 'counter',
      labelNames: ['domain', 'result'],
    },
    () =>
      [...byDomain()].flatMap(([domain, d]) =>
        Object.entries(d).map(([result, value]) => [{ domain, result }, value] as const),
      ),
  );
  registry.collect<'domain'>(
    {
      name: 'meridian_region_cache_hit_ratio',
      help: 'Regional cache hits over lookups since the process started, by domain (rate() of the counter is the windowed one).',
      type: 'gauge',
      labelNames: ['domain'],
    },
    () =>
      [...byDomain()].map(([domain, d]) => {
        const lookups = d.hit + d.negative_hit + d.miss;
        return [{ domain }, lookups === 0 ? 0 : (d.hit + d.negative_hit) / lookups] as const;
      }),
  );
}

/** The hub: subscriptions, WebSocket connections, drops (slow clients cut off) and refused handshakes. */
export function hubMetrics(registry: Registry, hub: Hub, ws: () => WsStats | undefined): void {
  registry.collect(
    {
      name: 'meridian_region_hub_subscriptions',
      help: 'Open hub subscriptions (SSE streams and GraphQL subscriptions).',
      type: 'gauge',
    },
    () => [[undefined, hub.stats().subscriptions]],
  );
  registry.collect(
    {
      name: 'meridian_region_hub_pending_messages',
      help: 'Messages buffered for subscribers, not yet taken.',
      type: 'gauge',
    },
    () => [[undefined, hub.stats().pending]],
  );
  registry.collect(
    {
      name: 'meridian_region_hub_published_total',
      help: 'Messages published into hub topics (duplicates excluded).',
      type: 'counter',
    },
    () => [[undefined, hub.stats().published]],
  );
  registry.collect(
    {
      name: 'meridian_region_hub_duplicates_total',
      help: 'Publishes dropped as duplicates of an event id still in history.',
      type: 'counter',
    },
    () => [[undefined, hub.stats().duplicates]],
  );
  registry.collect<'reason'>(
    {
      name: 'meridian_region_hub_subscriptions_ended_total',
      help: 'Hub subscriptions ended, by reason: closed (by the client), overflow (a slow client cut off), hub-closed.',
      type: 'counter',
      labelNames: ['reason'],
    },
    () => Object.entries(hub.stats().ended).map(([reason, n]) => [{ reason }, n] as const),
  );
  registry.collect(
    { name: 'meridian_region_hub_ws_connections', help: 'Open WebSocket connections on the hub.', type: 'gauge' },
    () => [[undefined, ws()?.connections ?? 0]],
  );
  registry.collect(
    {
      name: 'meridian_region_hub_ws_connections_opened_total',
      help: 'WebSocket connections accepted by the hub.',
      type: 'counter',
    },
    () => [[undefined, ws()?.opened ?? 0]],
  );
  registry.collect<'code'>(
    {
      name: 'meridian_region_hub_ws_closed_by_server_total',
      help: 'WebSocket connections the hub closed, by close code (3008 slow consumer, 3001 shutdown, 3012 no pong…).',
      type: 'counter',
      labelNames: ['code'],
    },
    () => Object.entries(ws()?.closedByServer ?? {}).map(([code, n]) => [{ code }, n] as const),
  );
  registry.collect<'status'>(
    {
      name: 'meridian_region_hub_ws_refused_total',
      help: 'WebSocket handshakes refused, by HTTP status (401 token refused, 400 bad protocol…).',
      type: 'counter',
      labelNames: ['status'],
    },
    () => Object.entries(ws()?.refused ?? {}).map(([status, n]) => [{ status }, n] as const),
  );
}
