import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sha256Hex } from '../cache/hash.ts';
import { createMemoryPersistedQueryStore } from './persisted-query-store.memory.ts';
import {
  createGraphQLRequestParser,
  errorResponse,
  type GraphQLRequestParserOptions,
  type GraphQLRequestResult,
} from './request.ts';

const ENDPOINT = 'http://edge.test/graphql';
const GQL = 'application/graphql-response+json';

/** A POST with a JSON body (objects are serialised, strings sent as they are). */
function post(body: unknown, headers: Record<string, string> = {}): Request {
  return new Request(ENDPOINT, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' || body instanceof Uint8Array ? (body as BodyInit) : JSON.stringify(body),
  });
}

/** A GET with search parameters (objects are JSON-encoded, as the spec requires). */
function get(params: Record<string, unknown>, headers: Record<string, string> = {}): Request {
  const url = new URL(ENDPOINT);
  for (const [name, value] of Object.entries(params)) {
    url.searchParams.append(name, typeof value === 'string' ? value : JSON.stringify(value));
  }
  return new Request(url, { headers });
}

function parser(options: GraphQLRequestParserOptions = {}) {
  return createGraphQLRequestParser({ persistedQueries: createMemoryPersistedQueryStore(), ...options });
}

function rejected(result: GraphQLRequestResult) {
  assert.equal(result.ok, false, 'expected a rejection');
  if (result.ok) throw new Error('unreachable');
  return { ...result, code: result.body.errors[0]?.extensions.code, message: result.body.errors[0]?.message };
}

function accepted(result: GraphQLRequestResult) {
  if (!result.ok) assert.fail(`rejected ${result.status}: ${JSON.stringify(result.body)}`);
  return result.request;
}

describe('request parsing: well-formed requests', () => {
  test('POST application/json', async () => {
    const r = accepted(
      await parser()(
        post({ query: 'query Q($id: ID!) { product(id: $id) { id } }', operationName: 'Q', variables: { id: '1' } }),
      ),
    );
    assert.equal(r.method, 'POST');
    assert.equal(r.operationName, 'Q');
    assert.deepEqual(r.variables, { id: '1' });
    assert.deepEqual(r.extensions, {});
    assert.equal(r.operationType, 'query');
    assert.equal(r.operation.name?.value, 'Q');
    assert.equal(r.document.kind, 'Document');
    assert.equal(r.mediaType, 'application/json');
    assert.equal(r.persistedQuery, null);
  });

  test('null operationName, variables and extensions are as if absent', async () => {
    const r = accepted(
      await parser()(post({ query: '{ __typename }', operationName: null, variables: null, extensions: null })),
    );
    assert.equal(r.operationName, null);
    assert.deepEqual(r.variables, {});
    assert.deepEqual(r.extensions, {});
  });

  test('GET with JSON-encoded variables and extensions; empty operationName is absent', async () => {
    const r = accepted(
      await parser()(
        get({
          query: 'query Type($name: String!) { __type(name: $name) { name } }',
          variables: { name: 'x' },
          operationName: '',
          extensions: { a: 1 },
        }),
      ),
    );
    assert.equal(r.method, 'GET');
    assert.deepEqual(r.variables, { name: 'x' });
    assert.deepEqual(r.extensions, { a: 1 });
    assert.equal(r.operationName, null);
  });

  test('UTF-8 bodies, with or without a charset', async () => {
    const query = '{ __type(name: "Run🏃Swim🏊") { name } }';
    accepted(await parser()(post({ query }, { 'content-type': 'application/json; charset=utf-8' })));
    accepted(await parser()(post(new TextEncoder().encode(JSON.stringify({ query })))));
  });

  test('mutations by POST; the response media type follows Accept', async () => {
    const r = accepted(
      await parser()(post({ query: 'mutation { placeOrder }' }, { accept: `${GQL}, application/json;q=0.9` })),
    );
    assert.equal(r.operationType, 'mutation');
    assert.equal(r.mediaType, GQL);
  });

  test('each distinct query text is parsed once', async () => {
    const parse = parser();
    const a = accepted(await parse(post({ query: '{ products { id } }' })));
    const b = accepted(await parse(get({ query: '{ products { id } }' })));
    assert.equal(a.document, b.document);
  });
});

