/**
 * The limits every GraphQL entry point of Meridian enforces, defined once: the edge uses them as
 * its configuration defaults (edge/config.ts), the region gateway and the subgraphs as theirs
 * (regions/graphql/graphql-app.ts), so a client that skips the edge meets the same walls.
 *
 * No separate alias or field-count limit: every field selection, aliased or not, costs at least
 * 1 in the estimator (edge/graphql/cost.ts), so the cost limit bounds the number of fields, and
 * the token limit bounds what `__typename` (free) can add.
 */

/** Size limits of one GraphQL request. */
export interface GraphQLLimits {
  /** Largest request body in bytes (413 above). */
  readonly maxBodyBytes: number;
  /** Largest document in lexer tokens, checked while parsing (a parser-exhaustion guard). */
  readonly maxTokens: number;
  /** Longest chain of nested fields (`{ a { b } }` has depth 2). */
  readonly maxDepth: number;
  /** Largest estimated cost (see edge/graphql/cost.ts). */
  readonly maxCost: number;
}

/** The defaults: far above what real clients send, far below what hurts an edge isolate or a gateway. */
export const GRAPHQL_LIMITS: GraphQLLimits = Object.freeze({
  maxBodyBytes: 64 * 1024,
  maxTokens: 15_000,
  maxDepth: 10,
  maxCost: 5000,
});
