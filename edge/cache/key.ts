/**
 * Cache keys and ETags. A key is the SHA-256 of a canonical JSON (object keys sorted, so the
 * order a client wrote its variables in does not matter) of the normalised operation, its
 * variables and the identity the scope requires: PUBLIC keys carry no identity, TENANT keys the
 * tenant, USER keys tenant and subject. A response stored under one caller's key therefore
 * cannot be found by a caller outside its scope.
 */
import { sha256Hex } from './hash.ts';
import type { CacheScope } from './scope.ts';

/** Bumped when the key layout changes, so old and new entries never collide. */
const KEY_VERSION = 'meridian-edge-cache/v1';

/** What identifies one cacheable response. */
export interface CacheKeyInput {
  /** The operation as printed by `normalizedQuery` (whitespace, comments and unused definitions gone). */
  normalizedQuery: string;
  operationName?: string | null;
  variables?: Readonly<Record<string, unknown>> | null;
  scope: CacheScope;
  /** The caller's tenant (from the verified token); required by TENANT, part of USER keys. */
  tenant?: string | null;
  /** The caller's subject (from the verified token); required by USER. */
  subject?: string | null;
}

/** JSON with object keys sorted at every level (arrays keep their order); `undefined` members dropped. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}

/**
 * Hex SHA-256 key of a response, or null when the caller lacks the identity the scope needs (a
 * TENANT response without a tenant, a USER response without a subject): such responses are
 * neither cached nor looked up, since anonymous callers cannot be told apart.
 */
export async function cacheKey(input: CacheKeyInput): Promise<string | null> {
  const { scope } = input;
  const tenant = scope === 'PUBLIC' ? null : (input.tenant ?? null);
  const subject = scope === 'USER' ? (input.subject ?? null) : null;
  if ((scope === 'TENANT' && !tenant) || (scope === 'USER' && !subject)) return null;
  return sha256Hex(
    canonicalJson({
      v: KEY_VERSION,
      scope,
      tenant,
      subject,
      operationName: input.operationName || null,
      query: input.normalizedQuery,
      // Absent, null and {} variables are the same request (GraphQL-over-HTTP: "Specifying null
      // for optional request parameters is equivalent to not specifying them at all").
      variables: input.variables ?? {},
    }),
  );
}

/** A strong ETag (RFC 9110 §8.8.3) for the body: a quoted, truncated SHA-256 (128 bits). */
export async function etagOf(body: Uint8Array | string): Promise<string> {
  return `"${(await sha256Hex(body)).slice(0, 32)}"`;
}
