import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { isGraphQLPath } from './app.ts';
import {
  answer,
  eventually,
  getGraphQL,
  makeKey,
  OPS_TOKEN,
  PURGE_TOKEN,
  postGraphQL,
  scriptedOrigin,
  signToken,
  type TestEdge,
  type TestKey,
  testEdge,
} from './testing.ts';

const HELLO = '{ hello }';
const PRODUCT = 'query Product($id: ID!) { product(id: $id) { id name } }';
const PLACE = 'mutation Place($sku: String!) { placeOrder(sku: $sku) { id } }';

interface Body {
  data?: unknown;
  errors?: Array<{ message: string; extensions: { code: string } }>;
}
const json = async (res: Response) => (await res.json()) as Body;
const codeOf = async (res: Response) => (await json(res)).errors?.[0]?.extensions.code;
const hello = (headers: Record<string, string> = {}) => postGraphQL(HELLO, { headers });
const productOf = (id: string) => postGraphQL(PRODUCT, { variables: { id } });

/** Runs `fn` on a started edge (health checked once, purge streams open) and always stops it. */
async function started(t: TestEdge, fn: () => Promise<void>): Promise<void> {
  await t.start();
  try {
    await fn();
  } finally {
    await t.stop();
  }
}

/** The value of one sample in the Prometheus text of /metrics. */
async function metric(t: TestEdge, sample: string): Promise<number> {
  const text = await (await t.request('/metrics')).text();
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  assert.ok(line, `no sample ${sample} in /metrics`);
  return Number(line.slice(sample.length + 1));
}

describe('edge app: its own routes', () => {
  it('/health answers ok with each region’s routing status', async () => {
    const t = testEdge();
    const res = await t.request('/health');
    assert.equal(res.status, 200);
    const body = (await res.json()) as { status: string; regions: Record<string, { healthy: boolean }> };
    assert.equal(body.status, 'ok');
    assert.deepEqual(Object.keys(body.regions), ['east', 'west']);
    // Before the first health check the router is optimistic: both regions are routable.
    assert.equal(body.regions.east?.healthy, true);
    assert.equal(t.origin.calls.length, 0);
  });

  it('/metrics counts cache misses, hits and upstream requests', async () => {
    const t = testEdge();
    assert.equal(await metric(t, 'meridian_edge_cache_requests_total{result="hit"}'), 0);
    await t.request('/graphql', hello());
    await t.request('/graphql', hello());
    await t.request('/graphql', hello());
    const res = await t.request('/metrics');
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.equal(await metric(t, 'meridian_edge_cache_requests_total{result="miss"}'), 1);
    assert.equal(await metric(t, 'meridian_edge_cache_requests_total{result="hit"}'), 2);
    assert.equal(await metric(t, 'meridian_edge_upstream_requests_total{region="east"}'), 1);
    assert.equal(await metric(t, 'meridian_edge_upstream_requests_total{region="west"}'), 0);
    assert.equal(await metric(t, 'meridian_edge_requests_total{route="/graphql",status="200"}'), 3);
  });

  it('an unknown route is 404 problem+json', async () => {
    const t = testEdge();
    const res = await t.request('/nope');
    assert.equal(res.status, 404);
    assert.equal(res.headers.get('content-type'), 'application/problem+json');
    assert.deepEqual(await res.json(), { type: 'about:blank', title: 'Not Found', status: 404 });
  });

  it('/ops/* needs the ops token; with it, the writer can be moved and writes follow', async () => {
    const t = testEdge();
    const none = await t.request('/ops/regions');
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('content-type'), 'application/problem+json');
    assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="meridian-ops"');
    const wrong = await t.request('/ops/regions', { headers: { authorization: `Bearer ${PURGE_TOKEN}` } });
    assert.equal(wrong.status, 401);

    const ops = { authorization: `Bearer ${OPS_TOKEN}` };
    const regions = await t.request('/ops/regions', { headers: ops });
    assert.equal(regions.status, 200);
    assert.equal(((await regions.json()) as { writer: string }).writer, 'east');
    const moved = await t.request('/ops/writer', {
      method: 'PUT',
      headers: { ...ops, 'content-type': 'application/json' },
      body: '{"region":"west"}',
    });
    assert.equal(moved.status, 200);
    const res = await t.request('/graphql', postGraphQL(PLACE, { variables: { sku: 'lamp' } }));
    assert.equal(res.headers.get('x-meridian-region'), 'west');
    assert.equal(t.origin.graphqlCalls('west').length, 1);
    assert.equal(t.origin.graphqlCalls('east').length, 0);
  });

  it('/ops/* does not exist when no ops token is configured', async () => {
    const t = testEdge({ env: { MERIDIAN_EDGE_OPS_TOKEN: '' } });
    const res = await t.request('/ops/regions', { headers: { authorization: `Bearer ${OPS_TOKEN}` } });
    assert.equal(res.status, 404);
  });
});

