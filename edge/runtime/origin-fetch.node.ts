/**
 * The edge's calls to the region gateways on Node, over node:http with keep-alive connections.
 * Node's global fetch (undici) spends two to three times the CPU of a plain node:http request on
 * a small POST (measured on this machine: ~400 µs against ~200 µs per request), and on Node a
 * cache miss is mostly that call. Only main.node.ts uses this; the app stays on web-standard
 * fetch (`EdgeDeps.originFetch` is the port), and Deno keeps its own fetch.
 *
 * It does what the origin needs of fetch: a request with method, headers, a text body and an
 * abort signal; a web Response with status, headers and the whole body. A network failure or an
 * abort rejects, as fetch does.
 */
import http from 'node:http';
import https from 'node:https';

const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 256 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 256 }),
};

/** Statuses whose Response may not have a body (the Response constructor refuses one). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/** A fetch for the region gateways over node:http. */
export function nodeOriginFetch(): typeof fetch {
  return function originFetch(input, init = {}) {
    return new Promise<Response>((resolve, reject) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      const signal = init.signal ?? undefined;
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const headers: Record<string, string> = {};
      new Headers(init.headers).forEach((value, name) => {
        headers[name] = value;
      });
      const body = typeof init.body === 'string' ? init.body : undefined;
      if (init.body != null && body === undefined) {
        reject(new TypeError('originFetch sends text bodies only'));
        return;
      }
      if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
      const client = url.protocol === 'https:' ? https : http;
      const req = client.request(
        url,
        { method: init.method ?? 'GET', headers, agent: agents[url.protocol as 'http:' | 'https:'] },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            signal?.removeEventListener('abort', onAbort);
            const pairs: Array<[string, string]> = [];
            for (const [name, value] of Object.entries(res.headers)) {
              if (value === undefined) continue;
              for (const v of Array.isArray(value) ? value : [value]) pairs.push([name, v]);
            }
            const status = res.statusCode ?? 502;
            const text = Buffer.concat(chunks).toString('utf8');
            resolve(
              new Response(NULL_BODY.has(status) ? null : text, {
                status,
                statusText: res.statusMessage ?? '',
                headers: pairs,
              }),
            );
          });
        },
      );
      // Rejected at once, as fetch does, whatever the socket does after the destroy.
      const onAbort = () => {
        const reason = signal?.reason instanceof Error ? signal.reason : new Error('aborted');
        reject(reason);
        req.destroy(reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', (err) => {
        signal?.removeEventListener('abort', onAbort);
        reject(err);
      });
      req.end(body);
    });
  };
}
