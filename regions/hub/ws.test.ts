/**
 * The hub's WebSocket transport over a real socket: a node server on port 0 with the `ws`
 * upgrade, the `graphql-ws` client from npm (and raw `ws` clients where a test needs to
 * misbehave), the dev issuer's tokens, and a test module's subscription part.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Client, createClient } from 'graphql-ws';
import { WebSocket } from 'ws';
import { DomainError } from '../../domains/shared/errors.ts';
import { type Listening, listen } from '../host/http.ts';
import { createDevIssuer, type DevIssuer } from '../identity/dev-issuer.ts';
import { createTokenVerifier } from '../identity/verifier.ts';
import { CLOSE_CODES } from './close-codes.ts';
import { graphqlSseRoutes } from './graphql-sse.ts';
import { createHub, type Hub, type HubOptions } from './hub.ts';
import { createUserLimits, type UserLimitOptions } from './limits.ts';
import { createHubGraphQL, type SubscriptionPart } from './subscriptions.ts';
import { type HubTopic, tenantTopicKey, topicResolver } from './topics.ts';
import { createWsTransport, type WsTransport, type WsTransportOptions } from './ws.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const thingTopic = (id: string) => `thing.${id}`;

/** Owners of things, as a module's store would know them. */
const owners = new Map<string, { tenant: string; userId: string }>();

function families(): HubTopic[] {
  return [
    {
      pattern: /^thing\.[0-9a-f-]{36}$/,
      authorize: async (actor, topic) => {
        const owner = owners.get(topic.slice('thing.'.length));
        return owner?.tenant === actor.tenant && owner.userId === actor.subject;
      },
    },
  ];
}

/** A module's part the way a domain writes one: a field per topic family, and a mutation sent over the socket. */
function thingPart(hub: Hub): SubscriptionPart {
  return {
    typeDefs: `
      extend type Subscription { thingChanged(id: ID!): ThingChange! }
      extend type Mutation { noteThing(id: ID!, note: String!): ThingChange! }
      type ThingChange { id: ID! note: String! }
    `,
    subscriptions: {
      thingChanged: {
        topics(args) {
          const id = String(args.id);
          if (!UUID.test(id))
            throw new DomainError('BAD_USER_INPUT', 'id must be a UUID', { details: { field: 'id' } });
          return [thingTopic(id)];
        },
        payload: (d) => (d.event === 'thing.changed' ? (d.data as object) : undefined),
      },
    },
    mutations: {
      async noteThing(args, actor) {
        const id = String(args.id);
        const owner = owners.get(id);
        if (owner?.tenant !== actor.tenant || owner.userId !== actor.subject) {
          throw new DomainError('FORBIDDEN', 'not your thing');
        }
        const change = { id, note: String(args.note) };
        hub.publish(tenantTopicKey(actor.tenant, thingTopic(id)), {
          id: randomUUID(),
          event: 'thing.changed',
          data: change,
        });
        return change;
      },
    },
  };
}

interface Fixture {
  readonly hub: Hub;
  readonly transport: WsTransport;
  readonly url: string;
  readonly http: string;
  stop(): Promise<void>;
}

let dir: string;
let issuer: DevIssuer;
let shortLived: DevIssuer;

async function token(sub: string, tenant = 'acme', from: DevIssuer = issuer): Promise<string> {
  return (await from.issue({ sub, tenant, scopes: [] })).access_token;
}

