/**
 * The gateway's subgraph source: identical in-flight query fetches are merged, and only those —
 * never two callers' credentials, never a mutation's fetches, never other variables — and it
 * answers as Apollo's RemoteGraphQLDataSource would (errors, cache policy). The unit tests give it
 * a scripted `post`; the last ones run a real gateway over a real subgraph on port 0.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { composeServices } from '@apollo/composition';
import type { GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { serve } from '@hono/node-server';
import { GraphQLError, parse } from 'graphql';
import type { Actor } from '../../domains/shared/actor.ts';
import { gatewayApp, subgraphApp } from './graphql-app.ts';
import { type PostJson, type SubgraphAnswer, SubgraphSource } from './subgraph-source.ts';

interface Ctx {
  readonly who: string | undefined;
  readonly key?: string;
  seen?: string | null;
}

/** A scripted subgraph: answers after `release()`, records every post. */
function scripted(answer: (body: string) => Partial<SubgraphAnswer> = () => ({})) {
  const posts: Array<{ headers: Record<string, string>; body: string }> = [];
  let release: () => void = () => {};
  let gate = Promise.resolve();
  const post: PostJson = async (_url, headers, body) => {
    posts.push({ headers, body });
    await gate;
    return {
      status: 200,
      statusText: 'OK',
      headers: { 'content-type': 'application/json', 'cache-control': 'public, max-age=30' },
      text: JSON.stringify({ data: { products: [{ id: 'p1', name: 'Lamp' }] } }),
      ...answer(body),
    };
  };
  return {
    posts,
    post,
    hold() {
      gate = new Promise((resolve) => {
        release = resolve;
      });
    },
    release: () => release(),
  };
}

function source(post: PostJson) {
  return new SubgraphSource<Ctx>({
    url: 'http://commerce.test/graphql',
    post,
    forward: (ctx) => ({
      ...(ctx.who ? { authorization: `Bearer ${ctx.who}` } : {}),
      ...(ctx.key ? { 'idempotency-key': ctx.key } : {}),
    }),
    observe: (headers, ctx) => {
      ctx.seen = headers.get('cache-control');
    },
  });
}

const restricts: unknown[] = [];
/** What the gateway passes for a fetch of an incoming operation. */
function fetchOf(
  ctx: Ctx,
  opts: { operation?: 'query' | 'mutation'; query?: string; variables?: Record<string, unknown> } = {},
): GraphQLDataSourceProcessOptions {
  return {
    kind: 'incoming operation',
    request: { query: opts.query ?? '{ products { id name } }', variables: opts.variables ?? {} },
    incomingRequestContext: {
      operation: { operation: opts.operation ?? 'query' },
      overallCachePolicy: { restrict: (hint: unknown) => restricts.push(hint) },
    },
    context: ctx,
  } as unknown as GraphQLDataSourceProcessOptions;
}

describe('subgraph source: merging identical in-flight fetches', () => {
  test('identical concurrent query fetches of one caller are sent once; each caller gets its own copy', async () => {
    const s = scripted();
    const src = source(s.post);
    s.hold();
    const pending = Array.from({ length: 5 }, () => src.process(fetchOf({ who: 'alice' })));
    s.release();
    const answers = await Promise.all(pending);
    assert.equal(s.posts.length, 1);
    assert.deepEqual(src.stats, { sent: 1, merged: 4 });
    for (const a of answers) assert.deepEqual(a.data, { products: [{ id: 'p1', name: 'Lamp' }] });
    const names = answers.map((a) => (a.data as { products: Array<{ name: string }> }).products);
    const [first] = names[0] ?? [];
    if (first) first.name = 'changed by the gateway';
    assert.equal(names[1]?.[0]?.name, 'Lamp');
  });

  test('anonymous callers are merged with each other', async () => {
    const s = scripted();
    const src = source(s.post);
    s.hold();
    const pending = [src.process(fetchOf({ who: undefined })), src.process(fetchOf({ who: undefined }))];
    s.release();
    await Promise.all(pending);
    assert.equal(s.posts.length, 1);
  });

  test('two callers’ credentials are never merged, nor other variables, idempotency keys or a mutation', async () => {
    const s = scripted();
    const src = source(s.post);
    s.hold();
    const pending = [
      src.process(fetchOf({ who: 'alice' })),
      src.process(fetchOf({ who: 'bob' })),
      // The same subject in another tenant has another token.
      src.process(fetchOf({ who: 'alice-in-globex' })),
      src.process(fetchOf({ who: undefined })),
      src.process(fetchOf({ who: 'alice' }, { variables: { first: 2 } })),
      src.process(fetchOf({ who: 'alice', key: 'k-1' })),
      src.process(fetchOf({ who: 'alice', key: 'k-2' })),
      src.process(fetchOf({ who: 'alice' }, { operation: 'mutation', query: 'mutation { placeOrder { id } }' })),
      src.process(fetchOf({ who: 'alice' }, { operation: 'mutation', query: 'mutation { placeOrder { id } }' })),
      // The read that follows a mutation (an entity fetch) belongs to the mutation: never merged.
      src.process(fetchOf({ who: 'alice' }, { operation: 'mutation' })),
    ];
    s.release();
    await Promise.all(pending);
    assert.equal(s.posts.length, 10);
    assert.equal(src.stats.merged, 0);
    const authorizations = s.posts.map((p) => p.headers.authorization ?? null);
    assert.deepEqual(authorizations.slice(0, 4), ['Bearer alice', 'Bearer bob', 'Bearer alice-in-globex', null]);
  });

  test('fetches one after another are each sent: only in-flight ones are merged', async () => {
    const s = scripted();
    const src = source(s.post);
    await src.process(fetchOf({ who: 'alice' }));
    await src.process(fetchOf({ who: 'alice' }));
    assert.equal(s.posts.length, 2);
  });

  test('each merged caller learns the answer’s headers and restricts its own cache policy', async () => {
    const s = scripted();
    const src = source(s.post);
    s.hold();
    const ctxs: Ctx[] = [{ who: 'alice' }, { who: 'alice' }];
    restricts.length = 0;
    const pending = ctxs.map((c) => src.process(fetchOf(c)));
    s.release();
    await Promise.all(pending);
    assert.deepEqual(
      ctxs.map((c) => c.seen),
      ['public, max-age=30', 'public, max-age=30'],
    );
    assert.deepEqual(restricts, [
      { maxAge: 30, scope: 'PUBLIC' },
      { maxAge: 30, scope: 'PUBLIC' },
    ]);
  });
});

