import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parse } from 'graphql';
import { fragmentsOf, selectOperation } from './operation.ts';

describe('selectOperation', () => {
  const two = parse('query A { a } query B { b } fragment F on Query { c }');

  test('the only operation when no name is given', () => {
    const r = selectOperation(parse('{ a }'), null);
    assert.ok(r.ok);
  });

  test('by name', () => {
    const r = selectOperation(two, 'B');
    assert.equal(r.ok && r.operation.name?.value, 'B');
  });

  test('errors: several without a name, unknown name, no operation', () => {
    assert.deepEqual(selectOperation(two, null), {
      ok: false,
      message: 'Must provide operation name if query contains multiple operations.',
    });
    assert.deepEqual(selectOperation(two, 'C'), { ok: false, message: 'Unknown operation named "C".' });
    assert.equal(selectOperation(parse('fragment F on Query { c }')).ok, false);
  });

  test('fragmentsOf maps fragments by name', () => {
    assert.deepEqual([...fragmentsOf(two).keys()], ['F']);
  });
});
