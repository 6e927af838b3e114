/**
 * The fast path of a cache hit (a request already seen is not parsed, normalised, costed or
 * hashed again) must never answer differently from the slow path. Each scenario runs the same
 * requests, in the same order, through two edges over identical scripted origins: one with the
 * fast path and one without. Every answer (status, body, cache and rate-limit headers) and every
 * origin call must match; the scenarios also assert what the answers are, so both agreeing on
 * a wrong answer fails too.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  answer,
  getGraphQL,
  makeKey,
  type OriginCall,
  postGraphQL,
  type Reply,
  scriptedOrigin,
  signToken,
  type TestEdge,
  type TestKey,
  testEdge,
} from './testing.ts';

/** One request of a scenario: a path and init, like `app.request`. */
type Step = readonly [path: string, init: RequestInit];

/** What a response says, as far as a client can tell. */
interface Seen {
  readonly status: number;
  readonly body: string;
  /** Every header's name, sorted. */
  readonly names: string;
  readonly contentType: string | null;
  readonly region: string | null;
  readonly age: string | null;
  readonly cacheStatus: string | null;
  readonly cacheControl: string | null;
  readonly etag: string | null;
  readonly rateLimitPolicy: string | null;
}

async function seen(res: Response): Promise<Seen> {
  return {
    status: res.status,
    body: await res.text(),
    names: [...res.headers.keys()].join(),
    contentType: res.headers.get('content-type'),
    region: res.headers.get('x-meridian-region'),
    age: res.headers.get('age'),
    cacheStatus: res.headers.get('cache-status'),
    cacheControl: res.headers.get('cache-control'),
    etag: res.headers.get('etag'),
    // RateLimit's remaining tokens refill with the wall clock, so the two edges' values differ by timing.
    rateLimitPolicy: res.headers.get('ratelimit-policy'),
  };
}

/** The GraphQL calls an origin received, as the region would see them. */
const calls = (t: TestEdge) =>
  t.origin.graphqlCalls().map((c) => ({
    body: c.graphql,
    tenant: c.headers.get('x-meridian-tenant'),
    subject: c.headers.get('x-meridian-subject'),
  }));

/**
 * Edges over origins answering alike: the fast path as on Node, the fast path with hit templates
 * as on Deno, and the slow path; `send` sends each step to all three.
 */
function twins(respond: (call: OriginCall) => Reply, env: Record<string, string> = {}) {
  const make = (fastPath: boolean, hitTemplates = false) => {
    const t = testEdge({ env, fastPath, hitTemplates, origin: scriptedOrigin({ keys: twinKeys }) });
    t.origin.respond.east = respond;
    return t;
  };
  const fast = make(true);
  const templated = make(true, true);
  const slow = make(false);
  return {
    fast,
    /** Sends the step to every edge; their answers must be the same. Returns the answer. */
    async send([path, init]: Step): Promise<
      Seen & { rateLimit: string | null; json: { data?: unknown; errors?: Array<{ extensions?: { code?: string } }> } }
    > {
      const res = await fast.request(path, init);
      const rateLimit = res.headers.get('ratelimit');
      const a = await seen(res);
      const b = await seen(await slow.request(path, init));
      assert.deepEqual(a, b, `fast and slow path answer ${init.method ?? 'GET'} ${path} alike`);
      const c = await seen(await templated.request(path, init));
      assert.deepEqual(c, b, `hit templates and the slow path answer ${init.method ?? 'GET'} ${path} alike`);
      let json = {};
      try {
        json = JSON.parse(a.body);
      } catch {
        // a 304 has no body
      }
      return { ...a, rateLimit, json };
    },
    /** Both origins saw the same calls, with the same forwarded identity. */
    sameOriginCalls() {
      assert.deepEqual(calls(fast), calls(slow));
      assert.deepEqual(calls(templated), calls(slow));
      return calls(fast).length;
    },
  };
}

