import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pathOf } from './url-path.ts';

describe('pathOf: the path of an absolute URL', () => {
  it('cuts the query and the fragment, keeps the path as it came', () => {
    const cases: Array<[string, string]> = [
      ['http://h/graphql', '/graphql'],
      ['http://h:8080/graphql?query=x', '/graphql'],
      ['https://h/graphql#f', '/graphql'],
      ['http://h/graphql?', '/graphql'],
      ['https://[::1]:8443/v1/stream?a=/b', '/v1/stream'],
      ['http://h/%67raphql', '/%67raphql'],
      ['http://h/graphql/', '/graphql/'],
    ];
    for (const [url, path] of cases) assert.equal(pathOf(url), path, url);
  });

  it('a URL without a path is /', () => {
    assert.equal(pathOf('http://edge.test'), '/');
    assert.equal(pathOf('http://edge.test?x=1'), '/');
  });
});
