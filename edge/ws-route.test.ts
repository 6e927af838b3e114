/** The edge's /v1/graphql route: the token checked at the upgrade, the region chosen, the hub socket opened. */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { Context } from 'hono';
import type { WSEvents } from 'hono/ws';
import { FakeUpstream, fakeClient } from './routing/testing-ws.ts';
import type { WebSocketConstructor, WebSocketUpgrader } from './routing/ws-proxy.ts';
import { makeKey, scriptedOrigin, signToken, testEdge } from './testing.ts';

/** A runtime upgrade that records the events instead of switching protocols. */
function recordingUpgrader() {
  const upgrades: WSEvents<unknown>[] = [];
  const upgrade = ((_c: Context, events: WSEvents<unknown>) => {
    upgrades.push(events);
    return Promise.resolve(new Response(null, { status: 200, headers: { 'x-test-upgraded': '1' } }));
  }) as unknown as WebSocketUpgrader;
  return { upgrade, upgrades };
}

const wsHeaders = (extra: Record<string, string> = {}) => ({
  upgrade: 'websocket',
  connection: 'Upgrade',
  'sec-websocket-protocol': 'graphql-transport-ws',
  ...extra,
});

describe('edge /v1/graphql (WebSocket pass-through)', () => {
  const closers: Array<() => void> = [];
  afterEach(() => {
    for (const close of closers.splice(0)) close();
    FakeUpstream.instances = [];
  });

  async function setup() {
    const key = await makeKey();
    const { upgrade, upgrades } = recordingUpgrader();
    const t = testEdge({
      origin: scriptedOrigin({ keys: [key] }),
      deps: { upgradeWebSocket: upgrade, WebSocket: FakeUpstream as unknown as WebSocketConstructor },
    });
    return { t, key, upgrades };
  }

  /** Opens the recorded relay like the runtime would; returns the hub socket it made. */
  function connect(events: WSEvents<unknown> | undefined): FakeUpstream {
    assert.ok(events, 'the request was upgraded');
    const client = fakeClient();
    events.onOpen?.(new Event('open'), client.ctx);
    closers.push(() => events.onClose?.({ code: 1000, reason: '' } as CloseEvent, client.ctx));
    return FakeUpstream.last();
  }

  it('a plain GET is 426 Upgrade Required', async () => {
    const { t } = await setup();
    const res = await t.request('/v1/graphql');
    assert.equal(res.status, 426);
    assert.equal(res.headers.get('content-type'), 'application/problem+json');
  });

  it('checks the token at the upgrade: none, forged or expired is 401 and never upgraded', async () => {
    const { t, key, upgrades } = await setup();
    const other = await makeKey('other');
    const expired = await signToken(key, 'u1', 'acme', { exp: Math.floor(Date.now() / 1000) - 600, nbf: 0 });
    for (const headers of [
      wsHeaders(),
      wsHeaders({ authorization: `Bearer ${await signToken(other, 'u1', 'acme')}` }),
      wsHeaders({ authorization: `Bearer ${expired}` }),
    ]) {
      const res = await t.request('/v1/graphql', { headers });
      assert.equal(res.status, 401);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer /);
    }
    const viaQuery = await t.request(`/v1/graphql?access_token=${expired}`, { headers: wsHeaders() });
    assert.equal(viaQuery.status, 401);
    assert.equal(upgrades.length, 0);
  });

  it('relays a valid caller to the nearest hub, or the hinted one, with the token and its expiry', async () => {
    const { t, key, upgrades } = await setup();
    const token = await signToken(key, 'u1', 'acme');
    const res = await t.request('/v1/graphql', { headers: wsHeaders({ authorization: `Bearer ${token}` }) });
    assert.equal(res.headers.get('x-test-upgraded'), '1');
    const east = connect(upgrades[0]);
    assert.equal(east.url, `ws://east-hub.test/v1/graphql?access_token=${token}`);
    assert.equal(east.protocols, 'graphql-transport-ws');
    await t.request(`/v1/graphql?access_token=${token}&region=west`, { headers: wsHeaders() });
    assert.match(connect(upgrades[1]).url, /^ws:\/\/west-hub\.test\/v1\/graphql\?access_token=/);
    await t.request('/v1/graphql', {
      headers: wsHeaders({ authorization: `Bearer ${token}`, 'x-meridian-region': 'west' }),
    });
    assert.match(connect(upgrades[2]).url, /^ws:\/\/west-hub\.test\//);
  });

  it('without a runtime upgrade the route says 501', async () => {
    const key = await makeKey();
    const t = testEdge({ origin: scriptedOrigin({ keys: [key] }) });
    const res = await t.request('/v1/graphql', {
      headers: wsHeaders({ authorization: `Bearer ${await signToken(key, 'u1', 'acme')}` }),
    });
    assert.equal(res.status, 501);
  });
});