describe('edge app: /graphql served directly by Edge.fetch', () => {
  /** Status, headers and body of an answer, to compare two answers whole. */
  const whole = async (res: Response) => ({
    status: res.status,
    headers: [...res.headers].sort(([a], [b]) => a.localeCompare(b)),
    body: await res.text(),
  });

  it('answers what the Hono app answers: misses, hits, GET and POST, bad requests, tokens', async () => {
    const key = await makeKey();
    // Slow refills, so the RateLimit headers of the two edges do not depend on when each request ran.
    const env: Record<string, string> = {};
    for (const policy of ['ANONYMOUS', 'CLIENT', 'TENANT']) {
      env[`MERIDIAN_EDGE_${policy}_LIMIT_CAPACITY`] = '1000';
      env[`MERIDIAN_EDGE_${policy}_LIMIT_REFILL_PER_SECOND`] = '1';
    }
    const direct = testEdge({ env, origin: scriptedOrigin({ keys: [key] }) });
    const viaApp = testEdge({ env, origin: scriptedOrigin({ keys: [key] }) });
    const token = await signToken(key, 'alice', 'acme');
    const [getPath, getInit] = getGraphQL(HELLO);
    const requests: Array<[string, RequestInit]> = [
      ['/graphql', hello()],
      ['/graphql', hello()],
      [getPath, getInit],
      [getPath, getInit],
      ['/graphql', productOf('p-1')],
      ['/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":' }],
      ['/graphql', postGraphQL(undefined)],
      ['/graphql', hello({ authorization: 'Bearer not-a-jwt' })],
      ['/graphql', postGraphQL(HELLO, { token })],
      ['/graphql', postGraphQL(HELLO, { token })],
    ];
    for (const [path, init] of requests) {
      const a = await whole(await direct.request(path, init));
      const b = await whole(await viaApp.edge.app.request(path, init));
      assert.deepEqual(a, b, `${init.method ?? 'GET'} ${path}`);
    }
    assert.equal(direct.origin.calls.length, viaApp.origin.calls.length);
  });

  it('a failure inside the route is the app’s 500 problem, logged and counted under /graphql', async () => {
    const boom = () => {
      throw new Error('boom in the route');
    };
    const t = testEdge({ deps: { clientIp: boom } });
    for (const res of [await t.request('/graphql', hello()), await t.edge.app.request('/graphql', hello())]) {
      assert.equal(res.status, 500);
      assert.equal(res.headers.get('content-type'), 'application/problem+json');
      assert.deepEqual(await res.json(), { type: 'about:blank', title: 'Internal Server Error', status: 500 });
    }
    assert.equal(t.logs.filter((l) => l.includes('boom in the route')).length, 2);
    assert.equal(await metric(t, 'meridian_edge_requests_total{route="/graphql",status="500"}'), 2);
  });

  it('other methods, and paths that only resemble /graphql, are the app’s to answer', async () => {
    const t = testEdge();
    assert.equal((await t.request('/graphql', { method: 'PUT', body: '{}' })).status, 404);
    assert.equal((await t.request('/graphql/', hello())).status, 404);
    assert.equal((await t.request('/graphqlx', hello())).status, 404);
    const escaped = await t.request('/%67raphql', hello());
    assert.equal(escaped.status, 200, 'Hono decodes the path: the same route answers');
    assert.deepEqual(await escaped.json(), { data: { hello: 'from east' } });
    const [path, init] = getGraphQL(HELLO);
    // HEAD is not GraphQL over HTTP's: the app hands it to the GET route, which refuses it.
    const head = await t.request(path, { ...init, method: 'HEAD' });
    assert.equal(head.status, 405);
    assert.equal((await t.edge.app.request(path, { ...init, method: 'HEAD' })).status, 405);
    assert.equal(await metric(t, 'meridian_edge_requests_total{route="/graphql",status="200"}'), 1);
  });

  it('isGraphQLPath: the exact path, with or without a query or fragment', () => {
    for (const url of [
      'http://h/graphql',
      'http://h:8080/graphql?query=x',
      'https://h/graphql#f',
      'http://h/graphql?',
    ]) {
      assert.equal(isGraphQLPath(url), true, url);
    }
    for (const url of [
      'http://h/graphql/',
      'http://h/graphqlx',
      'http://h/api/graphql',
      'http://h/',
      'http://h',
      'http://h/Graphql',
    ]) {
      assert.equal(isGraphQLPath(url), false, url);
    }
  });
});

