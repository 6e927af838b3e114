import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type CacheKeyInput, cacheKey, canonicalJson, etagOf } from './key.ts';

const base = { normalizedQuery: '{\n  products {\n    id\n  }\n}', operationName: null, variables: { first: 2 } };
const key = (overrides: Partial<CacheKeyInput>) => cacheKey({ ...base, scope: 'PUBLIC', ...overrides });

describe('cache keys', () => {
  test('are 64 hex chars and stable', async () => {
    const k = await key({});
    assert.match(k ?? '', /^[0-9a-f]{64}$/);
    assert.equal(await key({}), k);
  });

  test('PUBLIC: the same key whoever asks', async () => {
    const a = await key({ tenant: 't1', subject: 'u1' });
    const b = await key({ tenant: 't2', subject: 'u2' });
    const anonymous = await key({});
    assert.equal(a, b);
    assert.equal(a, anonymous);
  });

  test('TENANT: two tenants get different keys; users of one tenant share', async () => {
    const t1u1 = await key({ scope: 'TENANT', tenant: 't1', subject: 'u1' });
    const t1u2 = await key({ scope: 'TENANT', tenant: 't1', subject: 'u2' });
    const t2u1 = await key({ scope: 'TENANT', tenant: 't2', subject: 'u1' });
    assert.equal(t1u1, t1u2);
    assert.notEqual(t1u1, t2u1);
    assert.notEqual(t1u1, await key({ scope: 'PUBLIC', tenant: 't1' }));
  });

  test('USER: two users, and the same user id in two tenants, get different keys', async () => {
    const u1 = await key({ scope: 'USER', tenant: 't1', subject: 'u1' });
    const u2 = await key({ scope: 'USER', tenant: 't1', subject: 'u2' });
    const u1t2 = await key({ scope: 'USER', tenant: 't2', subject: 'u1' });
    assert.equal(new Set([u1, u2, u1t2]).size, 3);
    assert.notEqual(u1, await key({ scope: 'TENANT', tenant: 't1', subject: 'u1' }));
  });

  test('no key when the caller lacks the identity the scope needs', async () => {
    assert.equal(await key({ scope: 'TENANT' }), null);
    assert.equal(await key({ scope: 'USER', tenant: 't1' }), null);
    assert.equal(await key({ scope: 'USER', tenant: 't1', subject: '' }), null);
    assert.notEqual(await key({ scope: 'USER', subject: 'u1' }), null);
  });

  test('variable order does not matter; values, query and operation name do', async () => {
    const a = await key({ variables: { a: 1, b: { y: 2, x: [1, { q: 1, p: 2 }] } } });
    const b = await key({ variables: { b: { x: [1, { p: 2, q: 1 }], y: 2 }, a: 1 } });
    assert.equal(a, b);
    assert.notEqual(a, await key({ variables: { a: 2, b: { x: [1, { p: 2, q: 1 }], y: 2 } } }));
    assert.notEqual(await key({}), await key({ operationName: 'Products' }));
    assert.notEqual(await key({}), await key({ normalizedQuery: '{\n  products {\n    name\n  }\n}' }));
  });

  test('absent, null and empty variables are the same request', async () => {
    const empty = await key({ variables: {} });
    assert.equal(await key({ variables: null }), empty);
    assert.equal(await key({ variables: undefined }), empty);
  });
});

describe('canonicalJson', () => {
  test('sorts keys at every depth and keeps array order', () => {
    assert.equal(canonicalJson({ b: 1, a: [{ d: 1, c: 2 }, 3] }), '{"a":[{"c":2,"d":1},3],"b":1}');
  });
});

describe('etagOf', () => {
  test('is a strong, quoted validator, equal for equal bytes whether string or Uint8Array', async () => {
    const etag = await etagOf('{"data":{}}');
    assert.match(etag, /^"[0-9a-f]{32}"$/);
    assert.equal(await etagOf(new TextEncoder().encode('{"data":{}}')), etag);
    assert.notEqual(await etagOf('{"data":null}'), etag);
  });
});
