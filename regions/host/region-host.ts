/**
 * One region in one process, composed from a list of domain modules: opens the
 * dependencies, asks each module for its parts, and runs everything as services under one
 * manager — migrations, topics, the region gRPC server, each subgraph, the gateway, one
 * outbox relay for every domain's outbox, the document outbox mover, each module's
 * processors, the cache invalidator, the hub and edge purge feeds, and the HTTP ports
 * (gateway with /health and /ready; hub with SSE, and GraphQL subscriptions over WebSocket
 * and SSE built from the modules' subscription parts). Names no domain: the modules come in.
 * Production runs one role per process from the same pieces.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';
import { isDomainError } from '../../domains/shared/errors.ts';
import { createPostgres, type Postgres } from '../../infra/adapters/postgres.ts';
import { redisChannel } from '../../infra/adapters/redis-channel.ts';
import { blockPort, ConfigError } from '../../infra/config/endpoints.ts';
import type { EventConsumer } from '../../infra/events/consumer.ts';
import { ensureTopics } from '../../infra/events/topics.ts';
import { createDocumentOutboxMover, postgresOutboxSink } from '../../infra/outbox/document-outbox.ts';
import { createOutboxRelay } from '../../infra/outbox/relay.ts';
import { migrate } from '../../infra/postgres/migrate.ts';
import { createRetention, retentionSettings } from '../../infra/postgres/retention.ts';
import { parsePort, type RegionConfig } from '../config.ts';
import { gatewayApp, subgraphApp } from '../graphql/graphql-app.ts';
import { graphqlSseRoutes } from '../hub/graphql-sse.ts';
import { createHub, type Hub } from '../hub/hub.ts';
import { createUserLimits } from '../hub/limits.ts';
import { sseRoutes } from '../hub/sse.ts';
import { createHubGraphQL, type HubGraphQL } from '../hub/subscriptions.ts';
import { topicResolver } from '../hub/topics.ts';
import { createWsTransport, type WsTransport } from '../hub/ws.ts';
import type { Identity } from '../identity/identity.ts';
import { cacheMetrics, consumerLagCollector, hubMetrics, outboxCollector } from '../metrics/collectors.ts';
import { createRegionMetrics, type RegionMetrics } from '../metrics/region-metrics.ts';
import { replicationLagService } from '../metrics/replication.ts';
import { closeDependencies, openDependencies, type RegionDependencies } from './dependencies.ts';
import type { DomainContext, DomainModule, ExternalEvent } from './domain-module.ts';
import {
  type ComposedDomain,
  cacheInvalidatorServices,
  consumerOf,
  GLOBAL_TOPICS,
  liveFeedServices,
  processorServices,
  purgeChannelName,
  purgeEchoService,
} from './feeds.ts';
import { startGrpcServer } from './grpc-server.ts';
import { healthRoutes } from './health.ts';
import { listen, type UpgradeHandler } from './http.ts';
import { type HubSettingsOverrides, hubSettings } from './hub-settings.ts';
import { opsRoutes } from './ops.ts';
import { problem } from './problem.ts';
import { createServiceManager, type Service, type ServiceManager, step } from './services.ts';
import { createWriterFence, type WriterFence } from './writer-fence.ts';

export const SUPERGRAPH_FILE = fileURLToPath(new URL('../../schemas/supergraph.graphql', import.meta.url));

export interface RunningRegion {
  readonly config: RegionConfig;
  readonly deps: RegionDependencies;
  /** The ports actually listened on (differ from config where 0 was asked). */
  readonly gatewayPort: number;
  readonly hubPort: number;
  readonly hub: Hub;
  /** The hub's GraphQL schema and operations (every module's subscription fields). */
  readonly hubGraphQL: HubGraphQL;
  /** Open WebSocket connections on the hub. */
  hubConnections(): number;
  /** The process's Prometheus metrics (served at /metrics on the gateway and hub ports). */
  readonly metrics: RegionMetrics;
  readonly services: ServiceManager;
  /** The writer leases of single-writer aggregates, when a module declares any. */
  readonly writers: WriterFence | undefined;
  /** What a module's setup exposed (its handle), for tests and ops. */
  domain<H>(module: DomainModule<H>): H;
  /** A consumer the host runs, by service name (`<domain>.<processor>`, `<domain>.live-feed`…). */
  consumer(name: string): EventConsumer | undefined;
  /** Where a domain's subgraph listens (what the gateway calls). */
  subgraphUrl(domain: string): string;
  stop(): Promise<void>;
}