describe('edge app: authentication', () => {
  let key: TestKey;
  let otherKey: TestKey;
  before(async () => {
    key = await makeKey('key-1');
    otherKey = await makeKey('key-1'); // same kid, another key: a forgery
  });
  const setup = () => testEdge({ origin: scriptedOrigin({ keys: [key] }) });

  it('a valid token reaches the region with the caller’s identity; client-sent identity headers never do', async () => {
    const t = setup();
    const token = await signToken(key, 'alice', 'acme');
    const res = await t.request(
      '/graphql',
      postGraphQL(HELLO, { token, headers: { 'x-meridian-tenant': 'globex', 'x-correlation-id': 'c-1' } }),
    );
    assert.equal(res.status, 200);
    const [call] = t.origin.graphqlCalls();
    assert.equal(call?.headers.get('authorization'), `Bearer ${token}`);
    assert.equal(call?.headers.get('x-meridian-tenant'), 'acme');
    assert.equal(call?.headers.get('x-meridian-subject'), 'alice');
    assert.equal(call?.headers.get('x-correlation-id'), 'c-1');

    await t.request('/graphql', postGraphQL('{ other }', { headers: { 'x-meridian-tenant': 'globex' } }));
    assert.equal(t.origin.graphqlCalls()[1]?.headers.get('x-meridian-tenant'), null);
  });

  const bad: Array<[string, () => Promise<string>, RegExp]> = [
    ['a malformed token', async () => 'not.a.jwt', /malformed token/],
    ['a forged token (right kid, wrong key)', () => signToken(otherKey, 'alice', 'acme'), /signature/],
    [
      'an expired token',
      () => signToken(key, 'alice', 'acme', { exp: Math.floor(Date.now() / 1000) - 600, iat: 0, nbf: 0 }),
      /expired/,
    ],
    ['a token for another audience', () => signToken(key, 'alice', 'acme', { aud: 'someone-else' }), /aud/],
  ];
  for (const [what, token, reason] of bad) {
    it(`${what} is 401 UNAUTHENTICATED with a WWW-Authenticate challenge, before the origin`, async () => {
      const t = setup();
      const res = await t.request('/graphql', postGraphQL(HELLO, { token: await token() }));
      assert.equal(res.status, 401);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer error="invalid_token", error_description="/);
      const body = await json(res);
      assert.equal(body.errors?.[0]?.extensions.code, 'UNAUTHENTICATED');
      assert.match(body.errors?.[0]?.message ?? '', reason);
      assert.equal(t.origin.graphqlCalls().length, 0);
    });
  }

  it('an unreachable JWKS is 503, not 401: the caller’s token is not at fault', async () => {
    const t = setup();
    t.origin.jwks.down = true;
    const res = await t.request('/graphql', postGraphQL(HELLO, { token: await signToken(key, 'alice', 'acme') }));
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('www-authenticate'), null);
    assert.equal(await codeOf(res), 'UNAVAILABLE');
    assert.equal(t.origin.calls.filter((c) => c.kind === 'jwks').length, 1);
    assert.equal(t.origin.graphqlCalls().length, 0);
  });
});

