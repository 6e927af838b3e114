/** The edge on Deno: `deno run --allow-net --allow-env --allow-read edge/main.deno.ts`. */
import { upgradeWebSocket } from 'hono/deno';
import { type BootedEdge, bootEdge } from './bootstrap.ts';
import { EdgeConfigError } from './config.ts';
import { fetchGatewayPost } from './origin.ts';
import { withServerSpans } from './runtime/server-spans.ts';
import { tracedFetch, tracedGatewayPost } from './runtime/traced-gateway-post.ts';
import { type EdgeTracing, startEdgeTracing } from './runtime/tracing.deno.ts';

const env = Deno.env.toObject();
let booted: BootedEdge;
let tracing: EdgeTracing | undefined;
try {
  // OpenTelemetry when an OTLP endpoint is configured (runtime/tracing.deno.ts), before the edge is built.
  try {
    tracing = startEdgeTracing(env);
  } catch (err) {
    throw new EdgeConfigError((err as Error).message);
  }
  // WebSockets (/v1/graphql) through Deno.upgradeWebSocket; its idleTimeout pings clients and drops dead ones.
  // Cache hits clone a per-entry Response: Deno validates every header of a new Response (a hit has nine).
  booted = bootEdge(env, (_req, info) => (info as Deno.ServeHandlerInfo<Deno.NetAddr>).remoteAddr.hostname, {
    upgradeWebSocket,
    hitTemplates: true,
    // Traced, the calls to the regions are CLIENT spans carrying the trace (Deno's fetch is not instrumented).
    ...(tracing ? { gatewayPost: tracedGatewayPost(fetchGatewayPost(fetch)), streamFetch: tracedFetch(fetch) } : {}),
  });
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
  // Traced, each request runs in a SERVER span, sampling decided first (runtime/server-spans.ts).
  tracing ? withServerSpans(edge.fetch, { enterUnsampled: false, untrustedCallers: true }) : edge.fetch,
);
const shutdown = async () => {
  await server.shutdown();
  await booted.close();
  await tracing?.shutdown();
  Deno.exit(0);
};
Deno.addSignalListener('SIGINT', () => void shutdown());
Deno.addSignalListener('SIGTERM', () => void shutdown());
