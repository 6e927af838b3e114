/**
 * Static size of an operation, so the edge can refuse too deep or too costly queries before a
 * region sees them, and charge the rate limiter by what a query is likely to cost. The region
 * gateway measures with the same code, given the schema (below), so both hold one line.
 *
 * Without the schema the edge cannot know which fields are lists, so it reads the pagination
 * arguments that say so. The formula, over the operation with fragments expanded:
 *
 *   cost(selection set) = Σ cost(field)
 *   cost(field)         = 1 + n × cost(field's selection set)
 *   n                   = min(first | last, 100) when the field has such an argument, else 1
 *
 * so `products(first: 50) { id name }` costs 1 + 50 × 2 = 101: the list field itself, plus each
 * item's fields. An argument given by variable takes the variable's value, else its default,
 * else the cap (a client that does not say how many is assumed to want the most). `__typename`
 * is free (no resolver runs). Inline fragments and spreads add their fields without adding
 * depth; the branches of a union are summed, which overestimates on purpose.
 *
 * depth = longest chain of nested fields (`{ a { b } }` has depth 2); fields = field selections
 * in the expanded operation. Each fragment is measured once and reused, so a document that
 * spreads fragments exponentially is measured in linear time; a fragment cycle (invalid GraphQL,
 * which the origin would reject) is cut where it closes.
 *
 * With the schema (the region gateway has the supergraph), the walk knows each field's parent
 * type — through aliases, inline fragments and fragment spreads (a fragment's fields belong to its
 * type condition, so it is still measured once) — and two things change:
 *
 *   cost(field) = c(Parent.field) + n × cost(field's selection set)
 *
 * where c comes from the `fieldCosts` table by `Type.field` (`Query.products`, `Device.telemetry`),
 * default 1; a field selected through an interface costs the interface's entry, else the
 * dearest entry among the types that may stand there. And a list argument the operation leaves
 * out counts at the default the schema declares for it (`products(first: Int = 20)` → 20), else
 * at the cap. Every selection counts, aliased or not: 1,000 aliases of a field cost 1,000 times
 * the field.
 */
import type {
  DocumentNode,
  FieldNode,
  FragmentDefinitionNode,
  GraphQLCompositeType,
  GraphQLField,
  GraphQLSchema,
  NamedTypeNode,
  OperationDefinitionNode,
  SelectionSetNode,
  ValueNode,
} from 'graphql';
import {
  getNamedType,
  isAbstractType,
  isCompositeType,
  isInterfaceType,
  isObjectType,
  Kind,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
} from 'graphql';
import { fragmentsOf, selectOperation } from './operation.ts';

/** Limits and inputs of {@link estimateCost}. */
export interface CostOptions {
  maxDepth: number;
  maxCost: number;
  /** Variable values, to read list sizes passed by variable. */
  variables?: Readonly<Record<string, unknown>>;
  /** Arguments that give a list field's size (default `first`, `last`). */
  listArguments?: readonly string[];
  /** Cap on one list multiplier (default 100). */
  maxListSize?: number;
  /** The schema the operation runs against; without it, every field costs 1 and sizes come from arguments only. */
  schema?: GraphQLSchema;
  /** Cost of one field by `Type.field`, e.g. `{ 'Query.products': 5 }` (default 1); read only with `schema`. */
  fieldCosts?: Readonly<Record<string, number>>;
}

/** Codes of a refused operation. */
export const COST_ERROR_CODES = ['QUERY_TOO_DEEP', 'QUERY_TOO_COSTLY', 'OPERATION_RESOLUTION_FAILURE'] as const;

/** Why an operation was refused. */
export type CostErrorCode = (typeof COST_ERROR_CODES)[number];

/** The measured size and the verdict. */
export interface CostEstimate {
  depth: number;
  fields: number;
  cost: number;
  ok: boolean;
  /** Why not ok, for the error message. */
  reason?: string;
  code?: CostErrorCode;
}

interface Measure {
  depth: number;
  fields: number;
  cost: number;
}

const ZERO: Measure = { depth: 0, fields: 0, cost: 0 };

/**
 * Roomy limits for tools and tests: the full introspection query (depth 15, cost ~220) passes with
 * room. What the platform enforces is GRAPHQL_LIMITS (limits.ts).
 */
export const DEFAULT_COST_LIMITS = { maxDepth: 20, maxCost: 10_000 } as const;

/** Measures the chosen operation of `document` against the limits. */
export function estimateCost(
  document: DocumentNode,
  operationName: string | null | undefined,
  options: CostOptions,
): CostEstimate {
  const selected = selectOperation(document, operationName);
  if (!selected.ok) return { ...ZERO, ok: false, reason: selected.message, code: 'OPERATION_RESOLUTION_FAILURE' };
  const m = measureOperation(document, selected.operation, options);
  if (m.depth > options.maxDepth) {
    return {
      ...m,
      ok: false,
      code: 'QUERY_TOO_DEEP',
      reason: `Query depth ${m.depth} exceeds the limit of ${options.maxDepth}.`,
    };
  }
  if (m.cost > options.maxCost) {
    return {
      ...m,
      ok: false,
      code: 'QUERY_TOO_COSTLY',
      reason: `Query cost ${m.cost} exceeds the limit of ${options.maxCost}.`,
    };
  }
  return { ...m, ok: true };
}

