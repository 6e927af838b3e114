import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import { cachePolicy, clientCacheControl, parseCacheControl } from './policy.ts';

describe('cachePolicy', () => {
  test('Apollo public hint: PUBLIC, max-age, default SWR of 10%', () => {
    assert.deepEqual(cachePolicy('max-age=60, public'), {
      cacheable: true,
      scope: 'PUBLIC',
      maxAgeMs: 60_000,
      swrMs: 6_000,
    });
  });

  test('Apollo private hint: USER', () => {
    assert.deepEqual(cachePolicy('max-age=30, private'), {
      cacheable: true,
      scope: 'USER',
      maxAgeMs: 30_000,
      swrMs: 3_000,
    });
  });

  test('the scope header narrows a public response, and widens a private one to the tenant only', () => {
    assert.equal(cachePolicy('max-age=60, public', { scopeHeader: 'tenant' }).scope, 'TENANT');
    assert.equal(cachePolicy('max-age=60, public', { scopeHeader: 'TENANT' }).scope, 'TENANT');
    assert.equal(cachePolicy('max-age=60, private', { scopeHeader: 'tenant' }).scope, 'TENANT');
    assert.equal(cachePolicy('max-age=60, private', { scopeHeader: 'user' }).scope, 'USER');
    assert.equal(cachePolicy('max-age=60, private', { scopeHeader: 'public' }).scope, 'USER');
    assert.equal(cachePolicy('max-age=60, public', { scopeHeader: 'nonsense' }).scope, 'USER');
    assert.equal(cachePolicy('max-age=60, public', { scopeHeader: null }).scope, 'PUBLIC');
  });

  test('no scope named → USER (too narrow costs hit rate, too wide leaks)', () => {
    assert.equal(cachePolicy('max-age=60').scope, 'USER');
    assert.equal(cachePolicy('max-age=60, public, private').scope, 'USER');
  });

  test('not cacheable: no-store, no-cache, max-age=0, no max-age, malformed, absent', () => {
    for (const header of [
      'no-store',
      'max-age=60, no-store',
      'no-cache, max-age=60',
      'max-age=0, public',
      'public',
      'max-age=abc, public',
      'max-age=-1',
      '',
      null,
      undefined,
    ]) {
      assert.equal(cachePolicy(header).cacheable, false, String(header));
    }
  });

  test('stale-while-revalidate from the header; must-revalidate forbids stale', () => {
    assert.equal(cachePolicy('max-age=60, public, stale-while-revalidate=30').swrMs, 30_000);
    assert.equal(cachePolicy('max-age=60, public, stale-while-revalidate=0').swrMs, 0);
    assert.equal(cachePolicy('max-age=60, public, stale-while-revalidate=30, must-revalidate').swrMs, 0);
  });

  test('s-maxage wins over max-age; the first of repeated directives counts', () => {
    assert.equal(cachePolicy('max-age=60, s-maxage=10, public').maxAgeMs, 10_000);
    assert.equal(cachePolicy('max-age=60, max-age=5, public').maxAgeMs, 60_000);
  });

  test('case and spacing do not matter', () => {
    assert.deepEqual(cachePolicy('  Max-Age=60 ,PUBLIC'), {
      cacheable: true,
      scope: 'PUBLIC',
      maxAgeMs: 60_000,
      swrMs: 6_000,
    });
  });
});

describe('parseCacheControl', () => {
  test('reads quoted values containing commas and empty list members', () => {
    const d = parseCacheControl('private="set-cookie, x-a", , max-age=5,no-transform');
    assert.equal(d.get('private'), 'set-cookie, x-a');
    assert.equal(d.get('max-age'), '5');
    assert.equal(d.get('no-transform'), true);
  });
});

describe('clientCacheControl', () => {
  it('keeps a PUBLIC answer as the origin said', () => {
    assert.equal(clientCacheControl('max-age=60, public', 'PUBLIC'), 'max-age=60, public');
  });

  it('makes TENANT and USER answers private, dropping public and s-maxage', () => {
    assert.equal(clientCacheControl('max-age=30, public', 'TENANT'), 'private, max-age=30');
    assert.equal(clientCacheControl('public, s-maxage=600, max-age=30', 'USER'), 'private, max-age=30');
    assert.equal(clientCacheControl('max-age=30, private', 'USER'), 'private, max-age=30');
    assert.equal(clientCacheControl('', 'TENANT'), 'private');
  });
});
