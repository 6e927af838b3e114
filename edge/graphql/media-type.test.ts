import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isJsonRequest, negotiateMediaType } from './media-type.ts';

const GQL = 'application/graphql-response+json';
const JSON_TYPE = 'application/json';

describe('negotiateMediaType', () => {
  test('missing or empty Accept → application/json (legacy default)', () => {
    assert.equal(negotiateMediaType(null), JSON_TYPE);
    assert.equal(negotiateMediaType(''), JSON_TYPE);
  });

  test('exact types', () => {
    assert.equal(negotiateMediaType(GQL), GQL);
    assert.equal(negotiateMediaType(JSON_TYPE), JSON_TYPE);
    assert.equal(negotiateMediaType(`${GQL}; charset=utf-8`), GQL);
  });

  test('q values decide; equal q goes to the type listed first', () => {
    assert.equal(negotiateMediaType(`${GQL}, ${JSON_TYPE};q=0.9`), GQL);
    assert.equal(negotiateMediaType(`${GQL};q=0.5, ${JSON_TYPE}`), JSON_TYPE);
    assert.equal(negotiateMediaType(`${JSON_TYPE}, ${GQL}`), JSON_TYPE);
    assert.equal(negotiateMediaType(`${GQL}, ${JSON_TYPE}`), GQL);
  });

  test('wildcards: */* and application/* → application/json; a named type beats a wildcard', () => {
    assert.equal(negotiateMediaType('*/*'), JSON_TYPE);
    assert.equal(negotiateMediaType('application/*'), JSON_TYPE);
    assert.equal(negotiateMediaType(`*/*, ${GQL}`), GQL);
    assert.equal(negotiateMediaType('text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'), JSON_TYPE);
  });

  test('nothing acceptable → null (406)', () => {
    assert.equal(negotiateMediaType('text/html'), null);
    assert.equal(negotiateMediaType(`${JSON_TYPE};q=0`), null);
    assert.equal(negotiateMediaType(`${JSON_TYPE}; charset=latin1`), null);
  });
});

describe('isJsonRequest', () => {
  test('application/json in UTF-8 or without charset', () => {
    assert.equal(isJsonRequest('application/json'), true);
    assert.equal(isJsonRequest('Application/JSON; charset=UTF-8'), true);
    assert.equal(isJsonRequest('application/json; charset=utf8'), true);
  });

  test('anything else', () => {
    for (const t of [
      null,
      '',
      'text/plain',
      'application/graphql',
      'application/json; charset=latin1',
      'application/x-www-form-urlencoded',
    ]) {
      assert.equal(isJsonRequest(t), false, String(t));
    }
  });
});
