/** The edge on Node: `node edge/main.node.ts` (environment: see edge/config.ts). */
import { serve } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import { type BootedEdge, bootEdge } from './bootstrap.ts';
import { EdgeConfigError } from './config.ts';
import { nodeOriginFetch } from './runtime/origin-fetch.node.ts';

let booted: BootedEdge;
try {
  booted = bootEdge(process.env, (_req, c) => getConnInfo(c as Context).remote.address, {
    originFetch: nodeOriginFetch(),
  });
} catch (err) {
  if (!(err instanceof EdgeConfigError)) throw err;
  console.error(`edge: invalid configuration — ${err.message}`);
  process.exit(78);
}
const { config, edge } = booted;
const hostname = process.env.MERIDIAN_EDGE_HOST ?? '127.0.0.1';
const server = serve({ fetch: edge.app.fetch, port: config.port, hostname }, (info) =>
  console.log(
    `edge (node ${process.versions.node}) on http://${hostname}:${info.port}, nearest ${config.nearest}, writer ${config.writer}`,
  ),
);
const shutdown = async () => {
  server.close();
  await booted.close();
  process.exit(0);
};
process.once('SIGINT', () => void shutdown());
process.once('SIGTERM', () => void shutdown());