async function startFixture(
  opts: { hub?: HubOptions; limits?: UserLimitOptions; ws?: Partial<WsTransportOptions> } = {},
): Promise<Fixture> {
  const verifier = createTokenVerifier({ issuer: issuer.issuer, audience: issuer.audience, jwks: () => issuer.jwks() });
  const hub = createHub({ historyPerTopic: 50, ...opts.hub });
  const resolveTopic = topicResolver(families());
  const graphql = createHubGraphQL({ hub, topics: resolveTopic, parts: [{ name: 'things', part: thingPart(hub) }] });
  const limits = createUserLimits(opts.limits);
  const transport = createWsTransport({
    graphql,
    verify: (a) => verifier.session(a),
    limits,
    pingIntervalMs: 60_000,
    ...opts.ws,
  });
  const routes = graphqlSseRoutes({ graphql, verify: verifier.verify, limits });
  const server: Listening = await listen(routes.fetch, 0, '127.0.0.1', {
    upgrade: (req, socket, head) => transport.handleUpgrade(req, socket, head),
  });
  return {
    hub,
    transport,
    url: `ws://127.0.0.1:${server.port}/v1/graphql`,
    http: `http://127.0.0.1:${server.port}`,
    async stop() {
      await transport.close();
      await server.close();
      hub.close();
    },
  };
}

function gqlClient(url: string, connectionParams?: Record<string, unknown>): Client {
  return createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true, connectionParams });
}

const THING = 'subscription($id: ID!) { thingChanged(id: $id) { id note } }';

/** The note of a thingChanged result (fails the test when there is none). */
function noteOf(r: IteratorResult<{ data?: unknown } | undefined>): string {
  const note = (r.value?.data as { thingChanged?: { note?: string } } | undefined)?.thingChanged?.note;
  assert.ok(note !== undefined, `no thingChanged note in ${JSON.stringify(r.value)}`);
  return note;
}

