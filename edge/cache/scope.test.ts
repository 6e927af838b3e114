import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { narrowestScope, parseScope } from './scope.ts';
import { createScopeIndex } from './scope-index.ts';

describe('scopes', () => {
  test('the narrower scope wins', () => {
    assert.equal(narrowestScope('PUBLIC', 'TENANT'), 'TENANT');
    assert.equal(narrowestScope('USER', 'TENANT'), 'USER');
    assert.equal(narrowestScope('PUBLIC', 'PUBLIC'), 'PUBLIC');
  });

  test('parses names case-insensitively', () => {
    assert.equal(parseScope(' tenant '), 'TENANT');
    assert.equal(parseScope('other'), undefined);
  });
});

describe('scope index', () => {
  test('learns and forgets the scope of an operation', () => {
    const index = createScopeIndex();
    assert.equal(index.get('op'), undefined);
    index.set('op', 'TENANT');
    assert.equal(index.get('op'), 'TENANT');
    index.set('op', 'USER');
    assert.equal(index.get('op'), 'USER');
    index.delete('op');
    assert.equal(index.get('op'), undefined);
  });

  test('stays within its byte budget', () => {
    const index = createScopeIndex({ maxBytes: 10_000 });
    for (let i = 0; i < 10_000; i++) index.set(`${i}`.padStart(64, '0'), 'PUBLIC');
    assert.equal(index.get('9999'.padStart(64, '0')), 'PUBLIC');
    assert.equal(index.get('0'.padStart(64, '0')), undefined);
  });
});
