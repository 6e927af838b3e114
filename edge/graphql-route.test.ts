import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  answer,
  eventually,
  getGraphQL,
  makeKey,
  type OriginCall,
  persistedQuery,
  postGraphQL,
  type Reply,
  scriptedOrigin,
  signToken,
  type TestKey,
  testEdge,
} from './testing.ts';

const PRODUCT = 'query Product($id: ID!) { product(id: $id) { id name } }';
const LAMP = { product: { __typename: 'Product', id: '1', name: 'Lamp' } };
const MISS_STORED = 'meridian-edge; fwd=uri-miss; fwd-status=200; stored; ttl=60';
const MISS_NOT_STORED = 'meridian-edge; fwd=uri-miss; fwd-status=200';
const HIT = 'meridian-edge; hit; ttl=60';

interface Body {
  data?: unknown;
  errors?: Array<{ message: string; extensions: { code: string } }>;
}

const json = async (res: Response) => (await res.json()) as Body;
const product = (opts: Parameters<typeof postGraphQL>[1] = {}) =>
  postGraphQL(PRODUCT, { variables: { id: '1' }, ...opts });

/** A gate an origin reply waits for; `open()` lets every waiting reply through. */
function gate() {
  let open!: () => void;
  const until = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { until, open };
}

/** An origin whose answer names the caller, so a response shown to the wrong caller is visible. */
const whoAsked = (opts: { cacheControl: string; scope?: string }) => (call: OriginCall) =>
  answer(
    {
      viewer: {
        __typename: 'Viewer',
        id: `${call.headers.get('x-meridian-tenant') ?? '-'}/${call.headers.get('x-meridian-subject') ?? 'anonymous'}`,
      },
    },
    opts,
  );
const VIEWER = '{ viewer { id } }';

