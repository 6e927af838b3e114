import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { nodeOriginFetch } from './origin-fetch.node.ts';

describe('the Node origin fetch (node:http, keep-alive)', () => {
  let server: http.Server;
  let base: string;
  const seen: Array<{ method?: string; headers: http.IncomingHttpHeaders; body: string }> = [];
  before(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        seen.push({ method: req.method, headers: req.headers, body });
        if (req.url === '/slow') {
          setTimeout(() => res.end('late'), 2000);
          return;
        }
        if (req.url === '/empty') {
          res.writeHead(204).end();
          return;
        }
        res.setHeader('set-cookie', ['a=1', 'b=2']);
        res.writeHead(req.url === '/down' ? 503 : 200, 'Fine', {
          'content-type': 'application/json',
          'cache-control': 'public, max-age=5',
        });
        res.end(JSON.stringify({ echo: body, ü: 'ü' }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('sends method, headers and body; answers a web Response with status, headers and text', async () => {
    const res = await nodeOriginFetch()(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer t' },
      body: '{"query":"{ a }"}',
    });
    assert.equal(res.status, 200);
    assert.equal(res.statusText, 'Fine');
    assert.equal(res.headers.get('cache-control'), 'public, max-age=5');
    assert.deepEqual(await res.json(), { echo: '{"query":"{ a }"}', ü: 'ü' });
    const last = seen.at(-1);
    assert.equal(last?.method, 'POST');
    assert.equal(last?.headers.authorization, 'Bearer t');
    assert.equal(last?.headers['content-length'], String('{"query":"{ a }"}'.length));
  });

  it('answers 5xx and bodiless statuses as they are', async () => {
    const fetchFn = nodeOriginFetch();
    assert.equal((await fetchFn(`${base}/down`, { method: 'POST', body: 'x' })).status, 503);
    const empty = await fetchFn(`${base}/empty`);
    assert.equal(empty.status, 204);
    assert.equal(await empty.text(), '');
  });

  it('rejects on an abort (the origin timeout) and when nothing listens', async () => {
    const fetchFn = nodeOriginFetch();
    await assert.rejects(fetchFn(`${base}/slow`, { signal: AbortSignal.timeout(100) }));
    await assert.rejects(fetchFn('http://127.0.0.1:1/graphql', { method: 'POST', body: '{}' }));
    const aborted = new AbortController();
    aborted.abort(new Error('gone'));
    await assert.rejects(fetchFn(`${base}/graphql`, { signal: aborted.signal }), /gone/);
  });
});
