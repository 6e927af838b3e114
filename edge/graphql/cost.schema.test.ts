import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildSchema, parse } from 'graphql';
import { type CostOptions, estimateCost } from './cost.ts';

const schema = buildSchema(`
  type Query {
    products(first: Int = 20, after: ID): [Product!]!
    product(id: ID!): Product
    node(id: ID!): Node
    search(text: String!, first: Int): [SearchResult!]!
    tags: [String!]!
  }
  interface Node { id: ID! }
  union SearchResult = Product | Device
  type Product implements Node { id: ID! name: String! report: String! reviews(first: Int = 5): [Review!]! }
  type Review { id: ID! body: String! }
  type Device implements Node { id: ID! telemetry(last: Int): [Reading!]! report: String! }
  type Reading { at: String! value: Float! }
`);
const fieldCosts = { 'Product.report': 500, 'Device.telemetry': 3, 'Device.report': 40, 'Query.product': 2 };
const roomy: CostOptions = { maxDepth: 100, maxCost: 1e12 };
const measure = (query: string, options: Partial<CostOptions> = {}) =>
  estimateCost(parse(query), null, { ...roomy, schema, fieldCosts, ...options });

describe('estimateCost with a schema: per-field costs by Type.field', () => {
  test('a field costs its table entry, others 1', () => {
    assert.equal(measure('{ product(id: "p1") { id report } }').cost, 2 + (1 + 500));
  });

  test('a dear field inside a list of 20 exceeds 5000', () => {
    const m = measure('{ products(first: 20) { report } }', { maxCost: 5000 });
    assert.equal(m.cost, 1 + 20 * 500);
    assert.equal(m.code, 'QUERY_TOO_COSTLY');
  });

  test('an omitted list argument counts at its declared default, else at the cap', () => {
    assert.equal(measure('{ products { id } }').cost, 1 + 20 * 1);
    assert.equal(measure('{ products { reviews { id } } }').cost, 1 + 20 * (1 + 5 * 1));
    assert.equal(measure('{ search(text: "x") { ... on Product { id } } }').cost, 1 + 100 * 1);
    assert.equal(measure('{ tags }').cost, 1, 'a list without a size argument counts once');
  });

  test('aliases are no way around the cost: each alias counts in full', () => {
    const one = measure('{ products(first: 100) { id } }').cost;
    const aliases = Array.from({ length: 1000 }, (_, i) => `a${i}: products(first: 100) { id }`).join(' ');
    assert.equal(measure(`{ ${aliases} }`).cost, 1000 * one);
  });

  test('fragments and inline fragments are priced through their type condition', () => {
    const spread = measure(`{ products(first: 10) { ...R } } fragment R on Product { report }`);
    assert.equal(spread.cost, 1 + 10 * 500);
    const inline = measure('{ node(id: "d1") { ... on Device { telemetry(last: 10) { value } } } }');
    assert.equal(inline.cost, 1 + (3 + 10 * 1));
    // An inline fragment without a condition keeps the enclosing type.
    assert.equal(measure('{ product(id: "p") { ... { report } } }').cost, 2 + 500);
    // A fragment on an interface, spread into a concrete selection.
    assert.equal(measure('{ product(id: "p") { ...N } } fragment N on Node { id }').cost, 2 + 1);
  });

  test('a field selected through an interface costs the dearest type that may stand there', () => {
    // Node.report does not exist, but Node.id costs 1 everywhere; through the union, each branch its own.
    assert.equal(measure('{ node(id: "x") { id } }').cost, 1 + 1);
    const costly = estimateCost(parse('{ node(id: "x") { id } }'), null, {
      ...roomy,
      schema,
      fieldCosts: { 'Device.id': 7 },
    });
    assert.equal(costly.cost, 1 + 7);
    assert.equal(
      measure('{ search(text: "x", first: 2) { ... on Product { report } ... on Device { report } } }').cost,
      1 + 2 * (500 + 40),
    );
  });

  test('introspection entry points lead to their types, as TypeInfo finds them', () => {
    const query = '{ __schema { types { name fields { name } } } __type(name: "Product") { fields { name } } }';
    assert.equal(measure(query).cost, 1 + (1 + (1 + (1 + 1))) + (1 + (1 + 1)));
    const priced = measure(query, { fieldCosts: { '__Type.fields': 10 } });
    assert.equal(priced.cost, 1 + (1 + (1 + (10 + 1))) + (1 + (10 + 1)));
  });

  test('unknown fields and types still count 1 each', () => {
    const m = measure('{ nope { deeper { x } } ... on Nothing { y } }');
    assert.deepEqual([m.depth, m.fields, m.cost], [3, 4, 4]);
  });

  test('a fragment bomb stays linear with per-type costs', () => {
    const levels = 30;
    let doc = '{ ...F0 } ';
    for (let i = 0; i < levels; i++)
      doc += `fragment F${i} on Query { a${i}: product(id: "p") { id } b${i}: node(id: "n") { id } c${i}: __typename ...F${i + 1} ...F${i + 1} } `;
    doc += `fragment F${levels} on Query { tags }`;
    const start = performance.now();
    const m = measure(doc, { maxCost: 5000 });
    assert.ok(performance.now() - start < 100);
    assert.equal(m.ok, false);
    assert.ok(m.cost > 2 ** 30);
  });

  test('without a schema the table is not read: the edge measures as before', () => {
    const query = '{ products { report } product(id: "p") { report } }';
    const withSchema = measure(query);
    const without = estimateCost(parse(query), null, { ...roomy, fieldCosts });
    assert.equal(without.cost, 4);
    assert.equal(withSchema.cost, 1 + 20 * 500 + 2 + 500);
  });
});