/** A raw graphql-transport-ws connection, for tests that misbehave or watch close codes. */
interface Raw {
  readonly ws: WebSocket;
  readonly messages: Array<Record<string, unknown>>;
  readonly closed: Promise<{ code: number; reason: string }>;
  /** The next message matching `accept`. */
  next(accept?: (m: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>>;
  send(message: unknown): void;
}

async function raw(
  url: string,
  init?: Record<string, unknown> | null,
  options: ConstructorParameters<typeof WebSocket>[2] = {},
): Promise<Raw> {
  const ws = new WebSocket(url, 'graphql-transport-ws', options);
  const messages: Array<Record<string, unknown>> = [];
  const waiters: Array<() => void> = [];
  ws.on('message', (data) => {
    messages.push(JSON.parse(String(data)));
    for (const w of waiters.splice(0)) w();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => {
      resolve({ code, reason: reason.toString() });
      for (const w of waiters.splice(0)) w();
    });
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  let read = 0;
  const r: Raw = {
    ws,
    messages,
    closed,
    async next(accept = () => true, ms = 3000) {
      const deadline = Date.now() + ms;
      for (;;) {
        while (read < messages.length) {
          const m = messages[read++] as Record<string, unknown>;
          if (accept(m)) return m;
        }
        if (ws.readyState === ws.CLOSED) throw new Error('socket closed');
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no message in ${ms} ms (got ${JSON.stringify(messages)})`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, left);
        });
      }
    },
    send: (m) => ws.send(JSON.stringify(m)),
  };
  if (init !== null) {
    r.send({ type: 'connection_init', ...(init ? { payload: init } : {}) });
    await r.next((m) => m.type === 'connection_ack');
  }
  return r;
}

async function until(check: () => boolean, ms = 3000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > ms) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The status of a refused handshake. */
function handshakeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, 'graphql-transport-ws', { headers });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('open', () => reject(new Error('the handshake was accepted')));
    ws.on('error', () => {});
  });
}

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'meridian-ws-'));
  const keyFile = path.join(dir, 'key.json');
  issuer = createDevIssuer({ keyFile });
  await issuer.jwks();
  // Same key file, so the same verifier trusts its tokens; they expire in 2 s.
  shortLived = createDevIssuer({ keyFile, ttlSeconds: 2 });
});
after(() => rm(dir, { recursive: true, force: true }));

describe('hub over WebSocket (graphql-transport-ws)', () => {
  let f: Fixture;
  const mine = randomUUID();
  const theirs = randomUUID();
  before(async () => {
    owners.set(mine, { tenant: 'acme', userId: 'u1' });
    owners.set(theirs, { tenant: 'acme', userId: 'u2' });
    f = await startFixture();
  });
  after(() => f.stop());

  it('a graphql-ws client subscribes with the token in connection_init and gets each change with extensions.hub', async () => {
    let ack: unknown;
    const client = createClient({
      url: f.url,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${await token('u1')}` },
      on: { connected: (_socket, payload) => (ack = payload) },
    });
    try {
      const it = client.iterate({ query: THING, variables: { id: mine } });
      await until(() => f.hub.stats().subscriptions === 1);
      assert.deepEqual(ack, { epoch: f.hub.epoch });
      f.hub.publish(tenantTopicKey('acme', thingTopic(mine)), {
        id: 'e1',
        event: 'thing.changed',
        data: { id: mine, note: 'a' },
      });
      f.hub.publish(tenantTopicKey('acme', thingTopic(mine)), { id: 'e2', event: 'thing.other', data: {} });
      f.hub.publish(tenantTopicKey('acme', thingTopic(mine)), {
        id: 'e3',
        event: 'thing.changed',
        data: { id: mine, note: 'b' },
      });
      const first = await it.next();
      assert.deepEqual(first.value, {
        data: { thingChanged: { id: mine, note: 'a' } },
        extensions: { hub: { id: 'e1', epoch: f.hub.epoch } },
      });
      const second = await it.next();
      assert.deepEqual(second.value?.data, { thingChanged: { id: mine, note: 'b' } }, 'e2 is not a change: skipped');
      await it.return?.();
      await until(() => f.hub.stats().subscriptions === 0);
    } finally {
      await client.dispose();
    }
  });

  it('takes the token at the handshake too (header or ?access_token=) and refuses a forged one with 401', async () => {
    const good = await token('u1');
    const viaQuery = await raw(`${f.url}?access_token=${good}`, {});
    viaQuery.ws.close();
    const viaHeader = await raw(f.url, {}, { headers: { authorization: `Bearer ${good}` } });
    viaHeader.ws.close();
    assert.equal(await handshakeStatus(`${f.url}?access_token=${good}x`), 401);
    assert.equal(await handshakeStatus(f.url, { authorization: 'Bearer not.a.jwt' }), 401);
    const forgedInInit = await raw(f.url, null);
    forgedInInit.send({ type: 'connection_init', payload: { authorization: `Bearer ${good}x` } });
    assert.equal((await forgedInInit.closed).code, CLOSE_CODES.unauthorized);
    const noToken = await raw(f.url, null);
    noToken.send({ type: 'connection_init' });
    assert.equal((await noToken.closed).code, CLOSE_CODES.unauthorized);
  });

  it('forbids a topic of another user, and the same user id in another tenant; bad arguments are BAD_USER_INPUT', async () => {
    const attempts = [
      { as: await token('u1'), id: theirs, code: 'FORBIDDEN' },
      { as: await token('u1', 'globex'), id: mine, code: 'FORBIDDEN' },
      { as: await token('u1'), id: randomUUID(), code: 'FORBIDDEN' },
      { as: await token('u1'), id: 'not-a-uuid', code: 'BAD_USER_INPUT' },
    ];
    for (const { as, id, code } of attempts) {
      const client = gqlClient(f.url, { authorization: `Bearer ${as}` });
      try {
        // graphql-js answers a subscription that cannot start with one result holding the error (then complete).
        const it = client.iterate({ query: THING, variables: { id } });
        const first = await it.next();
        assert.equal(first.value?.errors?.[0]?.extensions?.code, code, JSON.stringify(first.value));
        assert.equal(first.value?.data, undefined);
        assert.equal((await it.next()).done, true);
      } finally {
        await client.dispose();
      }
    }
    assert.equal(f.hub.stats().subscriptions, 0);
  });

  it("never delivers another tenant's message on the same topic name", async () => {
    owners.set(mine, { tenant: 'acme', userId: 'u1' });
    const globexThing = randomUUID();
    owners.set(globexThing, { tenant: 'globex', userId: 'u1' });
    const client = gqlClient(f.url, { authorization: `Bearer ${await token('u1')}` });
    try {
      const it = client.iterate({
        query: 'subscription($t: [String!]!) { hubEvents(topics: $t) { id topic data } }',
        variables: { t: [thingTopic(mine)] },
      });
      await until(() => f.hub.stats().subscriptions === 1);
      f.hub.publish(tenantTopicKey('globex', thingTopic(mine)), { id: 'g1', event: 'x', data: 'globex' });
      f.hub.publish(tenantTopicKey('acme', thingTopic(mine)), { id: 'a1', event: 'x', data: 'acme' });
      const r = await it.next();
      assert.deepEqual(r.value?.data, { hubEvents: { id: 'a1', topic: thingTopic(mine), data: 'acme' } });
      await it.return?.();
    } finally {
      await client.dispose();
    }
  });

  it('resumes after extensions.hub.lastEventId, and says reset for an unknown id or another epoch', async () => {
    const key = tenantTopicKey('acme', thingTopic(mine));
    for (const n of [1, 2, 3])
      f.hub.publish(key, { id: `r${n}`, event: 'thing.changed', data: { id: mine, note: `n${n}` } });
    const client = gqlClient(f.url, { authorization: `Bearer ${await token('u1')}` });
    try {
      const resumed = client.iterate({
        query: THING,
        variables: { id: mine },
        extensions: { hub: { lastEventId: 'r1', epoch: f.hub.epoch } },
      });
      assert.deepEqual((await resumed.next()).value?.extensions, { hub: { id: 'r2', epoch: f.hub.epoch } });
      assert.equal(noteOf(await resumed.next()), 'n3');
      await resumed.return?.();
      for (const hub of [{ lastEventId: 'r1', epoch: 'another-hub' }, { lastEventId: 'never-published' }]) {
        const it = client.iterate({ query: THING, variables: { id: mine }, extensions: { hub } });
        const first = await it.next();
        assert.deepEqual(
          first.value,
          { extensions: { hub: { reset: true, epoch: f.hub.epoch } } },
          JSON.stringify(hub),
        );
        f.hub.publish(key, { id: `live-${randomUUID()}`, event: 'thing.changed', data: { id: mine, note: 'live' } });
        assert.equal(noteOf(await it.next()), 'live');
        await it.return?.();
      }
    } finally {
      await client.dispose();
    }
  });

  it('runs a mutation sent over the socket, with domain errors as extensions.code', async () => {
    const client = gqlClient(f.url, { authorization: `Bearer ${await token('u1')}` });
    try {
      const sub = client.iterate({ query: THING, variables: { id: mine } });
      await until(() => f.hub.stats().subscriptions === 1);
      const note = `via-socket-${randomUUID()}`;
      const result = await client
        .iterate({
          query: 'mutation($id: ID!, $n: String!) { noteThing(id: $id, note: $n) { note } }',
          variables: { id: mine, n: note },
        })
        .next();
      assert.deepEqual(result.value?.data, { noteThing: { note } });
      assert.equal(noteOf(await sub.next()), note);
      await sub.return?.();
      const refused = await client
        .iterate({ query: 'mutation($id: ID!) { noteThing(id: $id, note: "x") { note } }', variables: { id: theirs } })
        .next();
      assert.equal(refused.value?.errors?.[0]?.extensions?.code, 'FORBIDDEN');
      assert.equal(refused.value?.data, null);
    } finally {
      await client.dispose();
    }
  });

  it('answers operation errors with codes: parse and validation failures', async () => {
    const r = await raw(f.url, { authorization: `Bearer ${await token('u1')}` });
    r.send({ id: '1', type: 'subscribe', payload: { query: 'subscription {' } });
    const parse = await r.next((m) => m.id === '1');
    assert.equal(parse.type, 'error');
    assert.equal(
      (parse.payload as Array<{ extensions: { code: string } }>)[0]?.extensions.code,
      'GRAPHQL_PARSE_FAILED',
    );
    r.send({ id: '2', type: 'subscribe', payload: { query: 'subscription { nope }' } });
    const invalid = await r.next((m) => m.id === '2');
    assert.equal(
      (invalid.payload as Array<{ extensions: { code: string } }>)[0]?.extensions.code,
      'GRAPHQL_VALIDATION_FAILED',
    );
    r.ws.close();
  });
});

