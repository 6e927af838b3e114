/**
 * A region process's Prometheus metrics: one registry (the edge's text-format registry,
 * edge/metrics/metrics.ts) with the golden signals of its HTTP routes and GraphQL operations,
 * auth failures, and measurements taken at scrape time (consumer lag, outbox backlog…) by
 * collectors that refresh at most once per `ttlMs`, so a busy scraper cannot hammer Kafka or
 * PostgreSQL. Names no domain: domains appear only as label values.
 */

import { createHash, timingSafeEqual } from 'node:crypto';
import type { ApolloServerPlugin } from '@apollo/server';
import { Hono, type MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import {
  type Counter,
  createRegistry,
  type Gauge,
  type Histogram,
  PROMETHEUS_CONTENT_TYPE,
  type Registry,
} from '../../edge/metrics/metrics.ts';

/** Latency buckets in seconds, as the edge's: sub-millisecond hits up to slow federated queries. */
export const DURATION_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Distinct operation names kept as label values; later names count as "other" (a client cannot blow up the series). */
const MAX_OPERATION_NAMES = 200;
const OPERATION_NAME = /^[_A-Za-z][_0-9A-Za-z]{0,63}$/;

/** Something measured at scrape time (Kafka, PostgreSQL): it sets gauges on the registry. */
export interface ScrapeCollector {
  readonly name: string;
  refresh(): Promise<void>;
}

/** The region process's metrics and the hooks that record into them. */
export interface RegionMetrics {
  readonly registry: Registry;
  /** Golden signals per route of one HTTP server (`gateway`, `hub`…): requests, errors, duration, in flight. */
  http(server: string): MiddlewareHandler;
  /** Golden signals per GraphQL operation at the gateway (name, type, outcome, duration, error codes). */
  graphqlPlugin(): ApolloServerPlugin;
  /** A refused credential on a surface (`graphql`, `hub-ws`, `hub-sse`, `ops`; `metrics` is counted here). */
  authFailure(surface: string): void;
  /** Adds a scrape-time collector. */
  addCollector(collector: ScrapeCollector): void;
  /** Refreshes the collectors (within their cache) and renders the text format. */
  render(): Promise<string>;
  /** `GET /metrics`. */
  routes(): Hono;
}

/** Options of {@link createRegionMetrics}. */
export interface RegionMetricsOptions {
  readonly region: string;
  /** How long a collector's measurement is reused; 2 s by default. */
  readonly ttlMs?: number;
  /** Longest wait for one collector at scrape time; 3 s by default (its last values are kept). */
  readonly timeoutMs?: number;
  readonly log?: (line: string) => void;
  /**
   * A bearer token /metrics then requires (Prometheus `authorization.credentials`), for a port
   * reachable by more than the scraper; open when absent (loopback ports, as the edge's).
   */
  readonly token?: string;
}

/** Declares a region process's metrics on a fresh registry. */
export function createRegionMetrics(opts: RegionMetricsOptions): RegionMetrics {
  const registry = createRegistry();
  const ttlMs = opts.ttlMs ?? 2000;
  const timeoutMs = opts.timeoutMs ?? 3000;
  const info = registry.gauge<'region'>({
    name: 'meridian_region_info',
    help: 'Always 1; the region this process serves.',
    labelNames: ['region'],
  });
  info.set({ region: opts.region }, 1);
  const httpRequests: Counter<'server' | 'route' | 'method' | 'status'> = registry.counter({
    name: 'meridian_region_http_requests_total',
    help: 'HTTP requests answered, by server, route pattern, method and status code.',
    labelNames: ['server', 'route', 'method', 'status'],
  });
  const httpDuration: Histogram<'server' | 'route'> = registry.histogram({
    name: 'meridian_region_http_request_duration_seconds',
    help: 'Time to the response headers (a stream: to its start), by server and route pattern, in seconds.',
    labelNames: ['server', 'route'],
    buckets: DURATION_BUCKETS,
  });
  const httpInFlight: Gauge<'server'> = registry.gauge({
    name: 'meridian_region_http_requests_in_flight',
    help: 'HTTP requests being answered now (saturation), by server.',
    labelNames: ['server'],
  });
  const operations: Counter<'operation' | 'type' | 'outcome'> = registry.counter({
    name: 'meridian_region_graphql_operations_total',
    help: 'GraphQL operations at the gateway by operation name, type and outcome (ok, error).',
    labelNames: ['operation', 'type', 'outcome'],
  });
  const operationDuration: Histogram<'operation' | 'type'> = registry.histogram({
    name: 'meridian_region_graphql_operation_duration_seconds',
    help: 'GraphQL operation time at the gateway, parse to response, in seconds.',
    labelNames: ['operation', 'type'],
    buckets: DURATION_BUCKETS,
  });
  const operationErrors: Counter<'operation' | 'code'> = registry.counter({
    name: 'meridian_region_graphql_errors_total',
    help: 'GraphQL errors answered by the gateway, by operation name and extensions.code.',
    labelNames: ['operation', 'code'],
  });
  const authFailures: Counter<'surface'> = registry.counter({
    name: 'meridian_region_auth_failures_total',
    help: 'Credentials refused (missing scope, bad or expired token), by surface.',
    labelNames: ['surface'],
  });
  for (const surface of ['graphql', 'hub-ws', 'hub-sse', 'ops', 'metrics']) authFailures.inc({ surface }, 0);
  const scrapeErrors: Counter<'collector'> = registry.counter({
    name: 'meridian_region_scrape_errors_total',
    help: 'Scrape-time measurements that failed or timed out (their last values were kept), by collector.',
    labelNames: ['collector'],
  });

  const knownOperations = new Set<string>();
  function operationLabel(name: string | null | undefined): string {
    if (!name) return 'anonymous';
    if (!OPERATION_NAME.test(name)) return 'other';
    if (knownOperations.has(name)) return name;
    if (knownOperations.size >= MAX_OPERATION_NAMES) return 'other';
    knownOperations.add(name);
    return name;
  }

  const collectors: Array<{ collector: ScrapeCollector; at: number; running?: Promise<void> }> = [];
  async function refresh(entry: (typeof collectors)[number]): Promise<void> {
    if (Date.now() - entry.at < ttlMs) return;
    entry.running ??= (async () => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        await Promise.race([
          entry.collector.refresh(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        entry.at = Date.now();
      } catch (err) {
        scrapeErrors.inc({ collector: entry.collector.name });
        opts.log?.(`metrics: ${entry.collector.name}: ${(err as Error)?.message ?? err}`);
      } finally {
        clearTimeout(timer);
        entry.running = undefined;
      }
    })();
    await entry.running;
  }

  const metrics: RegionMetrics = {
    registry,
    http(server) {
      return async function goldenSignals(c, next) {
        const started = performance.now();
        httpInFlight.inc({ server });
        try {
          await next();
        } finally {
          httpInFlight.dec({ server });
          // The matched pattern, not the path: ids in paths must not become series.
          const route = c.finalized || c.res ? routePath(c, -1) : 'unmatched';
          const status = c.res?.status ?? 500;
          const label = status === 404 && route.includes('*') ? 'unmatched' : route;
          httpRequests.inc({ server, route: label, method: c.req.method, status: String(status) });
          httpDuration.observe({ server, route: label }, (performance.now() - started) / 1000);
        }
      };
    },
    graphqlPlugin() {
      return {
        async requestDidStart() {
          const started = performance.now();
          return {
            async willSendResponse({ operation, operationName, response, errors }) {
              const name = operationLabel(operationName ?? operation?.name?.value);
              const type = operation?.operation ?? 'unknown';
              const body = response.body.kind === 'single' ? response.body.singleResult : undefined;
              const answered = [...(errors ?? []), ...((body?.errors as readonly { extensions?: unknown }[]) ?? [])];
              const codes = new Set<string>();
              for (const e of answered) {
                const code = (e.extensions as { code?: unknown } | undefined)?.code;
                codes.add(typeof code === 'string' ? code : 'INTERNAL_SERVER_ERROR');
              }
              for (const code of codes) {
                operationErrors.inc({ operation: name, code });
                if (code === 'UNAUTHENTICATED' || code === 'FORBIDDEN') authFailures.inc({ surface: 'graphql' });
              }
              operations.inc({ operation: name, type, outcome: codes.size > 0 ? 'error' : 'ok' });
              operationDuration.observe({ operation: name, type }, (performance.now() - started) / 1000);
            },
          };
        },
      };
    },
    authFailure(surface) {
      authFailures.inc({ surface });
    },
    addCollector(collector) {
      collectors.push({ collector, at: 0 });
    },
    async render() {
      await Promise.all(collectors.map(refresh));
      return registry.render();
    },
    routes() {
      const app = new Hono();
      app.get('/metrics', async (c) => {
        c.header('cache-control', 'no-store');
        if (opts.token !== undefined) {
          const presented = /^bearer +(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1] ?? '';
          const h = (s: string) => createHash('sha256').update(s).digest();
          if (!timingSafeEqual(h(presented), h(opts.token))) {
            authFailures.inc({ surface: 'metrics' });
            c.header('WWW-Authenticate', 'Bearer realm="meridian-metrics"');
            return c.body('the metrics need the bearer token\n', 401);
          }
        }
        return c.body(await metrics.render(), 200, { 'content-type': PROMETHEUS_CONTENT_TYPE });
      });
      return app;
    },
  };
  return metrics;
}
