/**
 * One region in one process, composed from a list of domain modules: opens the
 * dependencies, asks each module for its parts, and runs everything as services under one
 * manager — migrations, topics, the region gRPC server, each subgraph, the gateway, one
 * outbox relay for every domain's outbox, the document outbox mover, each module's
 * processors, the cache invalidator, the hub and edge purge feeds, and the HTTP ports
 * (gateway with /health and /ready; hub with SSE). Names no domain: the modules come in.
 * Production runs one role per process from the same pieces.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';
import { blockPort, ConfigError } from '../../infra/config/endpoints.ts';
import type { EventConsumer } from '../../infra/events/consumer.ts';
import { ensureTopics } from '../../infra/events/topics.ts';
import { createDocumentOutboxMover, postgresOutboxSink } from '../../infra/outbox/document-outbox.ts';
import { createOutboxRelay } from '../../infra/outbox/relay.ts';
import { migrate } from '../../infra/postgres/migrate.ts';
import { parsePort, type RegionConfig } from '../config.ts';
import { gatewayApp, subgraphApp } from '../graphql/graphql-app.ts';
import { createHub, type Hub } from '../hub/hub.ts';
import { sseRoutes } from '../hub/sse.ts';
import { topicResolver } from '../hub/topics.ts';
import type { Identity } from '../identity/identity.ts';
import { closeDependencies, openDependencies, type RegionDependencies } from './dependencies.ts';
import type { DomainContext, DomainModule } from './domain-module.ts';
import {
  type ComposedDomain,
  cacheInvalidatorService,
  consumerOf,
  GLOBAL_TOPICS,
  hubFeedService,
  processorServices,
  purgeFeedService,
} from './feeds.ts';
import { startGrpcServer } from './grpc-server.ts';
import { healthRoutes } from './health.ts';
import { listen } from './http.ts';
import { problem } from './problem.ts';
import { createServiceManager, type Service, type ServiceManager, step } from './services.ts';

export const SUPERGRAPH_FILE = fileURLToPath(new URL('../../schemas/supergraph.graphql', import.meta.url));

export interface RunningRegion {
  readonly config: RegionConfig;
  readonly deps: RegionDependencies;
  /** The ports actually listened on (differ from config where 0 was asked). */
  readonly gatewayPort: number;
  readonly hubPort: number;
  readonly hub: Hub;
  readonly services: ServiceManager;
  /** What a module's setup exposed (its handle), for tests and ops. */
  domain<H>(module: DomainModule<H>): H;
  /** A consumer the host runs, by service name (`<domain>.<processor>`, `hub-feed`…). */
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
  /**
   * The region-wide consumer groups this process joins: every module's processors and the cache
   * invalidator (true, the default), none (false), or those named by service name
   * (`<domain>.<processor>`, `cache-invalidator`) — when the others run as their own processes,
   * or a test on a database of its own must not join a group whose other members use another.
   * Per-process live feeds (hub, edge purges) always run.
   */
  readonly processors?: boolean | readonly string[];
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
  if (config.anyFreeDomainPorts) return 0;
  const key = `${settingKey(module.name, name)}_PORT`;
  const raw = config.settings[key];
  return raw === undefined
    ? blockPort(config.region, offset)
    : parsePort(`MERIDIAN_${config.region.toUpperCase()}_${key}`, raw);
}

function baseApp(config: RegionConfig, checks: Parameters<typeof healthRoutes>[1]): Hono {
  const app = new Hono();
  app.use(async function regionHeader(c, next) {
    await next();
    c.res.headers.set('x-meridian-region', config.region);
  });
  app.route('/', healthRoutes(config.region, checks));
  return app;
}