let twinKeys: TestKey[] = [];
const HIT = /^meridian-edge; hit; ttl=\d+$/;
const MISS_STORED = /^meridian-edge; fwd=uri-miss; fwd-status=200; stored; ttl=60$/;

/** An answer naming who asked, so an answer shown to the wrong caller is visible. */
const whoAsked =
  (cacheControl: string, scope?: string) =>
  (call: OriginCall): Reply =>
    answer(
      {
        viewer: {
          __typename: 'Viewer',
          id: `${call.headers.get('x-meridian-tenant') ?? '-'}/${call.headers.get('x-meridian-subject') ?? 'anonymous'}`,
        },
      },
      { cacheControl, ...(scope ? { scope } : {}) },
    );
const VIEWER = '{ viewer { id } }';
const viewerOf = (r: { json: { data?: unknown } }) =>
  (r.json.data as { viewer: { id: string } } | undefined)?.viewer.id;

describe('edge /graphql fast path: never an answer the slow path would not give', () => {
  let key: TestKey;
  let stranger: TestKey;
  before(async () => {
    key = await makeKey('test-key');
    // The same kid as the trusted key, another key pair: a forgery that looks right.
    stranger = await makeKey('test-key');
    twinKeys = [key];
  });

  for (const [how, request] of [
    ['POST', (token?: string) => ['/graphql', postGraphQL(VIEWER, token ? { token } : {})] as Step],
    ['GET', (token?: string) => getGraphQL(VIEWER, token ? { token } : {}) as Step],
  ] as const) {
    it(`USER scope (${how}): other users, the same subject in another tenant and anonymous callers get their own answers`, async () => {
      const t = twins(whoAsked('private, max-age=60'));
      const alice = await signToken(key, 'alice', 'acme');
      const bob = await signToken(key, 'bob', 'acme');
      const aliceElsewhere = await signToken(key, 'alice', 'globex');
      const ask = async (token: string | undefined, id: string, status: RegExp | string) => {
        const r = await t.send(request(token));
        assert.equal(viewerOf(r), id);
        if (typeof status === 'string') assert.equal(r.cacheStatus, status);
        else assert.match(r.cacheStatus ?? '', status);
      };
      await ask(alice, 'acme/alice', MISS_STORED);
      await ask(alice, 'acme/alice', HIT);
      await ask(bob, 'acme/bob', MISS_STORED);
      await ask(aliceElsewhere, 'globex/alice', MISS_STORED);
      await ask(undefined, '-/anonymous', 'meridian-edge; fwd=uri-miss; fwd-status=200');
      await ask(alice, 'acme/alice', HIT);
      await ask(bob, 'acme/bob', HIT);
      await ask(aliceElsewhere, 'globex/alice', HIT);
      await ask(undefined, '-/anonymous', 'meridian-edge; fwd=uri-miss; fwd-status=200');
      assert.equal(t.sameOriginCalls(), 5);
    });
  }

  it('TENANT scope: shared inside the tenant, never with the same subject in another tenant', async () => {
    const t = twins(whoAsked('public, max-age=60', 'tenant'));
    const step = (token: string): Step => ['/graphql', postGraphQL(VIEWER, { token })];
    const inAcme = await signToken(key, 'u-1', 'acme');
    const otherInAcme = await signToken(key, 'u-2', 'acme');
    const inGlobex = await signToken(key, 'u-1', 'globex');
    assert.equal(viewerOf(await t.send(step(inAcme))), 'acme/u-1');
    assert.equal(viewerOf(await t.send(step(otherInAcme))), 'acme/u-1', 'the tenant’s entry, by design');
    const globex = await t.send(step(inGlobex));
    assert.equal(viewerOf(globex), 'globex/u-1');
    assert.match(globex.cacheStatus ?? '', MISS_STORED);
    assert.equal(viewerOf(await t.send(step(inGlobex))), 'globex/u-1');
    assert.equal(viewerOf(await t.send(step(inAcme))), 'acme/u-1');
    assert.equal(t.sameOriginCalls(), 2);
  });

  it('other variables are another request; the same variables in another order are the same', async () => {
    const product = 'query Product($id: ID!) { product(id: $id) { id name } }';
    const t = twins((call) =>
      answer({
        product: { __typename: 'Product', id: call.graphql?.variables.id, name: `n${call.graphql?.variables.id}` },
      }),
    );
    const post = (variables: Record<string, unknown>): Step => ['/graphql', postGraphQL(product, { variables })];
    const idOf = (r: { json: { data?: unknown } }) => (r.json.data as { product: { id: string } }).product.id;
    assert.equal(idOf(await t.send(post({ id: '1' }))), '1');
    assert.equal(idOf(await t.send(post({ id: '2' }))), '2');
    assert.match((await t.send(post({ id: '1' }))).cacheStatus ?? '', HIT);
    assert.equal(idOf(await t.send(getGraphQL(product, { variables: { id: '2' } }) as Step)), '2');
    assert.equal(idOf(await t.send(getGraphQL(product, { variables: { id: '3' } }) as Step)), '3');
    const extra = await t.send(post({ id: '1', unused: true }));
    assert.equal(idOf(extra), '1');
    assert.match(extra.cacheStatus ?? '', MISS_STORED, 'an extra variable is another request');
    assert.equal(t.sameOriginCalls(), 4);
  });

  it('another operation name of the same document is another request', async () => {
    const doc = 'query A { a: viewer { id } } query B { b: viewer { id } }';
    const t = twins((call) => {
      const name = call.graphql?.operationName === 'A' ? 'a' : 'b';
      return answer({ [name]: { __typename: 'Viewer', id: name } });
    });
    const op = (operationName?: string): Step => ['/graphql', postGraphQL(doc, operationName ? { operationName } : {})];
    assert.deepEqual((await t.send(op('A'))).json.data, { a: { id: 'a' } });
    assert.deepEqual((await t.send(op('B'))).json.data, { b: { id: 'b' } });
    assert.deepEqual((await t.send(op('A'))).json.data, { a: { id: 'a' } });
    const unnamed = await t.send(op());
    assert.equal(unnamed.json.errors?.[0]?.extensions?.code, 'OPERATION_RESOLUTION_FAILURE');
    assert.equal(t.sameOriginCalls(), 2);
  });

  it('a mutation is sent every time, to the writer, never answered from memory', async () => {
    const t = twins(() =>
      answer({ placeOrder: { __typename: 'Order', id: 'o-1' } }, { cacheControl: 'public, max-age=60' }),
    );
    const token = await signToken(key, 'alice', 'acme', { scopes: ['orders:write'] });
    const mutation: Step = ['/graphql', postGraphQL('mutation { placeOrder { id } }', { token })];
    for (let i = 0; i < 3; i++) {
      const r = await t.send(mutation);
      assert.equal(r.status, 200);
      assert.equal(r.cacheStatus, 'meridian-edge; fwd=method; fwd-status=200');
    }
    assert.equal(t.sameOriginCalls(), 3);
  });

  it('invalid, expired and forged tokens are refused even for a request that was just a hit', async () => {
    const t = twins(whoAsked('public, max-age=60'));
    const alice = await signToken(key, 'alice', 'acme');
    const step = (authorization: string): Step => ['/graphql', postGraphQL(VIEWER, { headers: { authorization } })];
    await t.send(step(`Bearer ${alice}`));
    assert.match((await t.send(step(`Bearer ${alice}`))).cacheStatus ?? '', HIT);
    const past = Math.floor(Date.now() / 1000) - 3600;
    for (const authorization of [
      'Bearer not-a-token',
      `Bearer ${await signToken(key, 'alice', 'acme', { iat: past - 60, nbf: past - 60, exp: past })}`,
      `Bearer ${await signToken(stranger, 'alice', 'acme')}`,
      `Bearer ${alice.slice(0, -4)}AAAA`,
      `Basic ${alice}`,
    ]) {
      const r = await t.send(step(authorization));
      assert.equal(r.status, 401, authorization.slice(0, 20));
      assert.equal(r.json.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
    }
    assert.equal(
      viewerOf(await t.send(step(`bearer  ${alice}`))),
      'acme/alice',
      'any spelling of the scheme still works',
    );
    assert.equal(t.sameOriginCalls(), 1);
  });

  it('what the parser would refuse is refused: Accept, Content-Type, method, body size, invalid UTF-8', async () => {
    const t = twins(() => answer({ product: { __typename: 'Product', id: '\uFFFD', name: 'x' } }), {
      MERIDIAN_EDGE_MAX_BODY_BYTES: '1024',
    });
    const query = '{ product(id: "\uFFFD") { id name } }';
    const body = JSON.stringify({ query });
    const post = (headers: Record<string, string>, payload: BodyInit = body): Step => [
      '/graphql',
      { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: payload },
    ];
    assert.equal((await t.send(post({}))).status, 200);
    assert.match((await t.send(post({}))).cacheStatus ?? '', HIT);
    assert.equal((await t.send(post({ accept: 'text/html' }))).status, 406);
    assert.equal((await t.send(post({ 'content-type': 'text/plain' }))).status, 415);
    assert.equal((await t.send(post({ 'content-type': 'application/json; charset=latin1' }))).status, 415);
    // The same text with the replacement character's bytes swapped for an invalid byte: 400, not a hit.
    const bytes = new TextEncoder().encode(body);
    const at = bytes.indexOf(0xef);
    const invalid = new Uint8Array([...bytes.slice(0, at), 0xff, ...bytes.slice(at + 3)]);
    const refused = await t.send(post({}, invalid));
    assert.equal(refused.status, 400);
    assert.match(refused.body, /not valid UTF-8/);
    assert.equal((await t.send(post({}, JSON.stringify({ query: `${query}${' '.repeat(1100)}` })))).status, 413);
    const [path, init] = getGraphQL(query);
    assert.equal((await t.send([path, init])).status, 200);
    assert.match((await t.send([path, init])).cacheStatus ?? '', HIT);
    assert.equal((await t.send([path, { ...init, method: 'PUT' }])).status, 404);
    assert.equal(t.sameOriginCalls(), 1);
  });

  it('a hit still spends its cost from the caller’s budget, and is refused once it is spent', async () => {
    const t = twins(whoAsked('public, max-age=60'), {
      MERIDIAN_EDGE_ANONYMOUS_LIMIT_CAPACITY: '6',
      MERIDIAN_EDGE_ANONYMOUS_LIMIT_REFILL_PER_SECOND: '1',
    });
    const step: Step = ['/graphql', postGraphQL(VIEWER)];
    const remaining = [];
    for (let i = 0; i < 3; i++) remaining.push((await t.send(step)).rateLimit);
    assert.deepEqual(
      remaining.map((r) => /;r=(\d+);/.exec(r ?? '')?.[1]),
      ['4', '2', '0'], // { viewer { id } } costs 2
    );
    const refused = await t.send(step);
    assert.equal(refused.status, 429);
    assert.equal(refused.json.errors?.[0]?.extensions?.code, 'RATE_LIMITED');
  });

  it('If-None-Match on a remembered request: 304 for the entry’s ETag, the body for any other', async () => {
    const t = twins(whoAsked('public, max-age=60'));
    const first = await t.send(['/graphql', postGraphQL(VIEWER)]);
    const etag = first.etag as string;
    const notModified = await t.send(['/graphql', postGraphQL(VIEWER, { headers: { 'if-none-match': etag } })]);
    assert.equal(notModified.status, 304);
    assert.equal(notModified.body, '');
    const other = await t.send(['/graphql', postGraphQL(VIEWER, { headers: { 'if-none-match': '"other"' } })]);
    assert.equal(other.status, 200);
    assert.equal(other.body, first.body);
  });
});
