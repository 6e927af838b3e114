import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fetchGatewayPost } from '../origin.ts';
import { nodeGatewayPost } from './gateway-post.node.ts';

describe('the Node gateway POST (node:http, keep-alive)', () => {
  let server: http.Server;
  let base: string;
  const seen: Array<{
    method?: string;
    url?: string;
    headers: http.IncomingHttpHeaders;
    body: string;
    remotePort?: number;
  }> = [];
  before(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, headers: req.headers, body, remotePort: req.socket.remotePort });
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

  it('POSTs the headers and body; answers status, headers by name and the text', async () => {
    const res = await nodeGatewayPost()(`${base}/graphql`, {
      headers: { 'content-type': 'application/json', authorization: 'Bearer t' },
      body: '{"query":"{ a }"}',
      timeoutMs: 5000,
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('Cache-Control'), 'public, max-age=5');
    assert.equal(res.headers.get('set-cookie'), 'a=1, b=2');
    assert.equal(res.headers.get('x-absent'), null);
    assert.deepEqual(JSON.parse(res.text), { echo: '{"query":"{ a }"}', ü: 'ü' });
    const last = seen.at(-1);
    assert.equal(last?.method, 'POST');
    assert.equal(last?.url, '/graphql');
    assert.equal(last?.headers.authorization, 'Bearer t');
    assert.equal(last?.headers['content-length'], String(Buffer.byteLength('{"query":"{ a }"}')));
  });

  it('answers the same as web fetch does over the same server', async () => {
    const request = { headers: { 'content-type': 'application/json' }, body: '{"é":"ü"}', timeoutMs: 5000 };
    for (const path of ['/graphql', '/down', '/empty']) {
      const node = await nodeGatewayPost()(`${base}${path}`, request);
      const web = await fetchGatewayPost(fetch)(`${base}${path}`, request);
      assert.equal(node.status, web.status, path);
      assert.equal(node.text, web.text, path);
      for (const name of ['content-type', 'cache-control', 'set-cookie'])
        assert.equal(node.headers.get(name), web.headers.get(name), `${path} ${name}`);
    }
  });

  it('answers 5xx and bodiless statuses as they are, and reuses its connection', async () => {
    const post = nodeGatewayPost();
    const down = await post(`${base}/down`, { headers: {}, body: 'x', timeoutMs: 5000 });
    assert.equal(down.status, 503);
    const empty = await post(`${base}/empty`, { headers: {}, body: '', timeoutMs: 5000 });
    assert.equal(empty.status, 204);
    assert.equal(empty.text, '');
    const ports = seen.slice(-2).map((s) => s.remotePort);
    assert.equal(ports[0], ports[1], 'one keep-alive connection for both');
  });

  it('rejects when no whole answer came in time, and when nothing listens', async () => {
    const post = nodeGatewayPost();
    const t0 = Date.now();
    await assert.rejects(post(`${base}/slow`, { headers: {}, body: '', timeoutMs: 100 }), { name: 'TimeoutError' });
    assert.ok(Date.now() - t0 < 1500, 'rejected at the timeout, not when the server answered');
    await assert.rejects(post('http://127.0.0.1:1/graphql', { headers: {}, body: '{}', timeoutMs: 5000 }));
    await assert.rejects(post('ftp://127.0.0.1/graphql', { headers: {}, body: '', timeoutMs: 100 }), TypeError);
  });
});