describe('edge /graphql: the response cache', () => {
  it('an anonymous public query misses and is stored, then hits with the same body and no origin call', async () => {
    const t = testEdge();
    t.origin.respond.east = () => answer(LAMP);

    const first = await t.request('/graphql', product());
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('cache-status'), MISS_STORED);
    assert.equal(first.headers.get('x-meridian-region'), 'east');
    assert.equal(first.headers.get('cache-control'), 'public, max-age=60');
    const firstBody = await first.text();
    // The edge asked for __typename (entity tags) and strips it again: the client gets what it asked for.
    assert.deepEqual(JSON.parse(firstBody), { data: { product: { id: '1', name: 'Lamp' } } });
    const [call] = t.origin.graphqlCalls();
    assert.match(call?.graphql?.query ?? '', /__typename/);
    assert.deepEqual(call?.graphql?.variables, { id: '1' });

    const second = await t.request('/graphql', product());
    assert.equal(second.status, 200);
    assert.equal(second.headers.get('cache-status'), HIT);
    assert.equal(second.headers.get('x-meridian-region'), 'east');
    assert.equal(await second.text(), firstBody);
    assert.equal(second.headers.get('etag'), first.headers.get('etag'));
    assert.equal(t.origin.graphqlCalls().length, 1);
  });

  it('GET with a query string and APQ hit the entry a POST stored for the same operation', async () => {
    const t = testEdge();
    t.origin.respond.east = () => answer(LAMP);
    const stored = await t.request('/graphql', product());
    assert.equal(stored.headers.get('cache-status'), MISS_STORED);
    const body = await stored.text();

    // Same operation, other whitespace, sent as GET.
    const [path, init] = getGraphQL('query Product($id: ID!) {\n  product(id: $id) {\n    id\n    name\n  }\n}', {
      variables: { id: '1' },
    });
    const viaGet = await t.request(path, init);
    assert.equal(viaGet.status, 200);
    assert.equal(viaGet.headers.get('cache-status'), HIT);
    assert.equal(await viaGet.text(), body);

    // APQ: the hash alone is unknown, the client registers it with the query, then the hash alone works.
    const extensions = await persistedQuery(PRODUCT);
    const [hashOnly, hashInit] = getGraphQL(undefined, { variables: { id: '1' }, extensions });
    const unknown = await t.request(hashOnly, hashInit);
    assert.equal(unknown.status, 200); // application/json: a request error is 200 (GraphQL over HTTP)
    assert.equal((await json(unknown)).errors?.[0]?.extensions.code, 'PERSISTED_QUERY_NOT_FOUND');
    assert.equal(unknown.headers.get('cache-control'), 'private, no-cache, must-revalidate');

    const register = await t.request('/graphql', product({ extensions }));
    assert.equal(register.headers.get('cache-status'), HIT);
    assert.equal(await register.text(), body);

    const byHash = await t.request(hashOnly, hashInit);
    assert.equal(byHash.status, 200);
    assert.equal(byHash.headers.get('cache-status'), HIT);
    assert.equal(await byHash.text(), body);
    assert.equal(t.origin.graphqlCalls().length, 1);
  });

  it('If-None-Match with the entry ETag is 304 without a body; another ETag gets the 200', async () => {
    const t = testEdge();
    t.origin.respond.east = () => answer(LAMP);
    const first = await t.request('/graphql', product());
    const etag = first.headers.get('etag');
    assert.match(etag ?? '', /^"[0-9a-f]{32}"$/);

    const notModified = await t.request('/graphql', product({ headers: { 'if-none-match': etag as string } }));
    assert.equal(notModified.status, 304);
    assert.equal(notModified.headers.get('etag'), etag);
    assert.equal(notModified.headers.get('cache-status'), HIT);
    assert.equal(await notModified.text(), '');

    const changed = await t.request('/graphql', product({ headers: { 'if-none-match': '"0000"' } }));
    assert.equal(changed.status, 200);
    assert.equal(changed.headers.get('etag'), etag);
    assert.deepEqual((await json(changed)).data, { product: { id: '1', name: 'Lamp' } });
    assert.equal(t.origin.graphqlCalls().length, 1);
  });

  it('past max-age but within stale-while-revalidate the stale answer is served and refreshed once in the background', async () => {
    const t = testEdge();
    let name = 'Lamp';
    const refresh = gate();
    t.origin.respond.east = () => ({
      ...answer(
        { product: { __typename: 'Product', id: '1', name } },
        { cacheControl: 'public, max-age=10, stale-while-revalidate=30' },
      ),
      ...(name === 'Lamp' ? {} : { until: refresh.until }),
    });
    await t.request('/graphql', product());
    name = 'Desk lamp';
    await t.clock.advance(15_000);

    // Three readers while the refresh is held: each gets the stale answer, one refetch runs.
    const stale = await Promise.all([1, 2, 3].map(() => t.request('/graphql', product())));
    for (const res of stale) {
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('cache-status'), 'meridian-edge; hit; ttl=-5; detail=stale');
      assert.deepEqual((await json(res)).data, { product: { id: '1', name: 'Lamp' } });
    }
    assert.equal(t.origin.graphqlCalls().length, 2);

    refresh.open();
    const fresh = await eventually(async () => {
      const res = await t.request('/graphql', product());
      assert.equal(res.headers.get('cache-status'), 'meridian-edge; hit; ttl=10');
      return res;
    });
    assert.deepEqual((await json(fresh)).data, { product: { id: '1', name: 'Desk lamp' } });
    assert.equal(t.origin.graphqlCalls().length, 2);
  });

  it('50 concurrent identical misses make exactly one origin request', async () => {
    const t = testEdge();
    t.origin.respond.east = () => ({ ...answer(LAMP), delayMs: 20 });
    const responses = await Promise.all(Array.from({ length: 50 }, () => t.request('/graphql', product())));
    const bodies = new Set<string>();
    for (const res of responses) {
      assert.equal(res.status, 200);
      bodies.add(await res.text());
    }
    assert.deepEqual([...bodies], [JSON.stringify({ data: { product: { id: '1', name: 'Lamp' } } })]);
    assert.equal(t.origin.graphqlCalls().length, 1);
  });

  for (const [what, reply, status] of [
    ['a response with errors', answer(LAMP, { errors: [{ message: 'partial' }] }), 200],
    ['a non-200 response', answer(LAMP, { status: 400 }), 400],
    ['Cache-Control: no-store', answer(LAMP, { cacheControl: 'no-store' }), 200],
    ['a response without max-age', answer(LAMP, { cacheControl: 'public' }), 200],
  ] as const) {
    it(`${what} is not stored`, async () => {
      const t = testEdge();
      t.origin.respond.east = () => reply;
      for (let i = 0; i < 2; i++) {
        const res = await t.request('/graphql', product());
        assert.equal(res.status, status);
        assert.equal(res.headers.get('cache-status'), `meridian-edge; fwd=uri-miss; fwd-status=${status}`);
        assert.equal(res.headers.get('etag'), null);
      }
      assert.equal(t.origin.graphqlCalls().length, 2);
    });
  }
});

