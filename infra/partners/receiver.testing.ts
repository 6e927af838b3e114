/**
 * Webhook receivers for tests and benchmarks: real HTTP servers on loopback that record every
 * request (headers, raw body, arrival time) and answer as a script says — healthy, slow, failing
 * then healthy, 410, redirecting — tracking how many requests they hold at once.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  readonly at: number;
  readonly path: string;
}

export interface Answer {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly delayMs?: number;
}

export interface Receiver {
  readonly url: string;
  readonly received: Received[];
  /** Most requests in progress at one time. */
  readonly maxConcurrent: () => number;
  /** Changes the script. */
  answer(script: (n: number, req: Received) => Answer): void;
  close(): Promise<void>;
}

/** A receiver on 127.0.0.1 answering `script(n)` to its n-th request (1-based); 204 by default. */
export async function startReceiver(
  script: (n: number, req: Received) => Answer = () => ({ status: 204 }),
): Promise<Receiver> {
  const received: Received[] = [];
  let current = script;
  let inFlight = 0;
  let peak = 0;
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    inFlight++;
    peak = Math.max(peak, inFlight);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Received = {
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
        path: req.url ?? '/',
      };
      received.push(r);
      const a = current(received.length, r);
      const reply = () => {
        inFlight--;
        res.writeHead(a.status, a.headers);
        res.end(a.body ?? '');
      };
      if (a.delayMs) {
        const t = setTimeout(() => {
          timers.delete(t);
          reply();
        }, a.delayMs);
        timers.add(t);
      } else reply();
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    maxConcurrent: () => peak,
    answer(script) {
      current = script;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