export interface RegionOptions {
  readonly identity: Identity;
  /** The domains this process runs (regions/domains.ts lists them all). */
  readonly domains: readonly DomainModule<unknown>[];
  readonly log?: (line: string) => void;
  /** Run the outbox relay in this process (default true; false when relays run as their own processes). */
  readonly relay?: boolean;
  /** Hub limits over the region's MERIDIAN_<REGION>_HUB_* settings (tests). */
  readonly hub?: HubSettingsOverrides;
  /** The supergraph SDL the gateway serves; the checked-in one by default (tests running some domains compose their own). */
  readonly supergraph?: string;
  /**
   * The region-wide consumer groups this process joins: every module's processors and the cache
   * invalidator (true, the default), none (false), or those named by service name
   * (`<domain>.<processor>`, `<domain>.cache-invalidator`) — when the others run as their own processes,
   * or a test on a database of its own must not join a group whose other members use another.
   * Per-process live feeds (hub, edge purges) run unless `liveFeeds` is false.
   */
  readonly processors?: boolean | readonly string[];
  /**
   * The per-process live feeds (each domain's hub feed, edge purges), on by default. Off for a
   * process that only serves the graph, such as a benchmark's registration region, which would
   * otherwise read every event the benchmark makes while it measures.
   */
  readonly liveFeeds?: boolean;
}

/** `shop` + `paymentProvider` → `SHOP_PAYMENT_PROVIDER` (what follows MERIDIAN_<REGION>_). */
export function settingKey(module: string, name: string): string {
  return `${module}_${name}`
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/-/g, '_')
    .toUpperCase();
}

/** Resolves a module's port: MERIDIAN_<REGION>_<MODULE>_<NAME>_PORT, else its offset in the region's block. */
function modulePort(config: RegionConfig, module: DomainModule<unknown>, name: string): number {
  const offset = module.ports?.[name];
  if (offset === undefined)
    throw new Error(`domain ${module.name} asked for port "${name}", which it does not declare`);
  const key = `${settingKey(module.name, name)}_PORT`;
  const raw = config.settings[key];
  if (raw !== undefined) return parsePort(`MERIDIAN_${config.region.toUpperCase()}_${key}`, raw);
  return config.anyFreeDomainPorts ? 0 : blockPort(config.region, offset);
}

/** Every module's external events; a type must be the declaring module's own, and offered once. */
export function collectExternalEvents(modules: readonly DomainModule<unknown>[]): ExternalEvent[] {
  const seen = new Set<string>();
  const all: ExternalEvent[] = [];
  for (const module of modules) {
    for (const offered of module.externalEvents ?? []) {
      if (!module.events.includes(offered.type)) {
        throw new ConfigError(`domain ${module.name} offers ${offered.type} outside, which is not one of its events`);
      }
      if (seen.has(offered.type)) throw new ConfigError(`${offered.type} is offered outside twice`);
      seen.add(offered.type);
      all.push(offered);
    }
  }
  return all;
}

function baseApp(
  config: RegionConfig,
  metrics: { server: string; of: RegionMetrics },
  checks: Parameters<typeof healthRoutes>[1],
  about?: Parameters<typeof healthRoutes>[2],
): Hono {
  const app = new Hono();
  app.use(metrics.of.http(metrics.server));
  app.use(async function regionHeader(c, next) {
    await next();
    c.res.headers.set('x-meridian-region', config.region);
  });
  app.route('/', healthRoutes(config.region, checks, about));
  app.route('/', metrics.of.routes());
  return app;
}

/** An HTTP port as a service; `listening` learns the port (0 in tests means any free one). */
function httpService(
  name: string,
  app: Hono,
  port: number,
  needs: readonly string[],
  listening: (port: number) => void,
  sockets?: Pick<WsTransport, 'handleUpgrade' | 'close'>,
): Service {
  let server: Awaited<ReturnType<typeof listen>> | undefined;
  const upgrade: UpgradeHandler | undefined =
    sockets && ((req, socket, head) => sockets.handleUpgrade(req, socket, head));
  return {
    name,
    needs,
    async start() {
      server = await listen(finish(app).fetch, port, undefined, { upgrade });
      listening(server.port);
    },
    async stop() {
      // WebSockets first: they are told to reconnect (3001) rather than cut with the server.
      await sockets?.close();
      await server?.close();
    },
  };
}