describe('edge /graphql: cache scopes', () => {
  let key: TestKey;
  before(async () => {
    key = await makeKey();
  });
  const setup = () => testEdge({ origin: scriptedOrigin({ keys: [key] }) });
  const viewer = async (t: ReturnType<typeof setup>, token?: string) => {
    const res = await t.request('/graphql', postGraphQL(VIEWER, token ? { token } : {}));
    assert.equal(res.status, 200);
    return {
      status: res.headers.get('cache-status'),
      id: ((await json(res)).data as { viewer: { id: string } }).viewer.id,
    };
  };

  it('USER scope (Cache-Control: private): two users of one tenant never see each other’s entry', async () => {
    const t = setup();
    t.origin.respond.east = whoAsked({ cacheControl: 'private, max-age=60' });
    const alice = await signToken(key, 'alice', 'acme');
    const bob = await signToken(key, 'bob', 'acme');
    assert.deepEqual(await viewer(t, alice), { status: MISS_STORED, id: 'acme/alice' });
    assert.deepEqual(await viewer(t, bob), { status: MISS_STORED, id: 'acme/bob' });
    assert.deepEqual(await viewer(t, alice), { status: HIT, id: 'acme/alice' });
    assert.deepEqual(await viewer(t, bob), { status: HIT, id: 'acme/bob' });
    // Anonymous callers cannot be told apart: a USER answer is neither stored nor looked up for them.
    assert.deepEqual(await viewer(t), { status: MISS_NOT_STORED, id: '-/anonymous' });
    assert.equal(t.origin.graphqlCalls().length, 3);
  });

  it('TENANT scope (x-meridian-cache-scope: tenant) is shared within a tenant', async () => {
    const t = setup();
    t.origin.respond.east = whoAsked({ cacheControl: 'public, max-age=60', scope: 'tenant' });
    assert.deepEqual(await viewer(t, await signToken(key, 'alice', 'acme')), { status: MISS_STORED, id: 'acme/alice' });
    // Bob gets the tenant's entry (which names whoever filled it): the region said the answer is per tenant.
    assert.deepEqual(await viewer(t, await signToken(key, 'bob', 'acme')), { status: HIT, id: 'acme/alice' });
    assert.equal(t.origin.graphqlCalls().length, 1);
  });

  it('a TENANT answer reaches the client as private, so no shared cache in front of the edge stores it', async () => {
    const t = setup();
    t.origin.respond.east = whoAsked({ cacheControl: 'public, s-maxage=300, max-age=60', scope: 'tenant' });
    const token = await signToken(key, 'alice', 'acme');
    // s-maxage is for shared caches: the edge is one (it keeps the entry 300 s), the client is told max-age only.
    for (const expected of [/fwd=uri-miss; fwd-status=200; stored; ttl=300$/, /; hit; ttl=300$/]) {
      const res = await t.request('/graphql', postGraphQL(VIEWER, { token }));
      assert.match(res.headers.get('cache-status') ?? '', expected);
      assert.equal(res.headers.get('cache-control'), 'private, max-age=60');
    }
  });

  for (const [scope, cacheControl, scopeHeader] of [
    ['TENANT', 'public, max-age=60', 'tenant'],
    ['USER', 'private, max-age=60', undefined],
  ] as const) {
    it(`${scope} scope: the same user id in two tenants never shares an entry`, async () => {
      const t = setup();
      t.origin.respond.east = whoAsked({ cacheControl, ...(scopeHeader ? { scope: scopeHeader } : {}) });
      const inAcme = await signToken(key, 'u-1', 'acme');
      const inGlobex = await signToken(key, 'u-1', 'globex');
      assert.deepEqual(await viewer(t, inAcme), { status: MISS_STORED, id: 'acme/u-1' });
      assert.deepEqual(await viewer(t, inGlobex), { status: MISS_STORED, id: 'globex/u-1' });
      assert.deepEqual(await viewer(t, inAcme), { status: HIT, id: 'acme/u-1' });
      assert.deepEqual(await viewer(t, inGlobex), { status: HIT, id: 'globex/u-1' });
      assert.equal(t.origin.graphqlCalls().length, 2);
    });
  }
});

