import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { FakeUpstream, fakeClient } from './testing-ws.ts';
import { clientCloseCode, EDGE_CLOSE_CODES, relayEvents, type WebSocketConstructor } from './ws-proxy.ts';

const URL = 'ws://east-hub.test/v1/graphql?access_token=t';
const WS = FakeUpstream as unknown as WebSocketConstructor;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function open(opts: Parameters<typeof relayEvents>[1] = {}, target: Partial<Parameters<typeof relayEvents>[0]> = {}) {
  const events = relayEvents({ url: URL, protocol: 'graphql-transport-ws', ...target }, { WebSocket: WS, ...opts });
  const client = fakeClient();
  events.onOpen?.(new Event('open'), client.ctx);
  const send = (data: string) => events.onMessage?.({ data } as MessageEvent, client.ctx);
  const closeClient = (code: number, reason = '') => events.onClose?.({ code, reason } as CloseEvent, client.ctx);
  relays.push(closeClient);
  return { client, upstream: FakeUpstream.last(), send, closeClient };
}

/** Every relay a test opened: closed afterwards, so no timer outlives its test (Deno checks). */
const relays: Array<(code: number) => void> = [];

describe('edge WebSocket relay', () => {
  beforeEach(() => {
    FakeUpstream.instances = [];
  });
  afterEach(() => {
    for (const close of relays.splice(0)) close(1000);
  });

  it("opens the hub socket with the client's subprotocol and relays frames both ways, in order", () => {
    const { client, upstream, send } = open();
    assert.equal(upstream.url, URL);
    assert.equal(upstream.protocols, 'graphql-transport-ws');
    send('{"type":"connection_init"}');
    send('{"type":"ping"}');
    assert.deepEqual(upstream.sent, [], 'held until the hub socket is open');
    upstream.open();
    assert.deepEqual(upstream.sent, ['{"type":"connection_init"}', '{"type":"ping"}']);
    send('{"type":"subscribe"}');
    upstream.message('{"type":"connection_ack"}');
    upstream.message('{"type":"next"}');
    assert.deepEqual(upstream.sent.at(-1), '{"type":"subscribe"}');
    assert.deepEqual(client.sent, ['{"type":"connection_ack"}', '{"type":"next"}']);
  });

  it("passes the hub's close code on; reserved codes become what they mean", () => {
    const a = open();
    a.upstream.open();
    a.upstream.drop(4403, 'Forbidden');
    assert.deepEqual(a.client.closed, { code: 4403, reason: 'Forbidden' });
    const b = open();
    b.upstream.open();
    b.upstream.drop(1006);
    assert.equal(b.client.closed?.code, EDGE_CLOSE_CODES.upstreamFailed);
    const c = open();
    c.upstream.drop(1006);
    assert.equal(c.client.closed?.code, EDGE_CLOSE_CODES.tryAgainLater, 'never opened: the hub is unreachable');
    assert.deepEqual(
      [clientCloseCode(1005, true), clientCloseCode(1009, true), clientCloseCode(3008, true)],
      [1000, 1009, 3008],
    );
  });

  it('closes the hub socket when the client goes, with a code the WebSocket API may send', () => {
    const a = open();
    a.upstream.open();
    a.closeClient(4499, 'bye');
    assert.deepEqual(a.upstream.closed, { code: 4499, reason: 'bye' });
    const b = open();
    b.upstream.open();
    b.closeClient(1001);
    assert.equal(b.upstream.closed?.code, 1000);
    const c = open();
    c.closeClient(1000);
    assert.equal(c.upstream.closed?.code, 1000, 'a hub socket still connecting is closed too');
  });

  it('closes both sides with 3005 when the token expires', async () => {
    let now = 1_000_000;
    const { client, upstream } = open({ clock: () => now }, { expiresAt: now + 40 });
    upstream.open();
    await sleep(10);
    assert.equal(client.closed, undefined);
    now += 40;
    await sleep(60);
    assert.deepEqual(client.closed, { code: EDGE_CLOSE_CODES.tokenExpired, reason: 'token expired' });
    assert.equal(upstream.closed?.code, EDGE_CLOSE_CODES.tokenExpired);
    const late = open({ clock: () => now }, { expiresAt: now - 1 });
    assert.equal(late.client.closed?.code, EDGE_CLOSE_CODES.tokenExpired, 'an already expired token never relays');
  });

  it('cuts off a client that does not read (3008) instead of buffering for it', () => {
    const { client, upstream } = open({ maxBufferedBytes: 1000 });
    upstream.open();
    upstream.message('a');
    client.raw.bufferedAmount = 1001;
    upstream.message('b');
    assert.deepEqual(client.sent, ['a']);
    assert.deepEqual(client.closed, { code: EDGE_CLOSE_CODES.slow, reason: 'slow consumer' });
    assert.equal(upstream.closed?.code, EDGE_CLOSE_CODES.slow);
    upstream.message('c');
    assert.deepEqual(client.sent, ['a'], 'nothing after the cut');
  });

  it('closes a client that sends a message over the size limit with 1009', () => {
    const { client, upstream, send } = open({ maxMessageBytes: 10 });
    upstream.open();
    send('0123456789');
    send('01234567890');
    assert.deepEqual(upstream.sent, ['0123456789']);
    assert.equal(client.closed?.code, EDGE_CLOSE_CODES.messageTooBig);
    assert.equal(upstream.closed?.code, 1000);
  });

  it('bounds what it holds while the hub connects, and gives up on a hub that does not answer (1013)', async () => {
    const a = open({ maxPendingFrames: 2 });
    a.send('1');
    a.send('2');
    a.send('3');
    assert.equal(a.client.closed?.code, EDGE_CLOSE_CODES.tryAgainLater);
    const b = open({ connectTimeoutMs: 20 });
    await sleep(50);
    assert.deepEqual(b.client.closed, { code: EDGE_CLOSE_CODES.tryAgainLater, reason: 'region hub did not answer' });
  });
});