/** An HTTP port as a service; `listening` learns the port (0 in tests means any free one). */
function httpService(
  name: string,
  app: Hono,
  port: number,
  needs: readonly string[],
  listening: (port: number) => void,
): Service {
  let server: Awaited<ReturnType<typeof listen>> | undefined;
  return {
    name,
    needs,
    async start() {
      server = await listen(finish(app).fetch, port);
      listening(server.port);
    },
    stop: async () => server?.close(),
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
  const hub = createHub();
  const consumers = new Map<string, EventConsumer>();
  const handles = new Map<DomainModule<unknown>, unknown>();
  let grpcPort: number | undefined;
  const ports = { gateway: config.gatewayPort, hub: config.hubPort };
  const stopAll = async () => {
    await services.stop();
    hub.close();
    await closeDependencies(deps);
  };

  try {
    const verify = (authorization: string | null | undefined) => opts.identity.verifier.verify(authorization);
    const names = new Set<string>();
    const domains: ComposedDomain[] = [];
    for (const module of opts.domains) {
      if (names.has(module.name)) throw new ConfigError(`domain ${module.name} is listed twice`);
      names.add(module.name);
      const ctx: DomainContext = {
        config,
        deps,
        verify,
        log,
        production: config.production,
        port: (name) => modulePort(config, module, name),
        setting: (name) => config.settings[settingKey(module.name, name)],
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
    add(
      step('migrations', async () => {
        const applied = await migrate(
          deps.postgres.pool,
          domains.flatMap((d) => (d.module.migrations ? [d.module.migrations] : [])),
        );
        if (applied.length) log(`region ${config.region}: migrations applied ${applied.join(', ')}`);
      }),
    );
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
    const infra = ['migrations', 'topics', ...(grpcServices.length > 0 ? ['grpc'] : [])];
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
    const gatewayRoutes = baseApp(config, { dependencies: deps.all, services });
    if (opts.identity.routes) gatewayRoutes.route('/', opts.identity.routes);
    const subgraphNames = domains.filter((d) => d.parts.subgraph).map((d) => `${d.module.name}.subgraph`);
    if (subgraphNames.length > 0) {
      let gateway: Awaited<ReturnType<typeof gatewayApp>> | undefined;
      add({
        name: 'gateway',
        needs: subgraphNames,
        async start() {
          gateway = await gatewayApp(readFileSync(SUPERGRAPH_FILE, 'utf8'), subgraphUrls, verify, {
            production: config.production,
            fieldCosts: Object.assign({}, ...domains.map((d) => d.module.fieldCosts ?? {})),
          });
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
    const feedCtx = { region: config.region, peer: config.peer, deps, domains, log };
    const chosen = opts.processors ?? true;
    const joins = (s: Service | undefined) =>
      s !== undefined && (chosen === true || (chosen !== false && chosen.includes(s.name)));
    const consumerServices = [
      ...[...domains.flatMap((d) => processorServices(feedCtx, d, infra)), cacheInvalidatorService(feedCtx)].filter(
        joins,
      ),
      hubFeedService(feedCtx, hub),
      purgeFeedService(feedCtx, hub),
    ];
    for (const s of consumerServices) {
      if (!s) continue;
      add(s);
      const c = consumerOf(s);
      if (c) consumers.set(s.name, c);
    }

    // The ports clients use, last: /ready is green only once everything above runs.
    const everything = services.names();
    const hubRoutes = baseApp(config, { dependencies: deps.all, services });
    const families = domains.flatMap((d) => d.parts.hubTopics ?? []);
    hubRoutes.route('/', sseRoutes({ hub, verify, topics: topicResolver(families, GLOBAL_TOPICS) }));
    add(httpService('gateway-http', gatewayRoutes, config.gatewayPort, everything, (port) => (ports.gateway = port)));
    add(httpService('hub-http', hubRoutes, config.hubPort, everything, (port) => (ports.hub = port)));

    await services.start();

    let stopping: Promise<void> | undefined;
    return {
      config,
      deps,
      gatewayPort: ports.gateway,
      hubPort: ports.hub,
      hub,
      services,
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
