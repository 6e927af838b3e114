/** Serving a fetch handler over HTTP on loopback, for the region's listening services. */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';

export interface Listening {
  /** The port actually listened on (differs from the one asked for when that was 0). */
  readonly port: number;
  close(): Promise<void>;
}

/** Serves a fetch handler on 127.0.0.1:port (0 = any free port). */
export async function listen(
  fetch: (req: Request) => Response | Promise<Response>,
  port: number,
  host = '127.0.0.1',
): Promise<Listening> {
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch, port, hostname: host }, () => resolve(s));
    s.once('error', reject);
  });
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
