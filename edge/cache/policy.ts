/**
 * Turns the origin's `Cache-Control` (RFC 9111 §5.2.2) into the edge cache's policy. The Apollo
 * gateway summarises the operation's cache hints as `max-age=N, public`, `max-age=N, private`
 * or `no-store`; a region may narrow a public response to its tenant with
 * `x-meridian-cache-scope: tenant`.
 *
 * Choices (deliberate, all on the safe side):
 * - the scope is the narrowest of what Cache-Control says (`public` → PUBLIC, `private` → USER)
 *   and what the scope header says; a response that names no scope at all is USER, because a
 *   guess that is too wide leaks and one that is too narrow only costs hit rate. (`private`
 *   forbids shared caches in RFC 9111; the edge honours it by keying such entries per user,
 *   which makes it a private cache of each user run by the origin's own operator.)
 * - `s-maxage` wins over `max-age` (RFC 9111 §5.2.2.10: "for a shared cache, the maximum age
 *   specified by this directive overrides the maximum age specified by ... max-age");
 * - `no-store`, `no-cache`, a missing, zero or malformed max-age → not cacheable;
 * - stale-while-revalidate: the directive's value (RFC 5861) when present, else 10% of the
 *   max-age (a short grace that hides refresh latency without serving old data for long);
 *   `must-revalidate`/`proxy-revalidate` forbid serving stale, so they force it to 0.
 */
import { type CacheScope, narrowestScope, parseScope } from './scope.ts';

/** Default stale-while-revalidate, as a fraction of max-age, when the origin names none. */
export const DEFAULT_SWR_RATIO = 0.1;

/** The response header by which a region narrows a response's scope (`tenant`, `user`, `public`). */
export const SCOPE_HEADER = 'x-meridian-cache-scope';

/** How the edge may cache one origin response. */
export interface CachePolicy {
  cacheable: boolean;
  scope: CacheScope;
  maxAgeMs: number;
  swrMs: number;
}

/** Directives of a Cache-Control value: lower-cased names, unquoted values, first occurrence kept. */
export function parseCacheControl(header: string): Map<string, string | true> {
  const directives = new Map<string, string | true>();
  // RFC 9110 §5.6.4: quoted-string may contain commas, so split by scanning, not with split(',').
  const re = /[\s,]*([^=,\s]+)\s*(?:=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*)))?\s*(?:,|$)/gy;
  let match: RegExpExecArray | null = re.exec(header);
  while (match && match[0] !== '') {
    const name = (match[1] as string).toLowerCase();
    const value = match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : match[3];
    // RFC 9111 §4.2.1: "When there is more than one value present for a given directive ...
    // either the first occurrence should be used or the response should be considered stale."
    if (!directives.has(name)) directives.set(name, value ?? true);
    match = re.exec(header);
  }
  return directives;
}

/** Seconds of a delta-seconds directive value (RFC 9111 §1.2.2), or undefined if malformed. */
function deltaSeconds(value: string | true | undefined): number | undefined {
  if (typeof value !== 'string' || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

/** The edge cache policy for an origin response's Cache-Control and scope header. */
export function cachePolicy(
  cacheControlHeader: string | null | undefined,
  options: { scopeHeader?: string | null } = {},
): CachePolicy {
  const directives = parseCacheControl(cacheControlHeader ?? '');
  let scope: CacheScope = directives.has('public') && !directives.has('private') ? 'PUBLIC' : 'USER';
  if (options.scopeHeader) {
    const declared = parseScope(options.scopeHeader) ?? 'USER';
    // The origin's scope header says who may share an answer that Cache-Control can only
    // call public or private: it narrows a public answer, and it is the one thing that may
    // widen a private answer — to the tenant, never further.
    scope = scope === 'USER' ? (declared === 'PUBLIC' ? 'USER' : declared) : narrowestScope(scope, declared);
  }

  const maxAge = deltaSeconds(directives.get('s-maxage')) ?? deltaSeconds(directives.get('max-age'));
  const forbidden = directives.has('no-store') || directives.has('no-cache');
  if (forbidden || maxAge === undefined || maxAge === 0) return { cacheable: false, scope, maxAgeMs: 0, swrMs: 0 };

  const maxAgeMs = maxAge * 1000;
  const mustRevalidate = directives.has('must-revalidate') || directives.has('proxy-revalidate');
  const swr = deltaSeconds(directives.get('stale-while-revalidate'));
  const swrMs = mustRevalidate ? 0 : swr !== undefined ? swr * 1000 : Math.round(maxAgeMs * DEFAULT_SWR_RATIO);
  return { cacheable: true, scope, maxAgeMs, swrMs };
}

/**
 * The Cache-Control a client gets for an answer of `scope`: a TENANT or USER answer is
 * `private` whatever the origin said, so no shared cache in front of the edge (a CDN, a
 * corporate proxy) can hand one tenant's or user's answer to another (RFC 9111 §5.2.2.7:
 * private "indicates that a shared cache MUST NOT store the response").
 */
export function clientCacheControl(originHeader: string, scope: CacheScope): string {
  if (scope === 'PUBLIC') return originHeader;
  const directives = originHeader
    .split(',')
    .map((d) => d.trim())
    .filter((d) => d !== '' && !/^(public|private|s-maxage\s*=.*)$/i.test(d));
  return ['private', ...directives].join(', ');
}
