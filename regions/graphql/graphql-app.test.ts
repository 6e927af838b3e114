/**
 * The region gateway defends itself: a gateway over a small in-process subgraph (served on port 0)
 * refuses what the edge refuses — bodies over the limit, too deep and too costly operations —
 * before any subgraph request, and production mode hides the schema at gateway and subgraph.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { composeServices } from '@apollo/composition';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { serve } from '@hono/node-server';
import { getIntrospectionQuery, parse } from 'graphql';
import { estimateCost } from '../../edge/graphql/cost.ts';
import { GRAPHQL_LIMITS } from '../../edge/graphql/limits.ts';
import { createGraphQLRequestParser } from '../../edge/graphql/request.ts';
import { type GatewayOptions, gatewayApp, subgraphApp } from './graphql-app.ts';

const SDL = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Query {
    products(first: Int = 20): [Product!]!
    product(id: ID!): Product
    node(id: ID!): Node
    byStatus(status: Status!): [Product!]!
  }
  enum Status { ACTIVE RETIRED }
  interface Node { id: ID! }
  type Product implements Node @key(fields: "id") {
    id: ID!
    name: String!
    report: String!
    reviews(first: Int = 5): [Review!]!
  }
  type Review implements Node { id: ID! body: String! product: Product! }
`;

const product = (id: string) => ({ id, name: `Product ${id}`, report: `report of ${id}` });
const resolvers = {
  Query: {
    products: (_: unknown, args: { first: number }) => Array.from({ length: args.first }, (_, i) => product(`p${i}`)),
    product: (_: unknown, args: { id: string }) => product(args.id),
    node: (_: unknown, args: { id: string }) => ({ __typename: 'Product', ...product(args.id) }),
    byStatus: () => [],
  },
  Product: {
    reviews: (p: { id: string }, args: { first: number }) =>
      Array.from({ length: args.first }, (_, i) => ({ id: `${p.id}-r${i}`, body: 'fine', product: p })),
  },
};

const FIELD_COSTS = { 'Product.report': 500 };
const verify = async () => {
  throw new Error('these tests send no tokens');
};

interface Stack {
  readonly gateway: Awaited<ReturnType<typeof gatewayApp>>;
  readonly subgraph: Awaited<ReturnType<typeof subgraphApp>>;
  readonly subgraphUrl: string;
  readonly supergraph: string;
  /** Requests the subgraph has received over HTTP. */
  readonly requests: () => number;
  close(): Promise<void>;
}