describe('hub WebSocket protections', () => {
  const thing = randomUUID();
  before(() => {
    owners.set(thing, { tenant: 'acme', userId: 'p1' });
  });

  it('closes a socket whose token expires with 3005 (token expired)', async () => {
    const f = await startFixture();
    try {
      const r = await raw(f.url, { authorization: `Bearer ${await token('p1', 'acme', shortLived)}` });
      const t0 = Date.now();
      const { code } = await r.closed;
      assert.equal(code, CLOSE_CODES.tokenExpired);
      assert.ok(Date.now() - t0 < 3000, 'closed when the token expired, not later');
    } finally {
      await f.stop();
    }
  });

  it('cuts off a client that stops reading with 3008 while another keeps its latency', async () => {
    const f = await startFixture({ hub: { clientBufferLimit: 20 }, ws: { maxBufferedBytes: 256 * 1024 } });
    try {
      const auth = { authorization: `Bearer ${await token('p1')}` };
      const slow = await raw(f.url, auth);
      const fast = await raw(f.url, auth);
      for (const r of [slow, fast]) {
        r.send({ id: 's', type: 'subscribe', payload: { query: THING, variables: { id: thing } } });
      }
      await until(() => f.hub.stats().subscriptions === 2);
      (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
      const pad = 'x'.repeat(16 * 1024);
      const latencies: number[] = [];
      const key = tenantTopicKey('acme', thingTopic(thing));
      for (let i = 0; i < 400; i++) {
        const sent = performance.now();
        f.hub.publish(key, { id: `m${i}`, event: 'thing.changed', data: { id: thing, note: `${i}:${pad}` } });
        const m = await fast.next((x) => x.type === 'next');
        latencies.push(performance.now() - sent);
        assert.match(
          (m.payload as { data: { thingChanged: { note: string } } }).data.thingChanged.note,
          new RegExp(`^${i}:`),
        );
      }
      await until(() => f.hub.stats().subscriptions === 1);
      (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
      assert.equal((await slow.closed).code, CLOSE_CODES.slow);
      latencies.sort((a, b) => a - b);
      assert.ok((latencies[latencies.length - 1] as number) < 250, `fast client max latency ${latencies.at(-1)} ms`);
      assert.equal(fast.ws.readyState, fast.ws.OPEN);
      fast.ws.close();
    } finally {
      await f.stop();
    }
  });

  it('pings, and closes a client that does not pong with 3012', async () => {
    const f = await startFixture({ ws: { pingIntervalMs: 100 } });
    try {
      const auth = `Bearer ${await token('p1')}`;
      const answering = await raw(f.url, { authorization: auth });
      const silent = await raw(f.url, { authorization: auth }, { autoPong: false });
      let pings = 0;
      silent.ws.on('ping', () => pings++);
      assert.equal((await silent.closed).code, CLOSE_CODES.noPong);
      assert.ok(pings >= 1);
      assert.equal(answering.ws.readyState, answering.ws.OPEN, 'a client that pongs stays');
      answering.ws.close();
    } finally {
      await f.stop();
    }
  });

  it('limits connections per user (3504), counting the same id in another tenant apart', async () => {
    const f = await startFixture({ limits: { maxConnectionsPerUser: 2 } });
    try {
      const acme = { authorization: `Bearer ${await token('p1')}` };
      const first = await raw(f.url, acme);
      const second = await raw(f.url, acme);
      const third = await raw(f.url, null);
      third.send({ type: 'connection_init', payload: acme });
      assert.equal((await third.closed).code, CLOSE_CODES.connectionLimit);
      const otherTenant = await raw(f.url, { authorization: `Bearer ${await token('p1', 'globex')}` });
      first.ws.close();
      await first.closed;
      await until(() => f.transport.stats().connections === 2);
      const again = await raw(f.url, acme);
      for (const r of [second, otherTenant, again]) r.ws.close();
    } finally {
      await f.stop();
    }
  });

  it('closes a socket that sends a message over the size limit with 1009', async () => {
    const f = await startFixture({ ws: { maxMessageBytes: 4096 } });
    try {
      const r = await raw(f.url, { authorization: `Bearer ${await token('p1')}` });
      r.send({ id: 'big', type: 'subscribe', payload: { query: `query { hubEpoch } # ${'x'.repeat(5000)}` } });
      assert.equal((await r.closed).code, CLOSE_CODES.messageTooBig);
    } finally {
      await f.stop();
    }
  });

  it('rate-limits operations per user across connections (RATE_LIMITED), not per tenant', async () => {
    const f = await startFixture({ limits: { operationBurst: 3, operationsPerSecond: 1 } });
    try {
      const a = await raw(f.url, { authorization: `Bearer ${await token('p1')}` });
      const b = await raw(f.url, { authorization: `Bearer ${await token('p1')}` });
      const other = await raw(f.url, { authorization: `Bearer ${await token('p1', 'globex')}` });
      const ask = async (r: Raw, id: string) => {
        r.send({ id, type: 'subscribe', payload: { query: '{ hubEpoch }' } });
        return r.next((m) => m.id === id && m.type !== 'complete');
      };
      for (const id of ['1', '2']) assert.equal((await ask(a, id)).type, 'next');
      assert.equal((await ask(b, '3')).type, 'next');
      const limited = await ask(b, '4');
      assert.equal(limited.type, 'error');
      assert.equal((limited.payload as Array<{ extensions: { code: string } }>)[0]?.extensions.code, 'RATE_LIMITED');
      assert.equal((await ask(other, '5')).type, 'next', 'the same id in another tenant has its own budget');
      assert.equal(a.ws.readyState, a.ws.OPEN, 'a limited client keeps its connection');
      for (const r of [a, b, other]) r.ws.close();
    } finally {
      await f.stop();
    }
  });

  it('tells open sockets to reconnect (3001) when the hub shuts down', async () => {
    const f = await startFixture();
    const r = await raw(f.url, { authorization: `Bearer ${await token('p1')}` });
    await f.stop();
    assert.equal((await r.closed).code, CLOSE_CODES.shutdown);
  });
});

describe('hub GraphQL over SSE (graphql-sse)', () => {
  let f: Fixture;
  const thing = randomUUID();
  before(async () => {
    owners.set(thing, { tenant: 'acme', userId: 's1' });
    f = await startFixture();
  });
  after(() => f.stop());

  it('streams next events for a subscription and refuses a missing token with 401', async () => {
    const denied = await fetch(`${f.http}/v1/graphql/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: THING, variables: { id: thing } }),
    });
    assert.equal(denied.status, 401);
    const abort = new AbortController();
    const res = await fetch(`${f.http}/v1/graphql/stream`, {
      method: 'POST',
      signal: abort.signal,
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        authorization: `Bearer ${await token('s1')}`,
      },
      body: JSON.stringify({ query: THING, variables: { id: thing } }),
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    await until(() => f.hub.stats().subscriptions === 1);
    f.hub.publish(tenantTopicKey('acme', thingTopic(thing)), {
      id: 'sse1',
      event: 'thing.changed',
      data: { id: thing, note: 'sse' },
    });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    while (!text.includes('\n\n') || !text.includes('event: next')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    const data = /data: (.*)/.exec(text.slice(text.indexOf('event: next')))?.[1] ?? '';
    assert.deepEqual(JSON.parse(data), {
      data: { thingChanged: { id: thing, note: 'sse' } },
      extensions: { hub: { id: 'sse1', epoch: f.hub.epoch } },
    });
    abort.abort();
    await until(() => f.hub.stats().subscriptions === 0);
  });
});

type GraphQLErrorLike = { extensions?: { code?: string } };

describe('hub schema from modules', () => {
  const hub = createHub();
  const build = (parts: Array<{ name: string; part: SubscriptionPart }>) =>
    createHubGraphQL({ hub, topics: topicResolver([]), parts });
  const part = (sdl: string, subs: string[] = [], muts: string[] = []): SubscriptionPart => ({
    typeDefs: sdl,
    subscriptions: Object.fromEntries(subs.map((s) => [s, { topics: () => ['x'], payload: () => null }])),
    mutations: Object.fromEntries(muts.map((m) => [m, async () => null])),
  });

  it("merges every module's fields and types; a Mutation root only when a module adds one", () => {
    const g = build([
      { name: 'a', part: part('extend type Subscription { aChanged: Int! }', ['aChanged']) },
      { name: 'b', part: part('extend type Subscription { bChanged: B! } type B { id: ID! }', ['bChanged']) },
    ]);
    assert.deepEqual(Object.keys(g.schema.getSubscriptionType()?.getFields() ?? {}).sort(), [
      'aChanged',
      'bChanged',
      'hubEvents',
    ]);
    assert.equal(g.schema.getMutationType(), undefined);
    const withMutation = build([{ name: 'a', part: part('extend type Mutation { doA: Int }', [], ['doA']) }]);
    assert.deepEqual(Object.keys(withMutation.schema.getMutationType()?.getFields() ?? {}), ['doA']);
  });

  it('answers no introspection in production mode', () => {
    const production = createHubGraphQL({ hub, topics: topicResolver([]), parts: [], production: true });
    const refused = production.prepare(
      { query: '{ __schema { types { name } } }' },
      { actor: { subject: 'u', tenant: 't', scopes: [] } },
    );
    assert.ok(Array.isArray(refused));
    assert.equal((refused as GraphQLErrorLike[])[0]?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED');
    const development = createHubGraphQL({ hub, topics: topicResolver([]), parts: [] });
    assert.ok(
      !Array.isArray(
        development.prepare(
          { query: '{ __schema { types { name } } }' },
          { actor: { subject: 'u', tenant: 't', scopes: [] } },
        ),
      ),
    );
  });

  it('refuses a field added twice, a field without resolver, a resolver without field, and a redefined root', () => {
    const sub = 'extend type Subscription { same: Int }';
    assert.throws(
      () =>
        build([
          { name: 'a', part: part(sub, ['same']) },
          { name: 'b', part: part(sub, ['same']) },
        ]),
      /Subscription\.same is added by a and b/,
    );
    assert.throws(() => build([{ name: 'a', part: part(sub) }]), /module a adds Subscription\.same without a resolver/);
    assert.throws(
      () => build([{ name: 'a', part: part('type X { y: Int }', ['ghost']) }]),
      /resolves Subscription\.ghost, not in its SDL/,
    );
    assert.throws(
      () => build([{ name: 'a', part: part('type Subscription { z: Int }', ['z']) }]),
      /must write "extend type Subscription"/,
    );
    assert.throws(
      () => build([{ name: 'a', part: part('extend type Subscription { hubEvents: Int }', ['hubEvents']) }]),
      /added by the hub and a/,
    );
    assert.throws(
      () => build([{ name: 'a', part: part('extend type Subscription { x: Missing }', ['x']) }]),
      /does not build/,
    );
  });
});