describe('edge /graphql: mutations', () => {
  const PLACE = 'mutation Place($sku: String!) { placeOrder(sku: $sku) { id } }';
  const placed: Reply = {
    headers: { 'cache-control': 'public, max-age=60' },
    body: { data: { placeOrder: { __typename: 'Order', id: 'o-1' } } },
  };

  it('go to the writer region only, whatever the hint, and are never cached', async () => {
    const t = testEdge({ env: { MERIDIAN_EDGE_WRITER_REGION: 'east', MERIDIAN_EDGE_NEAREST_REGION: 'west' } });
    t.origin.respond.east = () => placed;
    for (let i = 0; i < 2; i++) {
      const res = await t.request(
        '/graphql',
        postGraphQL(PLACE, { variables: { sku: 'lamp' }, headers: { 'x-meridian-region': 'west' } }),
      );
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('cache-status'), 'meridian-edge; fwd=method; fwd-status=200');
      assert.equal(res.headers.get('x-meridian-region'), 'east');
      assert.equal(res.headers.get('etag'), null);
      assert.deepEqual((await json(res)).data, { placeOrder: { id: 'o-1' } });
    }
    assert.equal(t.origin.graphqlCalls('east').length, 2);
    assert.equal(t.origin.graphqlCalls('west').length, 0);
  });

  it('a stale writer answering WRITER_MOVED: the edge adopts the newer lease and sends the write there, once', async () => {
    const t = testEdge();
    t.origin.respond.east = () => ({
      body: {
        data: null,
        errors: [
          {
            message: 'orders are written in region west (epoch 3)',
            extensions: { code: 'WRITER_MOVED', details: { writer: 'west', epoch: 3, aggregate: 'orders' } },
          },
        ],
      },
    });
    t.origin.respond.west = () => placed;
    const res = await t.request('/graphql', postGraphQL(PLACE, { variables: { sku: 'lamp' } }));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-meridian-region'), 'west');
    assert.deepEqual((await json(res)).data, { placeOrder: { id: 'o-1' } });
    assert.deepEqual([t.origin.graphqlCalls('east').length, t.origin.graphqlCalls('west').length], [1, 1]);
    // The next write goes to west at once; a WRITER_MOVED naming an older epoch teaches nothing.
    await t.request('/graphql', postGraphQL(PLACE, { variables: { sku: 'lamp' } }));
    assert.equal(t.origin.graphqlCalls('east').length, 1);
  });

  it('a mutation sent with GET is refused (405) before the origin', async () => {
    const t = testEdge();
    const [path, init] = getGraphQL(PLACE, { variables: { sku: 'lamp' } });
    const res = await t.request(path, init);
    assert.equal(res.status, 405);
    assert.equal((await json(res)).errors?.[0]?.extensions.code, 'METHOD_NOT_ALLOWED');
    assert.equal(t.origin.graphqlCalls().length, 0);
  });

  it('a writer failing mid-request is 502 UPSTREAM_FAILED and the write is not replayed in the other region', async () => {
    const t = testEdge();
    t.origin.respond.east = () => ({ status: 500, body: 'boom' });
    const res = await t.request('/graphql', postGraphQL(PLACE, { variables: { sku: 'lamp' } }));
    assert.equal(res.status, 502);
    assert.equal((await json(res)).errors?.[0]?.extensions.code, 'UPSTREAM_FAILED');
    assert.equal(t.origin.graphqlCalls('east').length, 1);
    assert.equal(t.origin.graphqlCalls('west').length, 0);
  });
});