function finish(app: Hono): Hono {
  app.notFound((c) => problem(c, 404, 'Not Found', `no route for ${c.req.method} ${c.req.path}`));
  app.onError((err, c) => problem(c, 500, 'Internal Server Error', err.message));
  return app;
}

/** Starts a region with the given domain modules; resolves when every service is running. */
export async function startRegion(config: RegionConfig, opts: RegionOptions): Promise<RunningRegion> {
  const log = opts.log ?? (() => {});
  const deps = openDependencies(config, 'host');
  const services = createServiceManager((line) => log(`region ${config.region}: ${line}`));
  const settings = hubSettings(config, opts.hub);
  const metrics = createRegionMetrics({ region: config.region, log, token: config.settings.METRICS_TOKEN });
  const hub = createHub(settings.hub);
  const consumers = new Map<string, EventConsumer>();
  const handles = new Map<DomainModule<unknown>, unknown>();
  let grpcPort: number | undefined;
  const ports = { gateway: config.gatewayPort, hub: config.hubPort };
  let hubGraphQL: HubGraphQL | undefined;
  let wsTransport: WsTransport | undefined;
  // The writer fence reads and moves leases on a pool of its own: a backlog of event handlers
  // holding every connection of the shared pool must not stall the lease check every write
  // waits on, nor the peer polling that learns of a move.
  let fencePostgres: Postgres | undefined;
  const stopAll = async () => {
    await services.stop();
    hub.close();
    await closeDependencies(deps);
    await fencePostgres?.close();
  };

  try {
    const verify = (authorization: string | null | undefined) => opts.identity.verifier.verify(authorization);
    /** The same check, counting refused credentials on a surface clients reach (subgraphs re-verify: not counted). */
    const counted =
      <A extends unknown[], R>(surface: string, check: (...args: A) => Promise<R>) =>
      async (...args: A): Promise<R> => {
        try {
          return await check(...args);
        } catch (err) {
          if (isDomainError(err, 'UNAUTHENTICATED')) metrics.authFailure(surface);
          throw err;
        }
      };
    const singleWriter = opts.domains.flatMap((d) => d.singleWriter ?? []);
    if (singleWriter.length > 0) {
      fencePostgres = createPostgres({
        url: config.endpoints.postgresUrl,
        applicationName: `writer-fence-${config.region}`,
        maxConnections: 2,
      });
    }
    const writers =
      fencePostgres === undefined
        ? undefined
        : createWriterFence({
            pool: fencePostgres.pool,
            region: config.region,
            aggregates: singleWriter,
            initialWriter: config.initialWriter,
            peerGatewayUrl: config.peerGatewayUrl,
            log: (line) => log(`region ${config.region}: ${line}`),
          });
    const names = new Set<string>();
    const domains: ComposedDomain[] = [];
    const externalEvents = collectExternalEvents(opts.domains);
    for (const module of opts.domains) {
      if (names.has(module.name)) throw new ConfigError(`domain ${module.name} is listed twice`);
      names.add(module.name);
      const ctx: DomainContext = {
        config,
        deps,
        verify,
        log,
        production: config.production,
        externalEvents,
        metrics: metrics.registry,
        port: (name) => modulePort(config, module, name),
        setting: (name) => config.settings[settingKey(module.name, name)],
        fence: (aggregate) => {
          if (!writers || !module.singleWriter?.includes(aggregate)) {
            throw new Error(`domain ${module.name} does not declare ${aggregate} as single-writer`);
          }
          return writers.fence(aggregate);
        },
        grpcAddress: () => {
          if (grpcPort === undefined) throw new Error('the region gRPC server is not running yet');
          return `127.0.0.1:${grpcPort}`;
        },
      };
      const parts = await module.setup(ctx);
      handles.set(module, parts.handle);
      domains.push({ module, parts });
    }

    const add = (s: Service | undefined) => s && services.add(s);
    if (writers) add(writers.service);
    add(
      step('migrations', async () => {
        const applied = await migrate(
          deps.postgres.pool,
          domains.flatMap((d) => (d.module.migrations ? [d.module.migrations] : [])),
        );
        if (applied.length) log(`region ${config.region}: migrations applied ${applied.join(', ')}`);
      }),
    );
    // Bookkeeping rows (processed marks, published outbox rows) past their retention.
    const retention = createRetention(deps.postgres.pool, {
      ...retentionSettings(config.settings),
      onError: (err) => log(`region ${config.region}: retention: ${(err as Error)?.message ?? err}`),
    });
    add({ name: 'retention', needs: ['migrations'], start: async () => retention.start(), stop: retention.stop });
    add(
      step('topics', () =>
        ensureTopics(
          deps.kafka,
          domains.flatMap((d) => d.module.events),
          { peer: config.peer },
        ),
      ),
    );
    const grpcServices = domains.flatMap((d) => d.parts.grpc ?? []);
    if (grpcServices.length > 0) {
      let server: Awaited<ReturnType<typeof startGrpcServer>> | undefined;
      add({
        name: 'grpc',
        needs: ['migrations'],
        async start() {
          server = await startGrpcServer({ port: config.grpcPort, services: grpcServices });
          grpcPort = server.port;
        },
        stop: async () => server?.stop(),
      });
    }
    const infra = [
      'migrations',
      'topics',
      ...(grpcServices.length > 0 ? ['grpc'] : []),
      ...(writers ? ['writer-fence'] : []),
    ];
    for (const d of domains) for (const s of d.parts.services ?? []) add(s);

    // Subgraphs, and the gateway over them.
    const subgraphUrls: Record<string, string> = {};
    for (const d of domains) {
      const schema = d.parts.subgraph;
      if (!schema) continue;
      let app: Awaited<ReturnType<typeof subgraphApp>> | undefined;
      let server: Awaited<ReturnType<typeof listen>> | undefined;
      add({
        name: `${d.module.name}.subgraph`,
        needs: infra,
        async start() {
          app = await subgraphApp(schema, verify, { production: config.production });
          server = await listen(app.app.fetch, modulePort(config, d.module, 'subgraph'));
          subgraphUrls[d.module.name] = `http://127.0.0.1:${server.port}/graphql`;
        },
        async stop() {
          await server?.close();
          await app?.stop();
        },
      });
    }
    const about = () => (writers ? { writers: writers.leases() } : {});
    const gatewayRoutes = baseApp(
      config,
      { server: 'gateway', of: metrics },
      { dependencies: deps.all, services },
      about,
    );
    if (opts.identity.routes) gatewayRoutes.route('/', opts.identity.routes);
    if (writers) {
      const regions = [config.region, config.peer];
      gatewayRoutes.route(
        '/',
        opsRoutes({ fence: writers, token: config.opsToken, regions, onRefused: () => metrics.authFailure('ops') }),
      );
    }
    const subgraphNames = domains.filter((d) => d.parts.subgraph).map((d) => `${d.module.name}.subgraph`);
    if (subgraphNames.length > 0) {
      let gateway: Awaited<ReturnType<typeof gatewayApp>> | undefined;
      add({
        name: 'gateway',
        needs: subgraphNames,
        async start() {
          gateway = await gatewayApp(
            opts.supergraph ?? readFileSync(SUPERGRAPH_FILE, 'utf8'),
            subgraphUrls,
            counted('graphql', verify),
            {
              production: config.production,
              fieldCosts: Object.assign({}, ...domains.map((d) => d.module.fieldCosts ?? {})),
              plugins: [metrics.graphqlPlugin()],
            },
          );
          gatewayRoutes.route('/', gateway.app);
        },
        stop: async () => gateway?.stop(),
      });
    }

    // Publishing: one relay for every domain's outbox, and the mover for document outboxes.
    if (opts.relay ?? true) {
      const relay = createOutboxRelay({
        pool: deps.postgres.pool,
        kafka: deps.kafka,
        name: `relay-${config.region}-${process.pid}`,
        onError: (err) => log(`region ${config.region}: outbox relay: ${(err as Error)?.message ?? err}`),
      });
      add({
        name: 'outbox-relay',
        needs: ['migrations', 'topics'],
        start: async () => relay.start(),
        stop: relay.stop,
      });
    }
    const documentOutboxes = domains.flatMap((d) => d.parts.documentOutboxes ?? []);
    if (documentOutboxes.length > 0) {
      const mover = createDocumentOutboxMover({
        sources: documentOutboxes,
        sink: postgresOutboxSink(deps.postgres.pool),
        onError: (err) => log(`region ${config.region}: document outbox: ${(err as Error)?.message ?? err}`),
      });
      add({ name: 'document-outbox', needs: ['migrations'], start: async () => mover.start(), stop: mover.stop });
    }

    // Consumers.
    const purges = redisChannel(deps.redis.client, purgeChannelName(config.region));
    const feedCtx = { region: config.region, peer: config.peer, deps, domains, log, needs: infra, hub, purges };
    const chosen = opts.processors ?? true;
    const joins = (s: Service) => chosen === true || (chosen !== false && chosen.includes(s.name));
    const consumerServices = [
      ...[
        ...domains.flatMap((d) => processorServices(feedCtx, d, writers)),
        ...cacheInvalidatorServices(feedCtx),
      ].filter(joins),
      ...(opts.liveFeeds === false ? [] : liveFeedServices(feedCtx)),
    ];
    add(purgeEchoService(feedCtx));
    for (const s of consumerServices) {
      add(s);
      const c = consumerOf(s);
      if (c) consumers.set(s.name, c);
    }

    // What /metrics measures at scrape time, and MirrorMaker 2's lag into this region.
    metrics.addCollector(consumerLagCollector(metrics.registry, deps.kafka, config.region));
    metrics.addCollector(outboxCollector(metrics.registry, deps.postgres.pool));
    cacheMetrics(metrics.registry, deps.redis.client);
    hubMetrics(metrics.registry, hub, () => wsTransport?.stats());
    add({
      ...replicationLagService(metrics.registry, deps.kafka, config.region, config.peer, {
        log: (line) => log(`region ${config.region}: ${line}`),
      }),
      needs: ['topics'],
    });

    // The ports clients use, last: /ready is green only once everything above runs.
    const everything = services.names();
    const hubRoutes = baseApp(config, { server: 'hub', of: metrics }, { dependencies: deps.all, services });
    const families = domains.flatMap((d) => d.parts.hubTopics ?? []);
    const resolveTopic = topicResolver(families, GLOBAL_TOPICS);
    hubRoutes.route('/', sseRoutes({ hub, verify: counted('hub-sse', verify), topics: resolveTopic }));
    const limits = createUserLimits(settings.limits);
    hubGraphQL = createHubGraphQL({
      hub,
      topics: resolveTopic,
      parts: domains.flatMap((d) =>
        d.parts.subscriptions ? [{ name: d.module.name, part: d.parts.subscriptions }] : [],
      ),
      production: config.production,
    });
    hubRoutes.route('/', graphqlSseRoutes({ graphql: hubGraphQL, verify, limits }));
    wsTransport = createWsTransport({
      ...settings.ws,
      graphql: hubGraphQL,
      verify: counted('hub-ws', (authorization: string) => opts.identity.verifier.session(authorization)),
      limits,
      log: (line) => log(`region ${config.region}: ${line}`),
    });
    hubRoutes.get('/v1/graphql', (c) =>
      problem(
        c,
        426,
        'Upgrade Required',
        'open /v1/graphql as a WebSocket (graphql-transport-ws), or use /v1/graphql/stream',
      ),
    );
    add(httpService('gateway-http', gatewayRoutes, config.gatewayPort, everything, (port) => (ports.gateway = port)));
    add(httpService('hub-http', hubRoutes, config.hubPort, everything, (port) => (ports.hub = port), wsTransport));

    await services.start();

    let stopping: Promise<void> | undefined;
    return {
      config,
      deps,
      gatewayPort: ports.gateway,
      hubPort: ports.hub,
      hub,
      hubGraphQL: hubGraphQL as HubGraphQL,
      hubConnections: () => wsTransport?.stats().connections ?? 0,
      metrics,
      services,
      writers,
      domain: <H>(module: DomainModule<H>) => {
        if (!handles.has(module as DomainModule<unknown>)) throw new Error(`domain ${module.name} is not running here`);
        return handles.get(module as DomainModule<unknown>) as H;
      },
      consumer: (name) => consumers.get(name),
      subgraphUrl: (domain) => {
        const url = subgraphUrls[domain];
        if (url === undefined) throw new Error(`no subgraph ${domain} runs here`);
        return url;
      },
      stop() {
        stopping ??= stopAll();
        return stopping;
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
