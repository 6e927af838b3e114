/**
 * The edge's own metrics, declared once so every part of the edge (router, cache, limiter,
 * region picker) records into the same names and `/metrics` renders them all. Known label
 * values start at 0, so ratios and rates exist before the first event; e.g. the cache hit ratio:
 *   sum(rate(meridian_edge_cache_requests_total{result="hit"}[5m]))
 *     / sum(rate(meridian_edge_cache_requests_total{result=~"hit|stale|miss"}[5m]))
 */
import { type Counter, createRegistry, type Histogram, type Registry } from './metrics.ts';

/** Cache outcomes counted by meridian_edge_cache_requests_total. */
export const CACHE_RESULTS = ['hit', 'miss', 'stale', 'bypass'] as const;
/** Purge kinds counted by meridian_edge_cache_purges_total. */
export const PURGE_KINDS = ['soft', 'hard'] as const;
/** Rate-limit buckets counted by meridian_edge_rate_limited_total (the limiter's policy names). */
export const RATE_LIMIT_BUCKETS = ['tenant', 'client', 'anonymous'] as const;

/** Latency buckets in seconds: a cache hit is sub-millisecond, a cold federated query can take seconds. */
export const REQUEST_DURATION_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Handles on every edge metric, plus the registry that renders them. */
export interface EdgeMetrics {
  readonly registry: Registry;
  /** meridian_edge_requests_total{route,status} */
  readonly requests: Counter<'route' | 'status'>;
  /** meridian_edge_request_duration_seconds{route} */
  readonly requestDuration: Histogram<'route'>;
  /** meridian_edge_cache_requests_total{result} */
  readonly cacheRequests: Counter<'result'>;
  /** meridian_edge_cache_purges_total{kind} */
  readonly cachePurges: Counter<'kind'>;
  /** meridian_edge_rate_limited_total{bucket} */
  readonly rateLimited: Counter<'bucket'>;
  /** meridian_edge_upstream_requests_total{region} */
  readonly upstreamRequests: Counter<'region'>;
  /** meridian_edge_failovers_total{from,to} */
  readonly failovers: Counter<'from' | 'to'>;
  /** The registry in Prometheus text format. */
  render(): string;
}

/** Declares the edge metrics on a registry (a fresh one by default); `regions` pre-seeds region labels. */
export function createEdgeMetrics(opts: { registry?: Registry; regions?: readonly string[] } = {}): EdgeMetrics {
  const registry = opts.registry ?? createRegistry();
  const requests = registry.counter({
    name: 'meridian_edge_requests_total',
    help: 'HTTP requests answered by the edge, by route and status code.',
    labelNames: ['route', 'status'],
  });
  const requestDuration = registry.histogram({
    name: 'meridian_edge_request_duration_seconds',
    help: 'Time from request received to response headers sent by the edge, in seconds.',
    labelNames: ['route'],
    buckets: REQUEST_DURATION_BUCKETS,
  });
  const cacheRequests = registry.counter({
    name: 'meridian_edge_cache_requests_total',
    help: 'GraphQL response cache lookups by result (hit, miss, stale, bypass).',
    labelNames: ['result'],
  });
  const cachePurges = registry.counter({
    name: 'meridian_edge_cache_purges_total',
    help: 'Cache purges by kind: soft marks entries stale, hard removes them.',
    labelNames: ['kind'],
  });
  const rateLimited = registry.counter({
    name: 'meridian_edge_rate_limited_total',
    help: 'Requests denied with 429, by the bucket that denied them.',
    labelNames: ['bucket'],
  });
  const upstreamRequests = registry.counter({
    name: 'meridian_edge_upstream_requests_total',
    help: 'Requests the edge sent to a region, by region.',
    labelNames: ['region'],
  });
  const failovers = registry.counter({
    name: 'meridian_edge_failovers_total',
    help: 'Traffic moved from one region to another because the first was unhealthy, by from and to region.',
    labelNames: ['from', 'to'],
  });
  for (const result of CACHE_RESULTS) cacheRequests.inc({ result }, 0);
  for (const kind of PURGE_KINDS) cachePurges.inc({ kind }, 0);
  for (const bucket of RATE_LIMIT_BUCKETS) rateLimited.inc({ bucket }, 0);
  for (const region of opts.regions ?? []) upstreamRequests.inc({ region }, 0);
  return {
    registry,
    requests,
    requestDuration,
    cacheRequests,
    cachePurges,
    rateLimited,
    upstreamRequests,
    failovers,
    render: () => registry.render(),
  };
}