describe('edge /graphql: bad input never reaches the origin', () => {
  const setup = () => testEdge({ env: { MERIDIAN_EDGE_MAX_DEPTH: '3', MERIDIAN_EDGE_MAX_COST: '50' } });
  const raw = (body: string) => ({
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body,
  });

  for (const [what, init, status, code] of [
    ['malformed JSON', raw('{"query": '), 400, 'BAD_REQUEST'],
    [
      'a body over maxBodyBytes',
      raw(JSON.stringify({ query: `{ a${' '.repeat(70_000)} }` })),
      413,
      'PAYLOAD_TOO_LARGE',
    ],
    ['a query too deep', postGraphQL('{ a { b { c { d } } } }'), 400, 'QUERY_TOO_DEEP'],
    ['a query too costly', postGraphQL('{ products(first: 100) { id name } }'), 400, 'QUERY_TOO_COSTLY'],
    [
      'a syntax error',
      {
        ...postGraphQL('{ a '),
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      },
      400,
      'GRAPHQL_PARSE_FAILED',
    ],
  ] as const) {
    it(`${what}: ${status} ${code}`, async () => {
      const t = setup();
      const res = await t.request('/graphql', init);
      assert.equal(res.status, status);
      assert.equal((await json(res)).errors?.[0]?.extensions.code, code);
      // Even a refused request spends from the rate limit, and says so.
      assert.ok(res.headers.get('ratelimit-policy'));
      assert.equal(t.origin.graphqlCalls().length, 0);
    });
  }
});

describe('edge /graphql: regressions', () => {
  let key: TestKey;
  before(async () => {
    key = await makeKey();
  });

  it('single-flight must not hand one user’s private answer to another caller joining under a wider learned scope', async () => {
    const t = testEdge({ origin: scriptedOrigin({ keys: [key] }) });
    // Public for anonymous callers, private (and personal) for signed-in ones: a dynamic cache hint.
    t.origin.respond.east = (call) => ({
      ...whoAsked({ cacheControl: call.headers.has('authorization') ? 'private, max-age=60' : 'public, max-age=60' })(
        call,
      ),
      delayMs: 20,
    });
    const anonymous = await t.request('/graphql', postGraphQL(VIEWER));
    assert.equal(anonymous.headers.get('cache-status'), MISS_STORED); // the edge now knows this operation as PUBLIC
    await t.clock.advance(120_000); // ... and its entry has expired

    const [aliceToken, bobToken] = [await signToken(key, 'alice', 'acme'), await signToken(key, 'bob', 'acme')];
    const [alice, bob] = await Promise.all([
      t.request('/graphql', postGraphQL(VIEWER, { token: aliceToken })),
      t.request('/graphql', postGraphQL(VIEWER, { token: bobToken })),
    ]);
    assert.deepEqual((await json(alice)).data, { viewer: { id: 'acme/alice' } });
    assert.deepEqual((await json(bob)).data, { viewer: { id: 'acme/bob' } });
    assert.equal(t.origin.graphqlCalls().length, 3);
  });

  it('an answer served from the cache must carry Age, or downstream caches count max-age again', async () => {
    const t = testEdge();
    t.origin.respond.east = () => answer(LAMP);
    const miss = await t.request('/graphql', product());
    assert.equal(miss.headers.get('age'), null); // straight from the origin
    await t.clock.advance(25_000);
    const hit = await t.request('/graphql', product());
    assert.equal(hit.headers.get('cache-status'), 'meridian-edge; hit; ttl=35');
    assert.equal(hit.headers.get('age'), '25');
    const etag = hit.headers.get('etag') as string;
    const notModified = await t.request('/graphql', product({ headers: { 'if-none-match': etag } }));
    assert.equal(notModified.status, 304);
    assert.equal(notModified.headers.get('age'), '25');
  });
});
