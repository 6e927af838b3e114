import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildSchema, parse, print, validate } from 'graphql';
import { entityTags, normalizedQuery, operationDocument, stripAddedFields, withTypenames } from './normalize.ts';

describe('normalizedQuery', () => {
  const canonical = normalizedQuery(
    parse('query Products($n: Int) { products(first: $n) { ...P } } fragment P on Product { id name }'),
    'Products',
  );

  test('whitespace, comments, unused operations and fragment order do not change it', () => {
    const variants = [
      `# the product list
       query Products($n: Int) {
         products(first: $n) { ...P }   # via a fragment
       }
       fragment P on Product {
         id
         name
       }`,
      'fragment P on Product { id, name } query Products($n: Int) { products(first: $n) { ...P } }',
      'query Other { me { id } } query Products($n: Int){products(first:$n){...P}} fragment P on Product{id name} ' +
        'fragment Unused on Product { price }',
    ];
    for (const variant of variants) assert.equal(normalizedQuery(parse(variant), 'Products'), canonical, variant);
  });

  test('keeps only the chosen operation and the fragments it uses, sorted by name', () => {
    const doc = parse(
      'query A { x { ...Z ...Y } } query B { y } fragment Z on X { z } fragment Y on X { y ...W } ' +
        'fragment W on X { w } fragment V on X { v }',
    );
    const printed = normalizedQuery(doc, 'A');
    assert.deepEqual(
      [...printed.matchAll(/^(query|fragment) (\w+)/gm)].map((m) => m[2]),
      ['A', 'W', 'Y', 'Z'],
    );
  });

  test('field order and arguments do change it (they change the response)', () => {
    assert.notEqual(normalizedQuery(parse('{ a b }')), normalizedQuery(parse('{ b a }')));
    assert.notEqual(normalizedQuery(parse('{ a(x: 1) }')), normalizedQuery(parse('{ a(x: 2) }')));
  });

  test('is remembered per document', () => {
    const doc = parse('{ a }');
    assert.equal(normalizedQuery(doc), normalizedQuery(doc));
    assert.equal(normalizedQuery(doc, null), normalizedQuery(doc, ''));
  });

  test('operationDocument is the same object for the same input, so withTypenames is remembered too', () => {
    const doc = parse('query A { a { b } } query B { c }');
    assert.equal(operationDocument(doc, 'A'), operationDocument(doc, 'A'));
    assert.equal(withTypenames(operationDocument(doc, 'A')), withTypenames(operationDocument(doc, 'A')));
  });

  test('throws for an operation the document lacks', () => {
    assert.throws(() => operationDocument(parse('query A { a }'), 'B'), /Unknown operation/);
  });
});

describe('withTypenames', () => {
  test('adds __typename to every nested selection set, not to operation roots', () => {
    const doc = withTypenames(parse('{ a { b { c } } ... on Query { d { e } } } fragment F on T { g { h } }'));
    assert.equal(
      print(doc),
      print(
        parse(
          '{ a { b { c __typename } __typename } ... on Query { d { e __typename } __typename } } ' +
            'fragment F on T { g { h __typename } __typename }',
        ),
      ),
    );
  });

  test('leaves selection sets that already ask for it; an aliased __typename does not count', () => {
    const doc = withTypenames(parse('{ a { __typename b } c { t: __typename } }'));
    assert.equal(print(doc), print(parse('{ a { __typename b } c { t: __typename __typename } }')));
  });

  test('with the schema, also asks for id where the type has one, and stays valid', () => {
    const schema = buildSchema(`
      type Query { product(id: ID!): Product, search: [SearchResult], stats: Stats }
      type Product { id: ID!, name: String, owner: User }
      type User { id: ID!, name: String }
      type Stats { count: Int }
      union SearchResult = Product | User
    `);
    const original = parse(
      '{ product(id: 1) { name owner { name } } stats { count } search { ... on User { name } } }',
    );
    const doc = withTypenames(original, { schema });
    assert.equal(
      print(doc),
      print(
        parse(
          '{ product(id: 1) { name owner { name __typename id } __typename id } stats { count __typename } ' +
            'search { ... on User { name __typename id } __typename } }',
        ),
      ),
    );
    assert.deepEqual(validate(schema, doc), []);
    const aliased = withTypenames(parse('{ product(id: 1) { id: name } }'), { schema });
    assert.deepEqual(validate(schema, aliased), [], 'a response key already taken is left alone');
    assert.notEqual(withTypenames(original), doc, 'remembered per schema');
  });

  test('does not modify its input and is remembered', () => {
    const original = parse('{ a { b } }');
    const before = print(original);
    const doc = withTypenames(original);
    assert.equal(print(original), before);
    assert.equal(withTypenames(original), doc);
  });
});

