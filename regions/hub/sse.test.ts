/** The SSE transport over real HTTP: a node server on port 0 and a streaming fetch reading it. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { serve } from '@hono/node-server';
import { createDevIssuer, type DevIssuer } from '../identity/dev-issuer.ts';
import { createTokenVerifier } from '../identity/verifier.ts';
import { createHub, type Hub } from './hub.ts';
import { sseRoutes } from './sse.ts';
import { type HubTopic, tenantTopicKey, topicResolver, topicSegment } from './topics.ts';

// Two topic families like a domain module declares: a thing's topic (owner only) and a user's own topic.
const thingTopic = (id: string) => `thing.${id}`;
const userTopic = (subject: string) => `user.${topicSegment(subject)}.things`;
function testFamilies(owners: Map<string, { tenant: string; userId: string }>): HubTopic[] {
  return [
    {
      pattern: /^thing\.[0-9a-f-]{36}$/,
      authorize: async (actor, topic) => {
        const owner = owners.get(topic.slice('thing.'.length));
        return owner?.tenant === actor.tenant && owner.userId === actor.subject;
      },
    },
    { pattern: /^user\.[^.]+\.things$/, authorize: async (actor, topic) => topic === userTopic(actor.subject) },
  ];
}

/** One parsed event-stream block (fields as the WHATWG parser would see them). */
interface Frame {
  id?: string;
  event?: string;
  data?: string;
  retry?: string;
  comments: string[];
}

function parseBlock(block: string): Frame {
  const frame: Frame = { comments: [] };
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) {
      frame.comments.push(line.slice(1).trim());
      continue;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id' || field === 'event' || field === 'data' || field === 'retry') frame[field] = value;
  }
  return frame;
}

/** An open stream: frames are read incrementally from the fetch body as they arrive. */
interface Stream {
  readonly res: Response;
  /** The next frame matching `accept` (skipping others), or a rejection after `ms`. */
  next(accept?: (f: Frame) => boolean, ms?: number): Promise<Frame>;
  close(): void;
}

async function openStream(url: string, headers: Record<string, string> = {}): Promise<Stream> {
  const abort = new AbortController();
  const res = await fetch(url, { headers, signal: abort.signal });
  assert.equal(res.status, 200, await (res.status === 200 ? '' : res.clone().text()));
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const queued: Frame[] = [];
  async function readFrame(): Promise<Frame> {
    for (;;) {
      const queuedFrame = queued.shift();
      if (queuedFrame !== undefined) return queuedFrame;
      const end = buffer.indexOf('\n\n');
      if (end !== -1) {
        queued.push(parseBlock(buffer.slice(0, end)));
        buffer = buffer.slice(end + 2);
        continue;
      }
      const { done, value } = await reader.read();
      if (done) throw new Error('stream ended');
      buffer += decoder.decode(value, { stream: true });
    }
  }
  return {
    res,
    async next(accept = (f) => f.comments.length === 0, ms = 2000) {
      const deadline = AbortSignal.timeout(ms);
      for (;;) {
        const frame = await Promise.race([
          readFrame(),
          new Promise<never>((_, reject) =>
            deadline.addEventListener('abort', () => reject(new Error('no matching frame in time')), { once: true }),
          ),
        ]);
        if (accept(frame)) return frame;
      }
    },
    close() {
      abort.abort();
    },
  };
}