describe('edge app: rate limits', () => {
  it('past its budget a caller gets 429 RATE_LIMITED with Retry-After and RateLimit headers', async () => {
    const t = testEdge({
      env: { MERIDIAN_EDGE_ANONYMOUS_LIMIT_CAPACITY: '3', MERIDIAN_EDGE_ANONYMOUS_LIMIT_REFILL_PER_SECOND: '1' },
    });
    for (let left = 2; left >= 0; left--) {
      const ok = await t.request('/graphql', hello());
      assert.equal(ok.status, 200);
      assert.equal(ok.headers.get('ratelimit-policy'), '"anonymous";q=3;w=3');
      assert.match(ok.headers.get('ratelimit') ?? '', new RegExp(`^"anonymous";r=${left};t=\\d+$`));
    }
    const denied = await t.request('/graphql', hello());
    assert.equal(denied.status, 429);
    assert.equal(await codeOf(denied), 'RATE_LIMITED');
    assert.ok(Number(denied.headers.get('retry-after')) >= 1);
    assert.equal(denied.headers.get('ratelimit-policy'), '"anonymous";q=3;w=3');
    assert.match(denied.headers.get('ratelimit') ?? '', /^"anonymous";r=0;t=[1-9]\d*$/);
    assert.equal(await metric(t, 'meridian_edge_rate_limited_total{bucket="anonymous"}'), 1);

    // Another address has its own bucket; the cached answer did not cost the origin anything.
    const other = await t.request('/graphql', hello({ 'x-test-client-ip': '198.51.100.9' }));
    assert.equal(other.status, 200);
    assert.equal(t.origin.graphqlCalls().length, 1);
  });

  it('a costly query spends its estimated cost', async () => {
    const t = testEdge({
      env: { MERIDIAN_EDGE_ANONYMOUS_LIMIT_CAPACITY: '100', MERIDIAN_EDGE_ANONYMOUS_LIMIT_REFILL_PER_SECOND: '1' },
    });
    t.origin.respond.east = () => answer({ products: [] });
    const res = await t.request('/graphql', postGraphQL('{ products(first: 30) { id name } }')); // 1 + 30 × 2
    assert.equal(res.status, 200);
    assert.match(res.headers.get('ratelimit') ?? '', /^"anonymous";r=39;/);
  });
});

describe('edge app: region routing', () => {
  it('a hinted region that failed its health check is skipped: the other region serves and says so', async () => {
    const t = testEdge();
    t.origin.down.west = true;
    await started(t, async () => {
      const res = await t.request('/graphql', hello({ 'x-meridian-region': 'west' }));
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-meridian-region'), 'east');
      assert.deepEqual((await json(res)).data, { hello: 'from east' });
      assert.equal(t.origin.graphqlCalls('west').length, 0);
      const health = (await (await t.request('/health')).json()) as {
        regions: Record<string, { healthy: boolean; lastError: string | null }>;
      };
      assert.equal(health.regions.west?.healthy, false);
      assert.equal(health.regions.west?.lastError, 'HTTP 503');
      assert.equal(await metric(t, 'meridian_edge_failovers_total{from="west",to="east"}'), 1);
    });
  });

  it('with the nearest region down, reads go to the other one', async () => {
    const t = testEdge();
    t.origin.down.east = true;
    await started(t, async () => {
      const res = await t.request('/graphql', hello());
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-meridian-region'), 'west');
      assert.equal(t.origin.graphqlCalls('east').length, 0);
    });
  });

  it('a read that fails mid-request in one region is retried once in the other', async () => {
    const t = testEdge();
    t.origin.respond.east = () => ({ status: 503, body: 'overloaded' });
    const res = await t.request('/graphql', hello());
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-meridian-region'), 'west');
    assert.deepEqual((await json(res)).data, { hello: 'from west' });
    assert.equal(t.origin.graphqlCalls('east').length, 1);
    assert.equal(t.origin.graphqlCalls('west').length, 1);
  });

  it('a read that fails in both regions is 503 REGION_UNAVAILABLE after one try each', async () => {
    const t = testEdge();
    t.origin.respond.east = () => ({ refuse: true });
    t.origin.respond.west = () => ({ status: 500, body: 'boom' });
    const res = await t.request('/graphql', hello());
    assert.equal(res.status, 503);
    assert.equal(await codeOf(res), 'REGION_UNAVAILABLE');
    assert.equal(res.headers.get('cache-status'), 'meridian-edge; fwd=bypass');
    assert.equal(t.origin.graphqlCalls('east').length, 1);
    assert.equal(t.origin.graphqlCalls('west').length, 1);
  });

  it('with the writer region down a mutation is 503 WRITER_UNAVAILABLE and nothing is sent to the other region', async () => {
    const t = testEdge();
    t.origin.down.east = true;
    await started(t, async () => {
      const res = await t.request('/graphql', postGraphQL(PLACE, { variables: { sku: 'lamp' } }));
      assert.equal(res.status, 503);
      assert.equal(await codeOf(res), 'WRITER_UNAVAILABLE');
      assert.equal(t.origin.graphqlCalls().length, 0);
    });
  });
});