describe('entityTags', () => {
  test('Typename:id of every entity, deduplicated, in lists and nested objects', () => {
    const data = {
      products: [
        { __typename: 'Product', id: '1', owner: { __typename: 'User', id: 7 } },
        { __typename: 'Product', id: '2', owner: { __typename: 'User', id: 7 } },
      ],
      me: { __typename: 'User', id: 'u1' },
      noId: { __typename: 'Stats', count: 3 },
      noType: { id: 'x' },
      nothing: null,
    };
    assert.deepEqual(entityTags(data).sort(), ['Product:1', 'Product:2', 'User:7', 'User:u1']);
  });

  test('caps the number of tags', () => {
    const data = { list: Array.from({ length: 1000 }, (_, i) => ({ __typename: 'P', id: i })) };
    assert.equal(entityTags(data).length, 500);
    assert.equal(entityTags(data, { max: 10 }).length, 10);
  });

  test('another id field, and deep trees without recursion', () => {
    assert.deepEqual(entityTags({ __typename: 'Sku', sku: 'A-1' }, { idField: 'sku' }), ['Sku:A-1']);
    let deep: Record<string, unknown> = { __typename: 'Leaf', id: 'bottom' };
    for (let i = 0; i < 50_000; i++) deep = { child: deep };
    assert.deepEqual(entityTags(deep), ['Leaf:bottom']);
  });
});

describe('stripAddedFields', () => {
  test('removes added key fields too', () => {
    const original = parse('{ product(id: 1) { name } }');
    const origin = { product: { name: 'Lamp', __typename: 'Product', id: '1' } };
    assert.deepEqual(entityTags(origin), ['Product:1']);
    assert.deepEqual(stripAddedFields(origin, original), { product: { name: 'Lamp' } });
  });

  test('removes the __typenames the client did not ask for, keeps those it did', () => {
    const original = parse(`
      query Q { products { id ...P } me { __typename id } }
      fragment P on Product { owner { name } }
    `);
    const data = {
      products: [
        { id: '1', owner: { name: 'a', __typename: 'User' }, __typename: 'Product' },
        { id: '2', owner: null, __typename: 'Product' },
      ],
      me: { __typename: 'User', id: 'u1' },
    };
    assert.deepEqual(stripAddedFields(data, original, 'Q'), {
      products: [
        { id: '1', owner: { name: 'a' } },
        { id: '2', owner: null },
      ],
      me: { __typename: 'User', id: 'u1' },
    });
  });

  test('follows aliases and inline fragments; does not modify its input', () => {
    const original = parse('{ first: product { ... on Product { kind: __typename id } } }');
    const data = { first: { kind: 'Product', id: '1', __typename: 'Product' } };
    const copy = structuredClone(data);
    assert.deepEqual(stripAddedFields(data, original), { first: { kind: 'Product', id: '1' } });
    assert.deepEqual(data, copy);
  });

  test('round trip: tags from the rewritten response, the client sees its own shape', () => {
    const original = parse('{ product(id: 1) { id name reviews { body } } }');
    const rewritten = withTypenames(original);
    assert.match(print(rewritten), /__typename/);
    const origin = {
      product: { id: '1', name: 'Lamp', reviews: [{ body: 'ok', __typename: 'Review' }], __typename: 'Product' },
    };
    assert.deepEqual(entityTags(origin), ['Product:1']);
    assert.equal(
      JSON.stringify(stripAddedFields(origin, original)),
      '{"product":{"id":"1","name":"Lamp","reviews":[{"body":"ok"}]}}',
    );
  });
});
