/**
 * One region in one process: opens the dependencies, starts the commerce roles, and
 * serves the region gateway port (GraphQL, dev tokens, /health, /ready) and the hub
 * port (SSE). Production runs one role per process from the same pieces.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';
import { listen, type RunningCommerce, startCommerce } from '../commerce/commerce-region.ts';
import { withPurgeTopic } from '../commerce/purge-feed.ts';
import type { RegionConfig } from '../config.ts';
import { gatewayApp } from '../graphql/graphql-app.ts';
import { createHub, type Hub } from '../hub/hub.ts';
import { sseRoutes } from '../hub/sse.ts';
import { commerceTopicAuthorizer } from '../hub/topics.ts';
import type { Identity } from '../identity/identity.ts';
import { closeDependencies, openDependencies, type RegionDependencies } from './dependencies.ts';
import { healthRoutes } from './health.ts';
import { problem } from './problem.ts';

export const SUPERGRAPH_FILE = fileURLToPath(new URL('../../schemas/supergraph.graphql', import.meta.url));

export interface RunningRegion {
  readonly config: RegionConfig;
  readonly deps: RegionDependencies;
  /** The ports actually listened on (differ from config where 0 was asked). */
  readonly gatewayPort: number;
  readonly hubPort: number;
  readonly hub: Hub;
  readonly commerce: RunningCommerce | undefined;
  stop(): Promise<void>;
}

export interface RegionOptions {
  readonly identity: Identity;
  /** Start the commerce roles (default true); false serves only health and readiness. */
  readonly commerce?: boolean;
  readonly log?: (line: string) => void;
  /** Run the outbox relay in this process (default true). */
  readonly relay?: boolean;
}

function baseApp(config: RegionConfig, deps: RegionDependencies): Hono {
  const app = new Hono();
  app.use(async function regionHeader(c, next) {
    await next();
    c.res.headers.set('x-meridian-region', config.region);
  });
  app.route('/', healthRoutes(config.region, deps.all));
  return app;
}

function finish(app: Hono): Hono {
  app.notFound((c) => problem(c, 404, 'Not Found', `no route for ${c.req.method} ${c.req.path}`));
  app.onError((err, c) => problem(c, 500, 'Internal Server Error', err.message));
  return app;
}

export async function startRegion(config: RegionConfig, opts: RegionOptions): Promise<RunningRegion> {
  const deps = openDependencies(config, 'host');
  const stops: Array<() => Promise<unknown> | unknown> = [() => closeDependencies(deps)];
  const stopAll = async () => {
    for (const stop of [...stops].reverse()) await Promise.resolve(stop()).catch(() => {});
  };
  try {
    const verify = (authorization: string | null | undefined) => opts.identity.verifier.verify(authorization);
    const hub = createHub();
    stops.push(() => hub.close());
    const gatewayRoutes = baseApp(config, deps);
    if (opts.identity.routes) gatewayRoutes.route('/', opts.identity.routes);
    const hubRoutes = baseApp(config, deps);

    let commerce: RunningCommerce | undefined;
    if (opts.commerce ?? true) {
      commerce = await startCommerce(config, deps, { verify, hub, log: opts.log, relay: opts.relay });
      stops.push(() => commerce?.stop());
      const gateway = await gatewayApp(
        readFileSync(SUPERGRAPH_FILE, 'utf8'),
        { commerce: commerce.subgraphUrl },
        verify,
      );
      stops.push(() => gateway.stop());
      gatewayRoutes.route('/', gateway.app);
      const owner = commerce.orderOwner;
      const authorize = withPurgeTopic(commerceTopicAuthorizer({ orderOwner: owner }));
      hubRoutes.route('/', sseRoutes({ hub, verify, authorize }));
    }

    const gatewayServer = await listen(finish(gatewayRoutes).fetch, config.gatewayPort);
    stops.push(() => gatewayServer.close());
    const hubServer = await listen(finish(hubRoutes).fetch, config.hubPort);
    stops.push(() => hubServer.close());

    let stopping: Promise<void> | undefined;
    return {
      config,
      deps,
      gatewayPort: gatewayServer.port,
      hubPort: hubServer.port,
      hub,
      commerce,
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
