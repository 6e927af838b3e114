/**
 * One region in one process: opens the dependencies and serves the region gateway
 * port. Later roles (gateway, subgraphs, bridges, hub) attach here.
 */

import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import type { RegionConfig } from '../config.ts';
import { closeDependencies, openDependencies, type RegionDependencies } from './dependencies.ts';
import { healthRoutes } from './health.ts';
import { problem } from './problem.ts';

export interface RunningRegion {
  readonly config: RegionConfig;
  readonly deps: RegionDependencies;
  /** The port the gateway actually listens on (differs from config when 0 was asked). */
  readonly gatewayPort: number;
  stop(): Promise<void>;
}

export function regionApp(config: RegionConfig, deps: RegionDependencies): Hono {
  const app = new Hono();
  app.use(async function regionHeader(c, next) {
    await next();
    c.res.headers.set('x-meridian-region', config.region);
  });
  app.route('/', healthRoutes(config.region, deps.all));
  app.notFound((c) => problem(c, 404, 'Not Found', `no route for ${c.req.method} ${c.req.path}`));
  app.onError((err, c) => problem(c, 500, 'Internal Server Error', err.message));
  return app;
}

export async function startRegion(config: RegionConfig): Promise<RunningRegion> {
  const deps = openDependencies(config, 'host');
  const app = regionApp(config, deps);
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: config.gatewayPort, hostname: '127.0.0.1' }, () => resolve(s));
    s.once('error', reject);
  });
  const gatewayPort = (server.address() as AddressInfo).port;
  let stopping: Promise<void> | undefined;
  return {
    config,
    deps,
    gatewayPort,
    stop() {
      stopping ??= (async () => {
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await closeDependencies(deps);
      })();
      return stopping;
    },
  };
}