/** A subgraph on port 0 that counts its requests, and a gateway composed over it. */
async function startStack(options: GatewayOptions = {}): Promise<Stack> {
  const production = options.production ?? false;
  const subgraph = await subgraphApp(buildSubgraphSchema([{ typeDefs: parse(SDL), resolvers }]), verify, {
    production,
  });
  let requests = 0;
  const server = await new Promise<Server>((resolve) => {
    const s = serve(
      {
        fetch: (req: Request) => {
          requests += 1;
          return subgraph.app.fetch(req);
        },
        port: 0,
        hostname: '127.0.0.1',
      },
      () => resolve(s as Server),
    );
  });
  const subgraphUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  const composed = composeServices([{ name: 'shop', url: subgraphUrl, typeDefs: parse(SDL) }]);
  if (composed.errors) throw new Error(composed.errors.map((e) => e.message).join('; '));
  const supergraph = composed.supergraphSdl;
  const gateway = await gatewayApp(supergraph, { shop: subgraphUrl }, verify, options);
  return {
    gateway,
    subgraph,
    subgraphUrl,
    supergraph,
    requests: () => requests,
    async close() {
      await gateway.stop();
      await subgraph.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface GraphQLBody {
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; extensions?: { code?: string; correlationId?: string } }>;
}

function postRequest(body: unknown): Request {
  return new Request('http://gateway.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function post(app: { request: (r: Request) => Response | Promise<Response> }, body: unknown) {
  const res = await app.request(postRequest(body));
  return { status: res.status, body: (await res.json()) as GraphQLBody };
}

const aliased = (n: number, field: string) => `{ ${Array.from({ length: n }, (_, i) => `a${i}:${field}`).join(' ')} }`;

/** `{ products(first: 1) { reviews(first: 1) { product { … { id } } } } }`, `depth` fields deep. */
function deepQuery(depth: number): string {
  let inner = 'id';
  for (let level = depth - 1; level >= 2; level--) {
    inner = `${level % 2 === 0 ? 'reviews(first: 1)' : 'product'} { ${inner} }`;
  }
  return `{ products(first: 1) { ${inner} } }`;
}

describe('the region gateway defends itself (development mode)', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ fieldCosts: FIELD_COSTS });
  });
  after(() => stack.close());

  test('a normal query passes and reaches the subgraph', async () => {
    const before = stack.requests();
    const { status, body } = await post(stack.gateway.app, { query: '{ products(first: 2) { id name } }' });
    assert.equal(status, 200);
    assert.deepEqual(body.data, {
      products: [
        { id: 'p0', name: 'Product p0' },
        { id: 'p1', name: 'Product p1' },
      ],
    });
    assert.equal(stack.requests(), before + 1);
  });

  test('2,000 aliased list fields: QUERY_TOO_COSTLY and no subgraph request', async () => {
    const before = stack.requests();
    // `products` pages 20 by default (the schema says so): 2,000 × (1 + 20 × 1). Without the schema
    // the edge would count each alias 2 and let the query pass; the gateway knows better.
    const { status, body } = await post(stack.gateway.app, { query: aliased(2000, 'products{id}') });
    assert.equal(status, 400);
    assert.equal(body.errors?.[0]?.extensions?.code, 'QUERY_TOO_COSTLY');
    assert.equal(body.errors?.[0]?.message, `Query cost ${2000 * 21} exceeds the limit of 5000.`);
    assert.equal(body.data, undefined);
    assert.equal(stack.requests(), before);
  });

  test('explicit page sizes: the same code and message as the edge for the same query', async () => {
    const before = stack.requests();
    const query = aliased(1000, 'products(first:100){id}');
    const { status, body } = await post(stack.gateway.app, { query });
    const edge = estimateCost(parse(query), null, GRAPHQL_LIMITS);
    assert.equal(status, 400);
    assert.equal(edge.code, 'QUERY_TOO_COSTLY');
    assert.equal(body.errors?.[0]?.extensions?.code, edge.code);
    assert.equal(body.errors?.[0]?.message, edge.reason);
    assert.equal(stack.requests(), before);
  });

  test('refused before validation: a costly query with a bad field gets the cost code, as at the edge', async () => {
    const { status, body } = await post(stack.gateway.app, {
      query: aliased(1000, 'products(first:100){id nope}'),
    });
    assert.equal(status, 400);
    assert.equal(body.errors?.[0]?.extensions?.code, 'QUERY_TOO_COSTLY');
  });

  test('depth 11: QUERY_TOO_DEEP; depth 10 runs', async () => {
    const before = stack.requests();
    const deep = await post(stack.gateway.app, { query: deepQuery(11) });
    assert.equal(deep.status, 400);
    assert.equal(deep.body.errors?.[0]?.extensions?.code, 'QUERY_TOO_DEEP');
    assert.equal(deep.body.errors?.[0]?.message, 'Query depth 11 exceeds the limit of 10.');
    assert.ok(deep.body.errors?.[0]?.extensions?.correlationId, 'refusals carry the correlation id');
    assert.equal(stack.requests(), before);
    const ok = await post(stack.gateway.app, { query: deepQuery(10) });
    assert.equal(ok.status, 200, JSON.stringify(ok.body.errors));
    assert.ok(stack.requests() > before);
  });

  test('a body over the limit: 413 PAYLOAD_TOO_LARGE, as the edge answers the same request', async () => {
    const oversized = { query: `{ products { id } }${' '.repeat(GRAPHQL_LIMITS.maxBodyBytes)}` };
    const before = stack.requests();
    const res = await stack.gateway.app.request(postRequest(oversized));
    const edge = await createGraphQLRequestParser()(postRequest(oversized));
    assert.equal(edge.ok, false);
    assert.equal(res.status, 413);
    assert.equal(res.status, edge.ok ? 0 : edge.status);
    const body = (await res.json()) as GraphQLBody;
    assert.equal(body.errors?.[0]?.extensions?.code, 'PAYLOAD_TOO_LARGE');
    assert.equal(body.errors?.[0]?.message, edge.ok ? '' : edge.body.errors[0]?.message);
    assert.equal(stack.requests(), before);
    // The subgraph has the same limit.
    const direct = await stack.subgraph.app.request(postRequest(oversized));
    assert.equal(direct.status, 413);
  });

  test('per-field costs change the verdict: a 500-cost field in a list of 20 exceeds 5000', async () => {
    const query = '{ products(first: 20) { report } }';
    const priced = await post(stack.gateway.app, { query });
    assert.equal(priced.status, 400);
    assert.equal(priced.body.errors?.[0]?.message, `Query cost ${1 + 20 * 500} exceeds the limit of 5000.`);
    const unpriced = await startStack();
    try {
      const before = unpriced.requests();
      const { status } = await post(unpriced.gateway.app, { query });
      assert.equal(status, 200);
      assert.equal(unpriced.requests(), before + 1);
    } finally {
      await unpriced.close();
    }
  });

  test('fragments and inline fragments are priced through their type', async () => {
    const spread = await post(stack.gateway.app, {
      query: '{ products(first: 10) { ...R } } fragment R on Product { report }',
    });
    assert.equal(spread.body.errors?.[0]?.message, `Query cost ${1 + 10 * 500} exceeds the limit of 5000.`);
    const inline = await post(stack.gateway.app, {
      query: '{ products(first: 10) { ... on Node { ... on Product { report } } } }',
    });
    assert.equal(inline.body.errors?.[0]?.message, `Query cost ${1 + 10 * 500} exceeds the limit of 5000.`);
    const before = stack.requests();
    const fits = await post(stack.gateway.app, { query: '{ products(first: 9) { ... on Product { report } } }' });
    assert.equal(fits.status, 200);
    assert.equal(stack.requests(), before + 1);
  });

  test('an APQ hash sent without its query is measured too, with its variables', async () => {
    const query = 'query Q($n: Int) { products(first: $n) { report } }';
    const extensions = { persistedQuery: { version: 1, sha256Hash: createHash('sha256').update(query).digest('hex') } };
    const registered = await post(stack.gateway.app, { query, variables: { n: 1 }, extensions });
    assert.equal(registered.status, 200, JSON.stringify(registered.body.errors));
    const before = stack.requests();
    const hashOnly = await post(stack.gateway.app, { variables: { n: 20 }, extensions });
    assert.equal(hashOnly.status, 400);
    assert.equal(hashOnly.body.errors?.[0]?.extensions?.code, 'QUERY_TOO_COSTLY');
    assert.equal(stack.requests(), before);
  });

  test('introspection works in development, the full query included (depth 15)', async () => {
    const { status, body } = await post(stack.gateway.app, { query: getIntrospectionQuery() });
    assert.equal(status, 200, JSON.stringify(body.errors));
    const schema = body.data?.__schema as { types?: unknown[] } | undefined;
    assert.ok((schema?.types?.length ?? 0) > 0);
    const subgraph = await post(stack.subgraph.app, { query: '{ __schema { queryType { name } } _service { sdl } }' });
    assert.equal(subgraph.status, 200);
  });

  test('introspection recursion is bounded by validation, not by the depth exemption', async () => {
    const { status, body } = await post(stack.gateway.app, {
      query: '{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }',
    });
    assert.equal(status, 400);
    assert.match(body.errors?.[0]?.message ?? '', /Maximum introspection depth exceeded/);
  });

  test('development keeps field suggestions', async () => {
    const { body } = await post(stack.gateway.app, { query: '{ products { nme } }' });
    assert.match(body.errors?.[0]?.message ?? '', /Did you mean "name"\?/);
  });

  test('a cost table naming a field the supergraph lacks is refused at start', async () => {
    await assert.rejects(
      gatewayApp(stack.supergraph, { shop: stack.subgraphUrl }, verify, { fieldCosts: { 'Product.reprot': 500 } }),
      /Product\.reprot: no such field/,
    );
    await assert.rejects(
      gatewayApp(stack.supergraph, { shop: stack.subgraphUrl }, verify, { limits: { maxCost: 0 } }),
      /maxCost: 0 must be an integer >= 1/,
    );
  });
});

