/**
 * The claim rules every Meridian verifier applies after the signature checks out. Subject,
 * tenant and scopes end up in upstream header values, log lines and event envelopes, so each
 * is held to a shape those can carry.
 */
import type { JWTPayload } from 'jose';

/** The platform tenant rule; the same pattern as `tenant` in schemas/events/envelope.v1.json. */
export const TENANT_PATTERN = /^[a-z0-9-]{1,64}$/;
/** At most this many scopes per token: bounds the header the edge forwards. */
export const MAX_SCOPES = 64;
// Visible ASCII without spaces: safe as a header value and as a space-separated list item.
const VISIBLE_ASCII = /^[\x21-\x7e]{1,256}$/;

/** Subject, tenant and scopes of a verified token. */
export interface Claims {
  readonly subject: string;
  readonly tenant: string;
  readonly scopes: readonly string[];
}

/** Claims that pass the rules, or a client-safe reason naming the claim that does not. */
export type ClaimsCheck =
  | { readonly ok: true; readonly claims: Claims }
  | { readonly ok: false; readonly message: string };

/** RFC 9068 §2.2.3 uses a space-separated `scope`; Meridian's issuer a `scopes` array. Both are accepted. */
function scopesOf(payload: JWTPayload): string[] | undefined {
  const { scopes, scope } = payload;
  let list: unknown[];
  if (scopes !== undefined) {
    if (!Array.isArray(scopes)) return undefined;
    list = scopes;
  } else if (scope !== undefined) {
    if (typeof scope !== 'string') return undefined;
    list = scope.split(' ').filter((s) => s !== '');
  } else {
    list = [];
  }
  if (list.length > MAX_SCOPES) return undefined;
  return list.every((s): s is string => typeof s === 'string' && VISIBLE_ASCII.test(s)) ? list : undefined;
}

/** Applies the sub, tenant and scope rules to a verified payload. */
export function checkClaims(payload: JWTPayload): ClaimsCheck {
  const { sub, tenant } = payload;
  if (typeof sub !== 'string' || !VISIBLE_ASCII.test(sub)) {
    return { ok: false, message: 'token "sub" claim must be 1-256 visible ASCII characters' };
  }
  if (typeof tenant !== 'string' || !TENANT_PATTERN.test(tenant)) {
    return { ok: false, message: 'token "tenant" claim must be 1-64 characters of [a-z0-9-]' };
  }
  const scopes = scopesOf(payload);
  if (scopes === undefined) {
    return {
      ok: false,
      message: `token "scopes" must be an array (or "scope" a space-separated string) of at most ${MAX_SCOPES} visible ASCII scopes`,
    };
  }
  return { ok: true, claims: { subject: sub, tenant, scopes } };
}