describe('request parsing: rejections', () => {
  test('405 for other methods, with Allow', async () => {
    const r = rejected(await parser()(new Request(ENDPOINT, { method: 'PUT', body: '{}' })));
    assert.equal(r.status, 405);
    assert.equal(r.headers.allow, 'GET, POST');
    assert.equal(r.code, 'METHOD_NOT_ALLOWED');
  });

  test('405 for a mutation by GET (spec: MUST), also when chosen by operationName', async () => {
    const r = rejected(await parser()(get({ query: 'mutation { __typename }' }, { accept: GQL })));
    assert.equal(r.status, 405);
    assert.equal(r.headers.allow, 'POST');
    const named = rejected(await parser()(get({ query: 'query Q { a } mutation M { b }', operationName: 'M' })));
    assert.equal(named.status, 405);
    accepted(await parser()(get({ query: 'query Q { a } mutation M { b }', operationName: 'Q' })));
  });

  test('406 when Accept allows neither GraphQL media type', async () => {
    const r = rejected(await parser()(post({ query: '{ a }' }, { accept: 'text/html' })));
    assert.equal(r.status, 406);
    assert.equal(r.code, 'NOT_ACCEPTABLE');
  });

  test('415 for a POST without Content-Type, or not JSON, or not UTF-8', async () => {
    const noType = new Request(ENDPOINT, { method: 'POST', body: new TextEncoder().encode('{"query":"{ a }"}') });
    assert.equal(rejected(await parser()(noType)).status, 415);
    for (const type of ['text/plain', 'application/graphql', 'application/json; charset=latin1']) {
      const r = rejected(await parser()(post({ query: '{ a }' }, { 'content-type': type })));
      assert.equal(r.status, 415, type);
      assert.equal(r.code, 'UNSUPPORTED_MEDIA_TYPE');
    }
  });

  test('413 when Content-Length says the body is too large', async () => {
    const r = rejected(await parser({ maxBodyBytes: 100 })(post({ query: `{ a }${' '.repeat(200)}` })));
    assert.equal(r.status, 413);
    assert.equal(r.code, 'PAYLOAD_TOO_LARGE');
  });

  test('413 for a streamed body that grows past the limit, whatever it declared', async () => {
    const chunk = new TextEncoder().encode(' '.repeat(1024));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 300) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const request = new Request(ENDPOINT, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      duplex: 'half',
    } as RequestInit);
    assert.equal(rejected(await parser({ maxBodyBytes: 64 * 1024 })(request)).status, 413);
    assert.ok(sent < 100, `read ${sent} chunks after passing the limit`);
  });

  test('400 for malformed JSON, an empty body, a non-object body, invalid UTF-8', async () => {
    for (const body of [
      '{ "not a JSON',
      '',
      '   ',
      '[{"query":"{ a }"}]',
      '"{ a }"',
      new Uint8Array([0x7b, 0xff, 0x7d]),
    ]) {
      const r = rejected(await parser()(post(body)));
      assert.equal(r.status, 400, String(body));
      assert.equal(r.code, 'BAD_REQUEST');
    }
  });

  test('400 for a missing query, or parameters of the wrong type', async () => {
    const bodies: unknown[] = [
      { notquery: '{ a }' },
      { query: '' },
      ...[{ obj: 'ect' }, 0, false, ['array']].map((query) => ({ query })),
      ...[{ obj: 'ect' }, 0, false, ['array']].map((operationName) => ({ query: '{ a }', operationName })),
      ...['string', 0, false, ['array']].map((variables) => ({ query: '{ a }', variables })),
      ...['string', 0, false, ['array']].map((extensions) => ({ query: '{ a }', extensions })),
    ];
    for (const body of bodies) {
      const r = rejected(await parser()(post(body)));
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.code, 'BAD_REQUEST');
    }
  });

  test('400 for GET parameters that are not JSON, not objects, or repeated', async () => {
    const bad = [
      get({ query: '{ a }', variables: '{nope' }),
      get({ query: '{ a }', variables: '[1]' }),
      get({ query: '{ a }', extensions: '"x"' }),
      new Request(`${ENDPOINT}?query=${encodeURIComponent('{ a }')}&query=${encodeURIComponent('{ b }')}`),
      get({}),
    ];
    for (const request of bad) assert.equal(rejected(await parser()(request)).status, 400, request.url);
  });

  test('syntax error → GRAPHQL_PARSE_FAILED with locations: 400 as graphql-response+json, 200 as json', async () => {
    const strict = rejected(await parser()(post({ query: '{' }, { accept: GQL })));
    assert.equal(strict.status, 400);
    assert.equal(strict.code, 'GRAPHQL_PARSE_FAILED');
    assert.deepEqual(strict.body.errors[0]?.locations, [{ line: 1, column: 2 }]);
    assert.equal(strict.headers['content-type'], `${GQL}; charset=utf-8`);
    const legacy = rejected(await parser()(post({ query: '{' }, { accept: 'application/json' })));
    assert.equal(legacy.status, 200);
    assert.equal(legacy.code, 'GRAPHQL_PARSE_FAILED');
    assert.equal(legacy.headers['content-type'], 'application/json; charset=utf-8');
  });

  test('a document over the token limit fails to parse', async () => {
    const r = rejected(await parser({ maxTokens: 50 })(post({ query: `{ ${'a '.repeat(100)}}` }, { accept: GQL })));
    assert.equal(r.status, 400);
    assert.equal(r.code, 'GRAPHQL_PARSE_FAILED');
  });

  test('operation cannot be determined: several without a name, unknown name', async () => {
    const several = rejected(await parser()(post({ query: 'query A { a } query B { b }' }, { accept: GQL })));
    assert.equal(several.status, 400);
    assert.equal(several.code, 'OPERATION_RESOLUTION_FAILURE');
    const unknown = rejected(await parser()(post({ query: 'query A { a }', operationName: 'B' }, { accept: GQL })));
    assert.equal(unknown.status, 400);
    assert.match(unknown.message ?? '', /Unknown operation named "B"/);
    assert.equal(rejected(await parser()(post({ query: 'query A { a }', operationName: 'B' }))).status, 200);
  });

  test('errorResponse renders the rejection', async () => {
    const result = await parser()(post('{ "not a JSON', { accept: GQL }));
    assert.equal(result.ok, false);
    if (result.ok) return;
    const response = errorResponse(result);
    assert.equal(response.status, 400);
    assert.equal(response.headers.get('content-type'), `${GQL}; charset=utf-8`);
    const body = (await response.json()) as { errors: Array<{ extensions: { code: string } }> };
    assert.equal(body.errors[0]?.extensions.code, 'BAD_REQUEST');
  });
});