async function until(check: () => boolean, ms = 2000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > ms) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('SSE stream over HTTP', () => {
  let dir: string;
  let issuer: DevIssuer;
  let hub: Hub;
  let server: Server;
  let base: string;
  let token: string;
  const myOrder = randomUUID();
  const theirOrder = randomUUID();

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'meridian-sse-'));
    issuer = createDevIssuer({ keyFile: path.join(dir, 'key.json') });
    const verifier = createTokenVerifier({
      issuer: issuer.issuer,
      audience: issuer.audience,
      jwks: () => issuer.jwks(),
    });
    const owners = new Map<string, { tenant: string; userId: string }>([
      [myOrder, { tenant: 'acme', userId: 'u1' }],
      [theirOrder, { tenant: 'acme', userId: 'u2' }],
    ]);
    hub = createHub({ historyPerTopic: 50 });
    const app = sseRoutes({
      hub,
      verify: verifier.verify,
      topics: topicResolver(testFamilies(owners)),
      heartbeatMs: 50,
    });
    server = await new Promise((resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s as Server));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    token = (await issuer.issue({ sub: 'u1', tenant: 'acme', scopes: ['orders:read'] })).access_token;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  const auth = () => ({ authorization: `Bearer ${token}` });
  const streamUrl = (topics: string[], extra = '') => `${base}/v1/stream?topics=${topics.join(',')}${extra}`;

  async function expectProblem(res: Response, status: number, detail: RegExp): Promise<void> {
    assert.equal(res.status, status);
    assert.equal(res.headers.get('content-type'), 'application/problem+json');
    const body = (await res.json()) as { type: string; title: string; status: number; detail: string };
    assert.equal(body.type, 'about:blank');
    assert.equal(body.status, status);
    assert.ok(body.title);
    assert.match(body.detail, detail);
  }

  it('401 problem+json without a token or with a bad one', async () => {
    const none = await fetch(streamUrl([thingTopic(myOrder)]));
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer /);
    await expectProblem(none, 401, /missing Authorization/);
    await expectProblem(
      await fetch(streamUrl([thingTopic(myOrder)]), { headers: { authorization: `Bearer ${token}x` } }),
      401,
      /signature/,
    );
    await expectProblem(await fetch(streamUrl([thingTopic(myOrder)], '&access_token=nope')), 401, /malformed/);
  });

  it('400 problem+json for no topics, too many, or a malformed one', async () => {
    await expectProblem(await fetch(`${base}/v1/stream`, { headers: auth() }), 400, /at least one topic/);
    await expectProblem(await fetch(`${base}/v1/stream?topics=`, { headers: auth() }), 400, /at least one topic/);
    const many = Array.from({ length: 21 }, (_, i) => `t${i}`);
    await expectProblem(await fetch(streamUrl(many), { headers: auth() }), 400, /at most 20/);
    await expectProblem(await fetch(streamUrl(['thing.ok', 'Order.BAD']), { headers: auth() }), 400, /"Order\.BAD"/);
    await expectProblem(await fetch(streamUrl(['a', '']), { headers: auth() }), 400, /""/);
  });

  it('403 problem+json naming each topic the actor may not follow', async () => {
    const res = await fetch(streamUrl([thingTopic(myOrder), thingTopic(theirOrder), userTopic('u2')]), {
      headers: auth(),
    });
    await expectProblem(res, 403, new RegExp(`${thingTopic(theirOrder)}, ${userTopic('u2')}$`));
    const unknownOrder = await fetch(streamUrl([thingTopic(randomUUID())]), { headers: auth() });
    await expectProblem(unknownOrder, 403, /not allowed/);
    const otherTenant = (await issuer.issue({ sub: 'u1', tenant: 'globex', scopes: [] })).access_token;
    const res2 = await fetch(streamUrl([thingTopic(myOrder)]), { headers: { authorization: `Bearer ${otherTenant}` } });
    await expectProblem(res2, 403, /not allowed/);
  });

  it('streams id/event/data frames in publish order, after retry: 2000', async () => {
    const topics = [thingTopic(myOrder), userTopic('u1')];
    const stream = await openStream(streamUrl(topics), auth());
    try {
      assert.equal(stream.res.headers.get('content-type'), 'text/event-stream');
      assert.equal(stream.res.headers.get('cache-control'), 'no-cache');
      assert.equal(stream.res.headers.get('x-accel-buffering'), 'no');
      assert.equal((await stream.next()).retry, '2000');
      await until(() => hub.stats().subscriptions === 1);
      hub.publish(tenantTopicKey('acme', topics[0] as string), {
        id: 'f1',
        event: 'order.updated',
        data: { status: 'PAID', note: 'a\nb' },
      });
      hub.publish(tenantTopicKey('acme', topics[1] as string), {
        id: 'f2',
        event: 'order.created',
        data: { orderId: myOrder },
      });
      hub.publish(tenantTopicKey('acme', 'thing.not-subscribed'), { id: 'f3', event: 'x', data: null });
      // The same user id in another tenant is another person: their topic of the same name is another hub topic.
      hub.publish(tenantTopicKey('globex', topics[1] as string), { id: 'f4', event: 'x', data: 'globex' });
      const first = await stream.next();
      assert.deepEqual(
        [first.id, first.event, JSON.parse(first.data ?? '')],
        ['f1', 'order.updated', { status: 'PAID', note: 'a\nb' }],
      );
      const second = await stream.next();
      assert.deepEqual([second.id, second.event], ['f2', 'order.created']);
      hub.publish(tenantTopicKey('acme', topics[1] as string), { id: 'f5', event: 'x', data: 'acme' });
      assert.equal((await stream.next()).id, 'f5', "globex's f4 never reached acme's u1");
    } finally {
      stream.close();
    }
  });

  it('the same user id in two tenants follows the same topic name but never sees the other tenant', async () => {
    const globex = (await issuer.issue({ sub: 'u1', tenant: 'globex', scopes: [] })).access_token;
    const topic = userTopic('u1');
    const mine = await openStream(streamUrl([topic]), auth());
    const theirs = await openStream(streamUrl([topic]), { authorization: `Bearer ${globex}` });
    try {
      await mine.next((f) => f.retry !== undefined);
      await theirs.next((f) => f.retry !== undefined);
      await until(() => hub.stats().subscriptions >= 2);
      hub.publish(tenantTopicKey('globex', topic), { id: 't-globex', event: 'x', data: 'globex' });
      hub.publish(tenantTopicKey('acme', topic), { id: 't-acme', event: 'x', data: 'acme' });
      assert.equal((await mine.next()).id, 't-acme');
      assert.equal((await theirs.next()).id, 't-globex');
      hub.publish(tenantTopicKey('acme', topic), { id: 't-acme-2', event: 'x', data: 'acme' });
      hub.publish(tenantTopicKey('globex', topic), { id: 't-globex-2', event: 'x', data: 'globex' });
      assert.equal((await mine.next()).id, 't-acme-2', 'no globex message came in between');
      assert.equal((await theirs.next()).id, 't-globex-2', 'no acme message came in between');
    } finally {
      mine.close();
      theirs.close();
    }
  });

  it('accepts the token as ?access_token= (EventSource cannot set headers)', async () => {
    const stream = await openStream(streamUrl([userTopic('u1')], `&access_token=${token}`));
    try {
      assert.equal((await stream.next()).retry, '2000');
    } finally {
      stream.close();
    }
  });

  it('sends ": ping" comment heartbeats', async () => {
    const stream = await openStream(streamUrl([userTopic('u1')]), auth());
    try {
      const ping = await stream.next((f) => f.comments.includes('ping'), 1000);
      assert.equal(ping.id, undefined, 'a heartbeat is not an event');
      await stream.next((f) => f.comments.includes('ping'), 1000);
    } finally {
      stream.close();
    }
  });

  it('Last-Event-ID resumes with only the later messages, then follows live', async () => {
    const topic = thingTopic(myOrder);
    for (const id of ['r1', 'r2', 'r3'])
      hub.publish(tenantTopicKey('acme', topic), { id, event: 'order.updated', data: { id } });
    const stream = await openStream(streamUrl([topic]), { ...auth(), 'last-event-id': 'r1' });
    try {
      assert.equal((await stream.next()).retry, '2000');
      assert.deepEqual([(await stream.next()).id, (await stream.next()).id], ['r2', 'r3']);
      hub.publish(tenantTopicKey('acme', topic), { id: 'r4', event: 'order.updated', data: {} });
      assert.equal((await stream.next()).id, 'r4');
    } finally {
      stream.close();
    }
    // The query parameter does the same for clients that manage ids themselves.
    const viaQuery = await openStream(streamUrl([topic], '&lastEventId=r3'), auth());
    try {
      await viaQuery.next((f) => f.retry !== undefined);
      assert.equal((await viaQuery.next()).id, 'r4');
    } finally {
      viaQuery.close();
    }
  });

  it('an unknown Last-Event-ID gets a reset event and no replay', async () => {
    const topic = thingTopic(myOrder);
    const stream = await openStream(streamUrl([topic]), { ...auth(), 'last-event-id': 'long-gone' });
    try {
      await stream.next((f) => f.retry !== undefined);
      const reset = await stream.next();
      assert.equal(reset.event, 'reset');
      hub.publish(tenantTopicKey('acme', topic), { id: 'r5', event: 'order.updated', data: {} });
      assert.equal((await stream.next()).id, 'r5', 'r1-r4 were not replayed');
    } finally {
      stream.close();
    }
  });

  it('a client disconnect releases its subscription', async () => {
    await until(() => hub.stats().subscriptions === 0);
    const streams = await Promise.all([1, 2, 3].map(() => openStream(streamUrl([userTopic('u1')]), auth())));
    await until(() => hub.stats().subscriptions === 3);
    streams[0]?.close();
    await until(() => hub.stats().subscriptions === 2);
    for (const s of streams) s.close();
    await until(() => hub.stats().subscriptions === 0);
  });
});
