/**
 * The edge's calls to the region gateways on Node, over node:http with keep-alive connections.
 * On a cache miss the edge is mostly this call, and web fetch costs a lot more for it on Node:
 * undici's fetch spent two to three times the CPU of a plain node:http request on a small POST
 * (~400 µs against ~200 µs, measured here), and even a node:http request answered as a web
 * Response paid ~45 µs more per miss for that Response, its Headers, an AbortSignal timer and
 * reading the text back out of it (CPU profile of the Node edge's misses, 2 Dec). So this
 * answers what the origin reads (status, headers by name, the text) and nothing else; Deno keeps
 * its own fetch (`fetchGatewayPost`). Only main.node.ts uses it.
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { GatewayAnswer, GatewayPost } from '../origin.ts';

const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 256 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 256 }),
};

interface Target {
  readonly client: typeof http | typeof https;
  readonly agent: http.Agent;
  readonly host: string;
  readonly port: string;
  readonly path: string;
}

/** Header lookup over node:http's parsed headers, answering as web `Headers.get` does. */
function headersOf(h: IncomingHttpHeaders): GatewayAnswer['headers'] {
  return {
    get(name) {
      const v = h[name.toLowerCase()];
      if (v === undefined) return null;
      return Array.isArray(v) ? v.join(', ') : v;
    },
  };
}

/** A GatewayPost over node:http. */
export function nodeGatewayPost(): GatewayPost {
  // A gateway URL parsed once: there are two of them (east's and west's), a few after a reconfiguration.
  const targets = new Map<string, Target>();
  function targetOf(url: string): Target {
    let t = targets.get(url);
    if (t) return t;
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new TypeError(`not an HTTP URL: ${url}`);
    t = {
      client: u.protocol === 'https:' ? https : http,
      agent: agents[u.protocol],
      host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: u.port || (u.protocol === 'https:' ? '443' : '80'),
      path: `${u.pathname}${u.search}`,
    };
    if (targets.size >= 64) targets.clear();
    targets.set(url, t);
    return t;
  }

  return (url, { headers, body, timeoutMs }) =>
    new Promise<GatewayAnswer>((resolve, reject) => {
      const t = targetOf(url);
      let timer: NodeJS.Timeout | undefined;
      const fail = (err: Error) => {
        clearTimeout(timer);
        reject(err);
      };
      const req = t.client.request(
        {
          host: t.host,
          port: t.port,
          path: t.path,
          method: 'POST',
          headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
          agent: t.agent,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', fail);
          res.on('end', () => {
            clearTimeout(timer);
            const whole = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
            resolve({ status: res.statusCode ?? 502, headers: headersOf(res.headers), text: whole.toString('utf8') });
          });
        },
      );
      // The whole answer within timeoutMs, as AbortSignal.timeout bounds fetch: rejected at once,
      // whatever the socket does after the destroy.
      timer = setTimeout(() => {
        const err = new Error(`the gateway did not answer within ${timeoutMs} ms`);
        err.name = 'TimeoutError';
        fail(err);
        req.destroy(err);
      }, timeoutMs);
      req.on('error', fail);
      req.end(body);
    });
}
