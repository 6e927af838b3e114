/**
 * Document rewriting for the response cache:
 * - `normalizedQuery`: the operation to execute and the fragments it uses, printed canonically,
 *   so whitespace, comments, fragment order and unused operations do not split cache keys
 *   (field and argument order stay: field order shapes the response);
 * - `withTypenames`: asks for `__typename` (and, given the schema, `id`) in every selection set,
 *   so the origin's answer says which entity each object is, for entity tags;
 * - `entityTags`: `Typename:id` of every entity in a response, what purges address;
 * - `stripAddedFields`: removes what `withTypenames` added and the client did not ask for, so the
 *   edge is invisible in the response — decided over leaving `__typename` in, because clients
 *   with exact-shape expectations (snapshots, strict decoders, codegen'd types) would otherwise
 *   see the edge, and an added `id` is not harmless to them at all.
 *
 * Results are remembered per document object (WeakMap): the request parser hands out the same
 * DocumentNode for the same query text, so a hot query is printed and rewritten once.
 */
import {
  type ASTNode,
  type ASTVisitor,
  type DefinitionNode,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  isInterfaceType,
  isObjectType,
  Kind,
  print,
  type SelectionSetNode,
  TypeInfo,
  visit,
  visitWithTypeInfo,
} from 'graphql';
import { fragmentsOf, selectOperation } from './operation.ts';

/** Fragments reachable from `root`, by name, in first-use order. */
function usedFragments(
  root: SelectionSetNode,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
): FragmentDefinitionNode[] {
  const used = new Map<string, FragmentDefinitionNode>();
  const pending: SelectionSetNode[] = [root];
  for (let set = pending.pop(); set; set = pending.pop()) {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const definition = fragments.get(selection.name.value);
        if (!definition || used.has(definition.name.value)) continue;
        used.set(definition.name.value, definition);
        pending.push(definition.selectionSet);
      } else if (selection.selectionSet) pending.push(selection.selectionSet);
    }
  }
  return [...used.values()];
}

/** Per document and operation name: results that never change for them. */
const perOperation = new WeakMap<DocumentNode, Map<string, { document: DocumentNode; text?: string }>>();

function remembered(document: DocumentNode, operationName: string | null | undefined) {
  let byName = perOperation.get(document);
  if (!byName) {
    byName = new Map();
    perOperation.set(document, byName);
  }
  const name = operationName || '';
  let found = byName.get(name);
  if (!found) {
    const selected = selectOperation(document, operationName);
    if (!selected.ok) throw new Error(selected.message);
    const fragments = usedFragments(selected.operation.selectionSet, fragmentsOf(document));
    fragments.sort((a, b) => (a.name.value < b.name.value ? -1 : a.name.value > b.name.value ? 1 : 0));
    const definitions: DefinitionNode[] = [selected.operation, ...fragments];
    found = { document: { kind: Kind.DOCUMENT, definitions } };
    byName.set(name, found);
  }
  return found;
}

/**
 * The chosen operation and the fragments it uses (sorted by name), as a document: the same
 * object for the same input, so what is derived from it can be remembered too. Throws when the
 * operation cannot be chosen: callers pass what the request parser already resolved.
 */
export function operationDocument(document: DocumentNode, operationName?: string | null): DocumentNode {
  return remembered(document, operationName).document;
}

/** Canonical text of the operation to execute: the cache key's view of the query. */
export function normalizedQuery(document: DocumentNode, operationName?: string | null): string {
  const found = remembered(document, operationName);
  found.text ??= print(found.document);
  return found.text;
}

/** Options of {@link withTypenames}. */
export interface WithTypenamesOptions {
  /**
   * The graph's schema (e.g. built from schemas/supergraph.graphql). With it, the key field is
   * also requested wherever the type has one, so `{ product(id: 42) { name } }` still yields the
   * tag `Product:42`; without it only `__typename` can be added safely.
   */
  schema?: GraphQLSchema;
  /** The entity key field to add (default `id`). */
  keyField?: string;
}

const field = (name: string): FieldNode => ({ kind: Kind.FIELD, name: { kind: Kind.NAME, value: name } });

/**
 * How a selection set (in the original document) uses the response key `name`: asks for the
 * field `name` itself directly, uses the key for another field somewhere (adding the field would
 * then make an invalid document), or neither (adding it is safe, and merges with any indirect
 * use of the same field).
 */
function keyUsage(
  set: SelectionSetNode,
  name: string,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
): 'direct' | 'conflict' | 'none' {
  if (set.selections.some((s) => s.kind === Kind.FIELD && s.name.value === name && !s.alias && !s.arguments?.length)) {
    return 'direct';
  }
  const seen = new Set<string>();
  const pending = [set];
  for (let next = pending.pop(); next; next = pending.pop()) {
    for (const selection of next.selections) {
      if (selection.kind === Kind.FIELD) {
        const key = selection.alias?.value ?? selection.name.value;
        if (key === name && (selection.name.value !== name || selection.arguments?.length)) return 'conflict';
      } else if (selection.kind === Kind.INLINE_FRAGMENT) pending.push(selection.selectionSet);
      else if (!seen.has(selection.name.value)) {
        seen.add(selection.name.value);
        const definition = fragments.get(selection.name.value);
        if (definition) pending.push(definition.selectionSet);
      }
    }
  }
  return 'none';
}

const typenamed = new WeakMap<
  DocumentNode,
  { schema: GraphQLSchema | undefined; keyField: string; result: DocumentNode }