describe('request parsing: automatic persisted queries', () => {
  const query = 'query Products { products(first: 5) { id name } }';
  const apq = async (text: string) => ({ persistedQuery: { version: 1, sha256Hash: await sha256Hex(text) } });

  test('GET: unknown hash → PERSISTED_QUERY_NOT_FOUND; hash + query registers; then hash alone works', async () => {
    const parse = parser();
    const extensions = await apq(query);

    const unknown = rejected(await parse(get({ extensions })));
    assert.equal(unknown.code, 'PERSISTED_QUERY_NOT_FOUND');
    assert.equal(unknown.message, 'PersistedQueryNotFound');
    assert.equal(unknown.status, 200, 'Apollo answers 200 under application/json');
    assert.equal(unknown.headers['cache-control'], 'private, no-cache, must-revalidate');

    const registered = accepted(await parse(get({ query, extensions })));
    assert.deepEqual(registered.persistedQuery, { sha256Hash: extensions.persistedQuery.sha256Hash, registered: true });

    const hit = accepted(await parse(get({ extensions })));
    assert.equal(hit.query, query);
    assert.equal(hit.method, 'GET');
    assert.equal(hit.operationType, 'query');
    assert.deepEqual(hit.persistedQuery, { sha256Hash: extensions.persistedQuery.sha256Hash, registered: false });
  });

  test('POST flow works the same; not-found is 400 under graphql-response+json', async () => {
    const parse = parser();
    const extensions = await apq(query);
    assert.equal(rejected(await parse(post({ extensions }, { accept: GQL }))).status, 400);
    accepted(await parse(post({ query, extensions })));
    assert.equal(accepted(await parse(post({ extensions }))).query, query);
  });

  test('a hash that does not match the query → 400, nothing registered', async () => {
    const parse = parser();
    const extensions = await apq('{ somethingElse }');
    const r = rejected(await parse(post({ query, extensions })));
    assert.equal(r.status, 400);
    assert.equal(r.message, 'provided sha does not match query');
    assert.equal(rejected(await parse(post({ extensions }))).code, 'PERSISTED_QUERY_NOT_FOUND');
  });

  test('hash comparison ignores hex case', async () => {
    const extensions = await apq(query);
    extensions.persistedQuery.sha256Hash = extensions.persistedQuery.sha256Hash.toUpperCase();
    accepted(await parser()(post({ query, extensions })));
  });

  test('a query that does not parse is not registered', async () => {
    const parse = parser();
    const extensions = await apq('{ broken');
    assert.equal(rejected(await parse(post({ query: '{ broken', extensions }))).code, 'GRAPHQL_PARSE_FAILED');
    assert.equal(rejected(await parse(post({ extensions }))).code, 'PERSISTED_QUERY_NOT_FOUND');
  });

  test('400 for a malformed persistedQuery extension', async () => {
    const hash = await sha256Hex(query);
    for (const persistedQuery of [
      { version: 2, sha256Hash: hash },
      { version: 1 },
      { version: 1, sha256Hash: 'xyz' },
      'x',
    ]) {
      assert.equal(rejected(await parser()(post({ query, extensions: { persistedQuery } }))).status, 400);
    }
  });

  test('without a store: PERSISTED_QUERY_NOT_SUPPORTED', async () => {
    const r = rejected(await createGraphQLRequestParser()(post({ extensions: await apq(query) })));
    assert.equal(r.code, 'PERSISTED_QUERY_NOT_SUPPORTED');
  });

  test('a persisted mutation still cannot run by GET', async () => {
    const parse = parser();
    const mutation = 'mutation { placeOrder }';
    const extensions = await apq(mutation);
    accepted(await parse(post({ query: mutation, extensions })));
    assert.equal(rejected(await parse(get({ extensions }))).status, 405);
  });
});