describe('edge app: purges', () => {
  const product = (id: string, name: string) => ({ product: { __typename: 'Product', id, name } });

  it('a purge from a hub drops the entries tagged with the entity; the next request misses', async () => {
    const t = testEdge();
    const names: Record<string, string> = { '1': 'Lamp', '2': 'Desk' };
    t.origin.respond.east = (call) => {
      const id = call.graphql?.variables.id as string;
      return answer(product(id, names[id] as string));
    };
    await started(t, async () => {
      await eventually(() => assert.ok(t.origin.openStreams('east') === 1 && t.origin.openStreams('west') === 1));
      const stream = t.origin.calls.find((c) => c.kind === 'stream');
      assert.equal(stream?.headers.get('authorization'), `Bearer ${PURGE_TOKEN}`);
      assert.match(stream?.url ?? '', /\/v1\/stream\?topics=edge\.purge$/);

      await t.request('/graphql', productOf('1'));
      await t.request('/graphql', productOf('2'));
      assert.match((await t.request('/graphql', productOf('1'))).headers.get('cache-status') ?? '', /; hit;/);

      names['1'] = 'Floor lamp';
      t.origin.purge('west', ['Product:1']); // a write in the other region purges this edge too
      await eventually(async () => assert.equal(await metric(t, 'meridian_edge_cache_purges_total{kind="hard"}'), 1));
      const after = await t.request('/graphql', productOf('1'));
      assert.match(after.headers.get('cache-status') ?? '', /fwd=uri-miss/);
      assert.deepEqual((await json(after)).data, { product: { id: '1', name: 'Floor lamp' } });
      // Only the tagged entry went.
      assert.match((await t.request('/graphql', productOf('2'))).headers.get('cache-status') ?? '', /; hit;/);
      assert.equal(t.origin.graphqlCalls().length, 3);
    });
  });

  /**
   * The origin makes its answer (the old name) when asked; the write and its purge land while the
   * answer travels back (150 ms), as when a region answers just before applying a change.
   */
  function writeDuringNextAnswer(t: TestEdge, soft: boolean) {
    let name = 'Lamp';
    let writeNow = true;
    t.origin.respond.east = (call) => {
      const reply = {
        ...answer(product(call.graphql?.variables.id as string, name), {
          cacheControl: 'public, max-age=60, stale-while-revalidate=30',
        }),
        delayMs: 150,
      };
      if (writeNow) {
        writeNow = false;
        name = 'Floor lamp';
        t.origin.purge('east', ['Product:1'], { soft });
      }
      return reply;
    };
  }

  it('an answer that raced a hard purge of its entity is served but not stored', async () => {
    const t = testEdge();
    writeDuringNextAnswer(t, false);
    await started(t, async () => {
      await eventually(() => assert.ok(t.origin.openStreams('east') === 1 && t.origin.openStreams('west') === 1));
      const first = await t.request('/graphql', productOf('1'));
      assert.deepEqual((await json(first)).data, { product: { id: '1', name: 'Lamp' } });
      assert.equal(first.headers.get('cache-status'), 'meridian-edge; fwd=uri-miss; fwd-status=200');
      assert.equal(first.headers.get('cache-control'), 'no-cache', 'nor kept by the client');
      const second = await t.request('/graphql', productOf('1'));
      assert.match(second.headers.get('cache-status') ?? '', /fwd=uri-miss.*stored; ttl=60/);
      assert.deepEqual((await json(second)).data, { product: { id: '1', name: 'Floor lamp' } });
      assert.match((await t.request('/graphql', productOf('1'))).headers.get('cache-status') ?? '', /; hit;/);
      assert.equal(t.origin.graphqlCalls().length, 2);
    });
  });

  it('an answer that raced a soft purge of its entity is stored already stale: the next reader refreshes it', async () => {
    const t = testEdge();
    writeDuringNextAnswer(t, true);
    await started(t, async () => {
      await eventually(() => assert.ok(t.origin.openStreams('east') === 1 && t.origin.openStreams('west') === 1));
      const first = await t.request('/graphql', productOf('1'));
      assert.deepEqual((await json(first)).data, { product: { id: '1', name: 'Lamp' } });
      assert.equal(first.headers.get('cache-status'), 'meridian-edge; fwd=uri-miss; fwd-status=200; stored; ttl=0');
      assert.equal(first.headers.get('cache-control'), 'no-cache');
      const second = await t.request('/graphql', productOf('1'));
      assert.match(second.headers.get('cache-status') ?? '', /detail=stale/);
      assert.deepEqual((await json(second)).data, { product: { id: '1', name: 'Lamp' } });
      await eventually(async () => {
        const res = await t.request('/graphql', productOf('1'));
        assert.match(res.headers.get('cache-status') ?? '', /; hit; ttl=/);
        assert.deepEqual((await json(res)).data, { product: { id: '1', name: 'Floor lamp' } });
      });
      assert.equal(t.origin.graphqlCalls().length, 2);
    });
  });

  it('the same user and product in two tenants: an answer that raced a purge stays its own tenant’s', async () => {
    const key = await makeKey('key-1');
    const t = testEdge({ origin: scriptedOrigin({ keys: [key] }) });
    const as = { acme: await signToken(key, 'alice', 'acme'), globex: await signToken(key, 'alice', 'globex') };
    let writeDuringGlobex = false;
    t.origin.respond.east = (call) => {
      const tenant = call.headers.get('x-meridian-tenant') as string;
      const reply = {
        ...answer(product('1', `${tenant} lamp`), {
          scope: 'TENANT',
          cacheControl: 'private, max-age=60, stale-while-revalidate=30',
        }),
        delayMs: 100,
      };
      if (tenant === 'globex' && writeDuringGlobex) {
        writeDuringGlobex = false;
        t.origin.purge('east', ['Product:1'], { soft: true });
      }
      return reply;
    };
    const read = async (tenant: 'acme' | 'globex') => {
      const res = await t.request('/graphql', postGraphQL(PRODUCT, { token: as[tenant], variables: { id: '1' } }));
      return { status: res.headers.get('cache-status') ?? '', data: (await json(res)).data };
    };
    const own = (tenant: string) => ({ product: { id: '1', name: `${tenant} lamp` } });
    await started(t, async () => {
      await eventually(() => assert.ok(t.origin.openStreams('east') === 1 && t.origin.openStreams('west') === 1));
      assert.deepEqual((await read('acme')).data, own('acme'));
      assert.match((await read('acme')).status, /; hit;/);
      writeDuringGlobex = true;
      const raced = await read('globex');
      assert.deepEqual(raced.data, own('globex'));
      assert.match(raced.status, /stored; ttl=0/);
      // Each tenant's entry (both made stale by the purge) answers with its own data only.
      for (const tenant of ['acme', 'globex', 'acme', 'globex'] as const) {
        assert.deepEqual((await read(tenant)).data, own(tenant), tenant);
      }
    });
  });

  it('a soft purge makes the entry stale: the next reader is served it while it is refreshed', async () => {
    const t = testEdge();
    let name = 'Lamp';
    t.origin.respond.east = () => answer(product('1', name));
    await started(t, async () => {
      await eventually(() => assert.equal(t.origin.openStreams('east'), 1));
      await t.request('/graphql', productOf('1'));
      name = 'Floor lamp';
      t.origin.purge('east', ['Product:1'], { soft: true });
      await eventually(async () => assert.equal(await metric(t, 'meridian_edge_cache_purges_total{kind="soft"}'), 1));
      const stale = await t.request('/graphql', productOf('1'));
      assert.match(stale.headers.get('cache-status') ?? '', /detail=stale/);
      assert.deepEqual((await json(stale)).data, { product: { id: '1', name: 'Lamp' } });
      await eventually(async () => {
        const res = await t.request('/graphql', productOf('1'));
        assert.deepEqual((await json(res)).data, { product: { id: '1', name: 'Floor lamp' } });
      });
    });
  });

  it('stop() closes the purge streams and start() opens them again', async () => {
    const t = testEdge();
    await started(t, async () => {
      await eventually(() => assert.ok(t.origin.openStreams('east') === 1 && t.origin.openStreams('west') === 1));
    });
    assert.equal(t.origin.openStreams('east') + t.origin.openStreams('west'), 0);
    await started(t, async () => {
      await eventually(() => assert.ok(t.origin.openStreams('east') === 1 && t.origin.openStreams('west') === 1));
    });
    assert.equal(t.origin.openStreams('east') + t.origin.openStreams('west'), 0);
  });
});

describe('edge app: regressions', () => {
  it('start() called twice must not leave a purge subscriber that stop() never closes', async () => {
    const t = testEdge();
    t.edge.start();
    await started(t, async () => {
      await eventually(() => assert.ok(t.origin.openStreams('east') >= 1 && t.origin.openStreams('west') >= 1));
      assert.equal(t.origin.openStreams('east'), 1);
      assert.equal(t.origin.openStreams('west'), 1);
    });
    assert.equal(t.origin.openStreams('east') + t.origin.openStreams('west'), 0);
  });
});
