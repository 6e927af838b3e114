/** The edge on Node: `node edge/main.node.ts` (environment: see edge/config.ts). */
import { type HttpBindings, serve, upgradeWebSocket } from '@hono/node-server';
import { type WebSocket, WebSocketServer } from 'ws';
import { type BootedEdge, bootEdge } from './bootstrap.ts';
import { EdgeConfigError } from './config.ts';
import { nodeGatewayPost } from './runtime/gateway-post.node.ts';
import { appServerSpans, withServerSpans } from './runtime/server-spans.ts';

let booted: BootedEdge;
try {
  booted = bootEdge(process.env, (_req, env) => (env as HttpBindings).incoming.socket.remoteAddress, {
    upgradeWebSocket,
    gatewayPost: nodeGatewayPost(),
  });
} catch (err) {
  if (!(err instanceof EdgeConfigError)) throw err;
  console.error(`edge: invalid configuration — ${err.message}`);
  process.exit(78);
}
const { config, edge } = booted;
const hostname = process.env.MERIDIAN_EDGE_HOST ?? '127.0.0.1';
// WebSockets (/v1/graphql) through @hono/node-server's upgrade; `ws` enforces the message size itself (1009).
const sockets = new WebSocketServer({
  noServer: true,
  maxPayload: config.ws.maxMessageBytes,
  perMessageDeflate: false,
});
// Node answers pings but sends none: find dead clients the way Deno's idleTimeout does.
const alive = new WeakSet<WebSocket>();
sockets.on('connection', (ws) => {
  alive.add(ws);
  ws.on('pong', () => alive.add(ws));
});
const keepAlive = setInterval(() => {
  for (const ws of sockets.clients) {
    if (!alive.has(ws)) {
      ws.terminate();
      continue;
    }
    alive.delete(ws);
    ws.ping();
  }
}, 30_000);
keepAlive.unref();
// Under infra/telemetry/register.ts the edge makes its own server spans (sampling first).
const fetchHandler = appServerSpans() ? withServerSpans(edge.fetch, { untrustedCallers: true }) : edge.fetch;
const server = serve({ fetch: fetchHandler, port: config.port, hostname, websocket: { server: sockets } }, (info) =>
  console.log(
    `edge (node ${process.versions.node}) on http://${hostname}:${info.port}, nearest ${config.nearest}, writer ${config.writer}`,
  ),
);
const shutdown = async () => {
  for (const ws of sockets.clients) ws.close(1001, 'edge shutting down');
  server.close();
  await booted.close();
  process.exit(0);
};
process.once('SIGINT', () => void shutdown());
process.once('SIGTERM', () => void shutdown());
