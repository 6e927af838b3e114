import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { getIntrospectionQuery, parse } from 'graphql';
import { type CostOptions, DEFAULT_COST_LIMITS, estimateCost } from './cost.ts';

const roomy: CostOptions = { maxDepth: 100, maxCost: 1e12 };
const measure = (query: string, operationName: string | null = null, options: Partial<CostOptions> = {}) =>
  estimateCost(parse(query), operationName, { ...roomy, ...options });

describe('estimateCost: measuring', () => {
  test('depth, fields and cost of a plain query', () => {
    const m = measure('{ a b { c d { e } } }');
    assert.deepEqual(
      { depth: m.depth, fields: m.fields, cost: m.cost, ok: m.ok },
      { depth: 3, fields: 5, cost: 5, ok: true },
    );
  });

  test('__typename is free', () => {
    const m = measure('{ __typename a { __typename id } }');
    assert.deepEqual([m.depth, m.fields, m.cost], [2, 2, 2]);
  });

  test('first/last multiply the subtree: 1 + n × children, capped at 100', () => {
    assert.equal(measure('{ products(first: 50) { id name } }').cost, 1 + 50 * 2);
    assert.equal(measure('{ products(last: 1000) { id } }').cost, 1 + 100 * 1);
    assert.equal(measure('{ tags(first: 10) }').cost, 1, 'a list of scalars costs its field');
    const nested = measure('{ products(first: 10) { edges { node { reviews(first: 5) { id } } } } }');
    assert.equal(nested.cost, 1 + 10 * (1 + (1 + (1 + 5 * 1))));
  });

  test('list sizes by variable: the value, else its default, else the cap', () => {
    const query = 'query Q($n: Int = 7, $m: Int) { a(first: $n) { id } b(first: $m) { id } }';
    assert.equal(measure(query, null, { variables: { n: 3, m: 4 } }).cost, 1 + 3 + 1 + 4);
    assert.equal(measure(query).cost, 1 + 7 + 1 + 100);
    assert.equal(measure('{ a(first: -5) { id } }').cost, 1, 'negative sizes count as none');
  });

  test('listArguments and maxListSize are configurable', () => {
    assert.equal(measure('{ a(limit: 10) { id } }', null, { listArguments: ['limit'] }).cost, 11);
    assert.equal(measure('{ a(first: 10) { id } }', null, { maxListSize: 5 }).cost, 6);
  });

  test('fragments are expanded, inline fragments and spreads add no depth', () => {
    const m = measure(`
      query { product { ...P ... on Product { extra } } }
      fragment P on Product { id owner { ...U } }
      fragment U on User { name }
    `);
    assert.deepEqual([m.depth, m.fields, m.cost], [3, 5, 5]);
  });

  test('fragment cycles are cut, not followed forever', () => {
    const m = measure('{ a { ...F } } fragment F on T { b { ...G } } fragment G on T { c { ...F } }');
    assert.ok(Number.isFinite(m.cost));
    assert.ok(m.depth >= 3);
  });

  test('exponential fragment fan-out is measured quickly and judged by its expanded size', () => {
    const levels = 30;
    let doc = '{ ...F0 } ';
    for (let i = 0; i < levels; i++)
      doc += `fragment F${i} on Query { a${i}: x { ...F${i + 1} } b${i}: x { ...F${i + 1} } } `;
    doc += `fragment F${levels} on Query { leaf }`;
    const start = performance.now();
    const m = estimateCost(parse(doc), null, DEFAULT_COST_LIMITS);
    assert.ok(performance.now() - start < 100);
    assert.equal(m.ok, false);
    assert.ok(m.cost > 2 ** 30);
  });

  test('the chosen operation only', () => {
    const doc = 'query Small { a } query Big { a b c { d } }';
    assert.equal(measure(doc, 'Small').cost, 1);
    assert.equal(measure(doc, 'Big').cost, 4);
  });
});

describe('estimateCost: limits', () => {
  test('too deep', () => {
    const m = measure('{ a { b { c { d } } } }', null, { maxDepth: 3 });
    assert.equal(m.ok, false);
    assert.equal(m.code, 'QUERY_TOO_DEEP');
    assert.match(m.reason ?? '', /depth 4 exceeds the limit of 3/);
  });

  test('too costly', () => {
    const m = measure('{ products(first: 100) { id name price } }', null, { maxCost: 300 });
    assert.equal(m.ok, false);
    assert.equal(m.code, 'QUERY_TOO_COSTLY');
    assert.equal(m.cost, 301);
  });

  test('at the limits is fine', () => {
    assert.equal(measure('{ a { b { c } } }', null, { maxDepth: 3, maxCost: 3 }).ok, true);
  });

  test('an operation that cannot be chosen is refused with the reason', () => {
    const m = measure('query A { a } query B { b }');
    assert.equal(m.ok, false);
    assert.equal(m.code, 'OPERATION_RESOLUTION_FAILURE');
  });

  test('the default limits admit the full introspection query', () => {
    const m = estimateCost(parse(getIntrospectionQuery()), null, DEFAULT_COST_LIMITS);
    assert.equal(m.ok, true, m.reason);
  });
});
