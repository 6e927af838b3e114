/** Serving a fetch handler over HTTP on loopback, for the region's listening services. */
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { serve } from '@hono/node-server';
import { appServerSpans, withServerSpans } from '../../edge/runtime/server-spans.ts';

/** Takes over an HTTP upgrade request (a WebSocket handshake): answers it on `socket` one way or another. */
export type UpgradeHandler = (request: IncomingMessage, socket: Duplex, head: Buffer) => void;

export interface Listening {
  /** The port actually listened on (differs from the one asked for when that was 0). */
  readonly port: number;
  close(): Promise<void>;
}

/** Serves a fetch handler on 127.0.0.1:port (0 = any free port); `upgrade` takes WebSocket handshakes. */
export async function listen(
  fetch: (req: Request) => Response | Promise<Response>,
  port: number,
  host = '127.0.0.1',
  opts: { readonly upgrade?: UpgradeHandler } = {},
): Promise<Listening> {
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    // Under the SDK (infra/telemetry/register.ts) each request runs in a server span of our own, sampling first.
    const handler = appServerSpans() ? withServerSpans(fetch, { tracerName: 'meridian-region' }) : fetch;
    const s = serve({ fetch: handler, port, hostname: host }, () => resolve(s));
    s.once('error', reject);
  });
  const { upgrade } = opts;
  if (upgrade) server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => upgrade(req, socket, head));
  // Outlive clients' idle keep-alive sockets (the gateway's agent keeps them ~15 s):
  // a server closing an idle socket first makes the client's next request "hang up".
  const http = server as unknown as { keepAliveTimeout: number; headersTimeout: number };
  http.keepAliveTimeout = 65_000;
  http.headersTimeout = 66_000;
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
