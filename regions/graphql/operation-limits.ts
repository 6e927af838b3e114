/**
 * The region gateway's own defence: the depth and cost limits the edge applies
 * (edge/graphql/limits.ts), measured by the same estimator (edge/graphql/cost.ts) but with the
 * supergraph in hand, so per-field costs count by `Type.field` and omitted page sizes count at
 * their declared defaults. Clients may reach a gateway without the edge; they meet the same
 * walls and the same answers: HTTP 400, `extensions.code` QUERY_TOO_DEEP or QUERY_TOO_COSTLY,
 * the estimator's message.
 *
 * Two checkpoints, one verdict ({@link judgeOperation}):
 * - {@link screenOperation}, before Apollo parses and validates: validation of thousands of
 *   repeated fields is quadratic (OverlappingFieldsCanBeMerged: ~0.3 s of CPU for 56 KB of
 *   `products { id }` here), so a refused operation should not get that far — and the edge, which
 *   never validates, answers such an operation with the cost code too;
 * - {@link operationLimitsPlugin} at `didResolveOperation`, before execution plans or calls any
 *   subgraph: it also sees what the screen cannot, an APQ hash sent without its query.
 * A verdict depends only on the operation, its variables and the schema, so both checkpoints
 * remember it (bounded): a repeated request is judged once, not parsed and measured each time.
 */
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import {
  type DocumentNode,
  type GraphQLSchema,
  getOperationAST,
  isInterfaceType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  parse,
} from 'graphql';
import { type CostErrorCode, estimateCost } from '../../edge/graphql/cost.ts';
import type { GraphQLLimits } from '../../edge/graphql/limits.ts';
import type { QueryParams } from './apollo-hono.ts';

/** What an operation is measured against. */
export interface OperationLimits {
  readonly limits: Pick<GraphQLLimits, 'maxDepth' | 'maxCost' | 'maxTokens'>;
  /** Cost of one field by `Type.field` (default 1). */
  readonly fieldCosts: Readonly<Record<string, number>>;
}

/** A refused operation. */
export interface Refusal {
  readonly code: Exclude<CostErrorCode, 'OPERATION_RESOLUTION_FAILURE'>;
  readonly message: string;
}

/** Only `__schema`, `__type` and `__typename` at the root: answered from the schema, no subgraph called. */
function introspectionOnly(operation: OperationDefinitionNode): boolean {
  return operation.selectionSet.selections.every((s) => s.kind === Kind.FIELD && s.name.value.startsWith('__'));
}

/**
 * The verdict on the chosen operation, undefined when it may run. An operation that cannot be
 * chosen is left to Apollo, which answers it as usual. Introspection is held to the cost limit
 * but not the depth limit: the standard introspection query is 15 deep, its recursion is
 * bounded by graphql-js's MaxIntrospectionDepthRule (installed with the servers), and in
 * production introspection is refused outright.
 */
export function judgeOperation(
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Readonly<Record<string, unknown>> | undefined,
  schema: GraphQLSchema,
  options: OperationLimits,
): Refusal | undefined {
  const operation = getOperationAST(document, operationName);
  if (!operation) return undefined;
  const { maxDepth, maxCost } = options.limits;
  const estimate = estimateCost(document, operationName, {
    maxDepth: introspectionOnly(operation) ? Number.POSITIVE_INFINITY : maxDepth,
    maxCost,
    variables,
    schema,
    fieldCosts: options.fieldCosts,
  });
  if (estimate.ok || !estimate.code || estimate.code === 'OPERATION_RESOLUTION_FAILURE') return undefined;
  return { code: estimate.code, message: estimate.reason ?? estimate.code };
}

/** A bounded memo of verdicts (undefined — may run — is remembered too). */
function verdicts(limit = 10_000) {
  const map = new Map<string, Refusal | null>();
  return {
    get: (key: string): Refusal | null | undefined => map.get(key),
    set(key: string, verdict: Refusal | undefined): Refusal | undefined {
      if (map.size >= limit) map.delete(map.keys().next().value as string);
      map.set(key, verdict ?? null);
      return verdict;
    },
  };
}

/** The memo key of an operation's verdict: its name and variables (the document or text is keyed apart). */
function verdictKey(operationName: string | null | undefined, variables: unknown): string {
  return `${operationName ?? ''}\u0001${variables === undefined ? '' : JSON.stringify(variables)}`;
}

/** Screens by query text: verdicts per schema, then per text, name and variables. */
const screened = new WeakMap<GraphQLSchema, ReturnType<typeof verdicts>>();

/**
 * The verdict before Apollo sees the request. A document that does not parse is let through:
 * Apollo reports the syntax error (with the same token limit) as it always does.
 */
export function screenOperation(
  params: QueryParams,
  schema: GraphQLSchema,
  options: OperationLimits,
): Refusal | undefined {
  let memo = screened.get(schema);
  if (memo === undefined) {
    memo = verdicts();
    screened.set(schema, memo);
  }
  const key = `${verdictKey(params.operationName, params.variables)}\u0001${params.query}`;
  const known = memo.get(key);
  if (known !== undefined) return known ?? undefined;
  let document: DocumentNode;
  try {
    document = parse(params.query, { noLocation: true, maxTokens: options.limits.maxTokens });
  } catch {
    return undefined;
  }
  return memo.set(key, judgeOperation(document, params.operationName, params.variables, schema, options));
}

/** Refuses too deep or too costly operations after Apollo resolved them, before any subgraph is called. */
export function operationLimitsPlugin<T extends BaseContext>(
  options: OperationLimits,
  refuse: (refusal: Refusal) => Error,
): ApolloServerPlugin<T> {
  // Apollo hands out one parsed document per query text (its document store), for one schema.
  const judged = new WeakMap<DocumentNode, ReturnType<typeof verdicts>>();
  const hooks = {
    async didResolveOperation({
      document,
      request,
      schema,
    }: {
      document: DocumentNode;
      request: { operationName?: string; variables?: Record<string, unknown> };
      schema: GraphQLSchema;
    }) {
      let memo = judged.get(document);
      if (memo === undefined) {
        memo = verdicts(64);
        judged.set(document, memo);
      }
      const key = verdictKey(request.operationName, request.variables);
      let refusal = memo.get(key);
      if (refusal === undefined) {
        refusal =
          memo.set(key, judgeOperation(document, request.operationName, request.variables, schema, options)) ?? null;
      }
      if (refusal) throw refuse(refusal);
    },
  };
  return {
    async requestDidStart() {
      return hooks;
    },
  };
}

/**
 * What is wrong with a per-field cost table against the schema: a cost that is not a finite
 * number ≥ 0, or a `Type.field` the schema does not have (a typo would silently price a dear
 * field at 1). Empty when the table is sound.
 */
export function fieldCostProblems(schema: GraphQLSchema, fieldCosts: Readonly<Record<string, number>>): string[] {
  const problems: string[] = [];
  for (const [key, cost] of Object.entries(fieldCosts)) {
    if (typeof cost !== 'number' || !Number.isFinite(cost) || cost < 0) {
      problems.push(`${key}: cost ${String(cost)} is not a finite number >= 0`);
    }
    const [typeName = '', fieldName = '', ...rest] = key.split('.');
    const type = schema.getType(typeName);
    const known = rest.length === 0 && (isObjectType(type) || isInterfaceType(type)) && !!type.getFields()[fieldName];
    if (!known) problems.push(`${key}: no such field in the schema (expected "Type.field")`);
  }
  return problems;
}