describe('production mode: no introspection, no suggestions (gateway and subgraph)', () => {
  let prod: Stack;
  before(async () => {
    prod = await startStack({ fieldCosts: FIELD_COSTS, production: true });
  });
  after(() => prod.close());

  test('queries still run', async () => {
    const { status, body } = await post(prod.gateway.app, { query: '{ products(first: 1) { id } }' });
    assert.equal(status, 200);
    assert.deepEqual(body.data, { products: [{ id: 'p0' }] });
  });

  test('introspection is refused at the gateway and at the subgraph', async () => {
    for (const app of [prod.gateway.app, prod.subgraph.app]) {
      for (const query of [getIntrospectionQuery(), '{ __type(name: "Product") { name } }']) {
        const { status, body } = await post(app, { query });
        assert.equal(status, 400);
        assert.equal(body.data, undefined);
        assert.equal(body.errors?.[0]?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED');
        assert.match(body.errors?.[0]?.message ?? '', /introspection is not allowed/);
      }
    }
    // __typename is not introspection.
    assert.equal((await post(prod.gateway.app, { query: '{ __typename }' })).status, 200);
  });

  test('the subgraph does not hand out its SDL through _service', async () => {
    const { status, body } = await post(prod.subgraph.app, { query: '{ _service { sdl } }' });
    assert.equal(status, 400);
    assert.equal(body.errors?.[0]?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED');
    assert.ok(!JSON.stringify(body).includes('Product'));
  });

  test('a misspelled field gets an error without suggestions', async () => {
    const gateway = await post(prod.gateway.app, { query: '{ products { nme } }' });
    assert.equal(gateway.body.errors?.[0]?.message, 'Cannot query field "nme" on type "Product".');
    const subgraph = await post(prod.subgraph.app, { query: '{ prodcts { id } }' });
    assert.equal(subgraph.body.errors?.[0]?.message, 'Cannot query field "prodcts" on type "Query".');
  });

  test('a misspelled enum value in variables gets no suggestion either', async () => {
    const request = { query: 'query Q($s: Status!) { byStatus(status: $s) { id } }', variables: { s: 'ACTIV' } };
    const dev = await startStack();
    try {
      const { body } = await post(dev.gateway.app, request);
      assert.match(body.errors?.[0]?.message ?? '', /Did you mean/, 'development suggests');
    } finally {
      await dev.close();
    }
    const { body } = await post(prod.gateway.app, request);
    assert.ok(body.errors?.[0]?.message);
    assert.doesNotMatch(body.errors?.[0]?.message ?? '', /Did you mean|ACTIVE/);
  });
});