type Field = GraphQLField<unknown, unknown>;

/** The definition of `name` on `parent`, the introspection entry points included (as TypeInfo finds them). */
function fieldDefinition(schema: GraphQLSchema, parent: GraphQLCompositeType, name: string): Field | undefined {
  if (parent === schema.getQueryType()) {
    if (name === SchemaMetaFieldDef.name) return SchemaMetaFieldDef;
    if (name === TypeMetaFieldDef.name) return TypeMetaFieldDef;
  }
  return isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[name] : undefined;
}

function measureOperation(document: DocumentNode, operation: OperationDefinitionNode, options: CostOptions): Measure {
  const fragments = fragmentsOf(document);
  const listArguments = options.listArguments ?? ['first', 'last'];
  const cap = options.maxListSize ?? 100;
  const { schema } = options;
  const table = options.fieldCosts ?? {};
  const defaults = new Map<string, ValueNode>();
  for (const v of operation.variableDefinitions ?? [])
    if (v.defaultValue) defaults.set(v.variable.name.value, v.defaultValue);
  const memo = new Map<string, Measure>();
  const open = new Set<string>();
  const costs = new Map<string, number>();

  const sizeOf = (value: ValueNode): number => {
    if (value.kind === Kind.INT) return Number(value.value);
    if (value.kind === Kind.VARIABLE) {
      const given = options.variables?.[value.name.value];
      if (typeof given === 'number') return given;
      const fallback = defaults.get(value.name.value);
      return fallback && fallback.kind === Kind.INT ? Number(fallback.value) : cap;
    }
    return cap;
  };
  const clamp = (n: number): number => (Number.isFinite(n) ? Math.min(cap, Math.max(0, Math.floor(n))) : cap);
  const multiplier = (field: FieldNode, definition: Field | undefined): number => {
    let n: number | undefined;
    for (const arg of field.arguments ?? []) {
      if (listArguments.includes(arg.name.value)) n = Math.max(n ?? 0, sizeOf(arg.value));
    }
    if (n === undefined && definition) {
      // Left out: the server applies the declared default, or decides alone (assume the most).
      for (const arg of definition.args) {
        if (!listArguments.includes(arg.name)) continue;
        const fallback = typeof arg.defaultValue === 'number' ? arg.defaultValue : cap;
        n = Math.max(n ?? 0, fallback);
      }
    }
    return n === undefined ? 1 : clamp(n);
  };
  /** c(Parent.field): the table's entry, else the dearest possible type's for an abstract parent, else 1. */
  const ownCost = (parent: GraphQLCompositeType | undefined, name: string): number => {
    if (!schema || !parent) return 1;
    const key = `${parent.name}.${name}`;
    let cost = costs.get(key);
    if (cost !== undefined) return cost;
    cost = table[key];
    if (cost === undefined && isAbstractType(parent)) {
      for (const type of schema.getPossibleTypes(parent))
        cost = Math.max(cost ?? 1, table[`${type.name}.${name}`] ?? 1);
    }
    cost ??= 1;
    costs.set(key, cost);
    return cost;
  };
  const typeOf = (condition: NamedTypeNode | undefined, fallback: GraphQLCompositeType | undefined) => {
    if (!schema || !condition) return fallback;
    const type = schema.getType(condition.name.value);
    return isCompositeType(type) ? type : undefined;
  };

  const fragment = (definition: FragmentDefinitionNode): Measure => {
    const name = definition.name.value;
    const known = memo.get(name);
    if (known) return known;
    if (open.has(name)) return ZERO;
    open.add(name);
    // A fragment's fields belong to its type condition wherever it is spread, so one measure fits all spreads.
    const m = selectionSet(definition.selectionSet, typeOf(definition.typeCondition, undefined));
    open.delete(name);
    memo.set(name, m);
    return m;
  };

  const selectionSet = (set: SelectionSetNode, parent: GraphQLCompositeType | undefined): Measure => {
    let depth = 0;
    let fields = 0;
    let cost = 0;
    for (const selection of set.selections) {
      let m: Measure;
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        if (name === '__typename') continue;
        const definition = schema && parent ? fieldDefinition(schema, parent, name) : undefined;
        const type = definition ? getNamedType(definition.type) : undefined;
        const child = selection.selectionSet
          ? selectionSet(selection.selectionSet, isCompositeType(type) ? type : undefined)
          : ZERO;
        m = {
          depth: child.depth + 1,
          fields: child.fields + 1,
          cost: ownCost(parent, name) + multiplier(selection, definition) * child.cost,
        };
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        m = selectionSet(selection.selectionSet, typeOf(selection.typeCondition, parent));
      } else {
        const definition = fragments.get(selection.name.value);
        m = definition ? fragment(definition) : ZERO;
      }
      depth = Math.max(depth, m.depth);
      fields += m.fields;
      cost += m.cost;
    }
    return { depth, fields, cost };
  };

  const root = schema?.getRootType(operation.operation) ?? undefined;
  return selectionSet(operation.selectionSet, root);
}