describe('subgraph source: answers as RemoteGraphQLDataSource does', () => {
  test('the body sent is the request without its http part', async () => {
    const s = scripted();
    await source(s.post).process(fetchOf({ who: undefined }, { variables: { first: 3 } }));
    assert.deepEqual(JSON.parse(s.posts[0]?.body ?? ''), {
      query: '{ products { id name } }',
      variables: { first: 3 },
    });
    assert.equal(s.posts[0]?.headers['content-type'], 'application/json');
  });

  for (const [status, statusText, code] of [
    [401, 'Unauthorized', 'UNAUTHENTICATED'],
    [403, 'Forbidden', 'FORBIDDEN'],
    [500, 'Internal Server Error', undefined],
  ] as const) {
    test(`HTTP ${status} is the GraphQL error "${status}: ${statusText}"${code ? ` with code ${code}` : ''}`, async () => {
      const s = scripted(() => ({ status, statusText, text: '{"errors":[{"message":"no"}]}' }));
      const err = await source(s.post)
        .process(fetchOf({ who: 'alice' }))
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      assert.ok(err instanceof GraphQLError);
      assert.equal(err.message, `${status}: ${statusText}`);
      assert.equal(err.extensions.code, code);
      assert.deepEqual((err.extensions.response as { body: unknown }).body, { errors: [{ message: 'no' }] });
    });
  }

  test('a body that is not a JSON object is an error naming it', async () => {
    const s = scripted(() => ({ headers: { 'content-type': 'text/plain' }, text: 'oops' }));
    await assert.rejects(
      source(s.post).process(fetchOf({ who: 'alice' })),
      /Expected JSON response body, but received: oops/,
    );
  });
});

describe('subgraph source: through a real gateway', () => {
  const SDL = `
    extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
    type Query { slow: String! me: String! }
  `;

  async function stack() {
    let requests = 0;
    const schema = buildSubgraphSchema([
      {
        typeDefs: parse(SDL),
        resolvers: {
          Query: {
            slow: async () => {
              await new Promise((r) => setTimeout(r, 100));
              return 'done';
            },
            me: (_: unknown, __: unknown, ctx: { actor?: Actor }) => `${ctx.actor?.tenant}/${ctx.actor?.subject}`,
          },
        },
      },
    ]);
    // Tokens are `tenant/subject` for these tests: enough to tell callers apart.
    const verify = async (authorization: string): Promise<Actor> => {
      const [tenant = '', subject = ''] = authorization.replace(/^Bearer /, '').split('/');
      return { tenant, subject, scopes: [] };
    };
    const subgraph = await subgraphApp(schema, verify);
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
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
    const composed = composeServices([{ name: 'commerce', typeDefs: parse(SDL), url }]);
    if (!composed.supergraphSdl) throw new Error(`composition failed: ${composed.errors?.join('; ')}`);
    const gateway = await gatewayApp(composed.supergraphSdl, { commerce: url }, verify);
    const ask = async (query: string, token?: string) => {
      const res = await gateway.app.request('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query }),
      });
      return (await res.json()) as { data?: Record<string, string> };
    };
    return {
      ask,
      requests: () => requests,
      async close() {
        await gateway.stop();
        await subgraph.stop();
        await new Promise((r) => server.close(r));
      },
    };
  }

  test('twenty identical concurrent queries reach the subgraph once', async () => {
    const s = await stack();
    try {
      const answers = await Promise.all(Array.from({ length: 20 }, () => s.ask('{ slow }')));
      for (const a of answers) assert.deepEqual(a.data, { slow: 'done' });
      assert.equal(s.requests(), 1);
    } finally {
      await s.close();
    }
  });

  test('the same subject in two tenants, and two users, each get their own answer at the same time', async () => {
    const s = await stack();
    try {
      const tokens = ['acme/u-1', 'globex/u-1', 'acme/u-2', 'acme/u-1'];
      const answers = await Promise.all(tokens.map((t) => s.ask('{ me slow }', t)));
      assert.deepEqual(
        answers.map((a) => a.data?.me),
        tokens,
      );
      assert.equal(s.requests(), 3, 'only the two identical acme/u-1 requests were merged');
    } finally {
      await s.close();
    }
  });
});
