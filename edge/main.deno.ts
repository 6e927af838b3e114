/** The edge on Deno: `deno run --allow-net --allow-env --allow-read edge/main.deno.ts`. */
import { upgradeWebSocket } from 'hono/deno';
import { type BootedEdge, bootEdge } from './bootstrap.ts';
import { EdgeConfigError } from './config.ts';

let booted: BootedEdge;
try {
  // WebSockets (/v1/graphql) through Deno.upgradeWebSocket; its idleTimeout pings clients and drops dead ones.
  // Cache hits clone a per-entry Response: Deno validates every header of a new Response (a hit has nine).
  booted = bootEdge(
    Deno.env.toObject(),
    (_req, info) => (info as Deno.ServeHandlerInfo<Deno.NetAddr>).remoteAddr.hostname,
    {
      upgradeWebSocket,
      hitTemplates: true,
    },
  );
} catch (err) {
  if (!(err instanceof EdgeConfigError)) throw err;
  console.error(`edge: invalid configuration — ${err.message}`);
  Deno.exit(78);
}
const { config, edge } = booted;
const hostname = Deno.env.get('MERIDIAN_EDGE_HOST') ?? '127.0.0.1';
const server = Deno.serve(
  {
    port: config.port,
    hostname,
    onListen: ({ port }) =>
      console.log(
        `edge (deno ${Deno.version.deno}) on http://${hostname}:${port}, nearest ${config.nearest}, writer ${config.writer}`,
      ),
  },
  (req, info) => edge.fetch(req, info),
);
const shutdown = async () => {
  await server.shutdown();
  await booted.close();
  Deno.exit(0);
};
Deno.addSignalListener('SIGINT', () => void shutdown());
Deno.addSignalListener('SIGTERM', () => void shutdown());