>();

/**
 * The document with `__typename` (and, given the schema, the key field) requested in every
 * selection set that lacks it, except operations' root selection sets (a root type is no
 * entity, and a subscription root admits one field only). A response key the client already
 * uses for another field is left alone rather than made to conflict. Meant for queries.
 */
export function withTypenames(document: DocumentNode, options: WithTypenamesOptions = {}): DocumentNode {
  const { schema } = options;
  const keyField = options.keyField ?? 'id';
  const known = typenamed.get(document);
  if (known && known.schema === schema && known.keyField === keyField) return known.result;
  const fragments = fragmentsOf(document);
  const typeInfo = schema ? new TypeInfo(schema) : undefined;
  // Decided on entering, from the original nodes: on leaving, nested sets already carry additions.
  const pendingAdditions: FieldNode[][] = [];
  const visitor: ASTVisitor = {
    SelectionSet: {
      enter(node, _key, parent) {
        const added: FieldNode[] = [];
        const isRoot = !!parent && !Array.isArray(parent) && (parent as ASTNode).kind === Kind.OPERATION_DEFINITION;
        if (!isRoot) {
          if (keyUsage(node, '__typename', fragments) === 'none') added.push(field('__typename'));
          const type = typeInfo?.getParentType();
          if (
            type &&
            (isObjectType(type) || isInterfaceType(type)) &&
            type.getFields()[keyField] &&
            keyUsage(node, keyField, fragments) === 'none'
          ) {
            added.push(field(keyField));
          }
        }
        pendingAdditions.push(added);
        return undefined;
      },
      leave(node) {
        const added = pendingAdditions.pop() ?? [];
        return added.length ? { ...node, selections: [...node.selections, ...added] } : undefined;
      },
    },
  };
  const result = visit(document, typeInfo ? visitWithTypeInfo(typeInfo, visitor) : visitor);
  typenamed.set(document, { schema, keyField, result });
  return result;
}

/** Default cap on tags per response: past it, a purge by type or by key is the better tool. */
export const MAX_ENTITY_TAGS = 500;

/** `Typename:id` of every object in `data` carrying both (deduplicated, at most `max`). */
export function entityTags(data: unknown, options: { max?: number; idField?: string } = {}): string[] {
  const max = options.max ?? MAX_ENTITY_TAGS;
  const idField = options.idField ?? 'id';
  const tags = new Set<string>();
  // Iterative walk: response trees can be deep, and the edge must not overflow its stack.
  const pending: unknown[] = [data];
  while (pending.length > 0 && tags.size < max) {
    const value = pending.pop();
    if (typeof value !== 'object' || value === null) continue;
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) pending.push(value[i]);
      continue;
    }
    const record = value as Record<string, unknown>;
    const typename = record.__typename;
    const id = record[idField];
    if (typeof typename === 'string' && (typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id)))) {
      tags.add(`${typename}:${id}`);
    }
    const values = Object.values(record);
    for (let i = values.length - 1; i >= 0; i--) pending.push(values[i]);
  }
  return [...tags];
}

/** What the original document asked of one response object: its response keys, and sub-selections by key. */
interface Asked {
  keys: Set<string>;
  children: Map<string, SelectionSetNode[]>;
}

function collect(sets: readonly SelectionSetNode[], fragments: ReadonlyMap<string, FragmentDefinitionNode>): Asked {
  const asked: Asked = { keys: new Set(), children: new Map() };
  const seen = new Set<string>();
  const pending = [...sets];
  // Branches are merged regardless of their type condition: a valid document gives a response
  // key one meaning, and keeping a field some non-matching branch asked for is harmless.
  for (let set = pending.pop(); set; set = pending.pop()) {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        const key = selection.alias?.value ?? selection.name.value;
        asked.keys.add(key);
        if (!selection.selectionSet) continue;
        const list = asked.children.get(key);
        if (list) list.push(selection.selectionSet);
        else asked.children.set(key, [selection.selectionSet]);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        pending.push(selection.selectionSet);
      } else if (!seen.has(selection.name.value)) {
        seen.add(selection.name.value);
        const definition = fragments.get(selection.name.value);
        if (definition) pending.push(definition.selectionSet);
      }
    }
  }
  return asked;
}

/**
 * `data` cut back to what the original operation asked for: the `__typename` and key fields
 * `withTypenames` added disappear, everything the client selected stays, in the origin's order.
 * Returns a new tree; `data` is not modified.
 */
export function stripAddedFields(
  data: unknown,
  originalDocument: DocumentNode,
  operationName?: string | null,
): unknown {
  const selected = selectOperation(originalDocument, operationName);
  if (!selected.ok) throw new Error(selected.message);
  const fragments = fragmentsOf(originalDocument);
  // The items of a list share their selection sets: work out what was asked once per set list.
  const askedBySets = new Map<readonly SelectionSetNode[], Asked>();
  const strip = (value: unknown, sets: readonly SelectionSetNode[]): unknown => {
    if (typeof value !== 'object' || value === null) return value;
    if (Array.isArray(value)) return value.map((item) => strip(item, sets));
    let asked = askedBySets.get(sets);
    if (!asked) {
      asked = collect(sets, fragments);
      askedBySets.set(sets, asked);
    }
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) {
      if (!asked.keys.has(key)) continue;
      const childSets = asked.children.get(key);
      out[key] = childSets ? strip(child, childSets) : child;
    }
    return out;
  };
  return strip(data, [selected.operation.selectionSet]);
}
