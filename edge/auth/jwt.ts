/**
 * Edge authentication: turns `Authorization: Bearer <jwt>` into a caller or a value-typed
 * error, on web-standard APIs only (jose's webapi build). Only asymmetric algorithms are
 * accepted, so neither `alg: none` nor an HS256 token "signed" with the public key (the
 * classic algorithm confusion) can pass. The region verifies the token again; the edge
 * checks it so bad traffic never reaches a region and rate limits can key on its claims.
 */
import { createRemoteJWKSet, customFetch, errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';

/** The outcome of authenticating one request; failures are values, not exceptions. */
export type AuthResult =
  | { readonly kind: 'anonymous' }
  | {
      readonly kind: 'user';
      readonly subject: string;
      readonly tenant: string;
      readonly scopes: readonly string[];
      /** The raw JWT, forwarded so the region can verify it again. */
      readonly token: string;
    }
  | {
      readonly kind: 'error';
      /** 503 when the issuer's keys cannot be loaded: the caller's token is not at fault. */
      readonly status: 401 | 403 | 503;
      readonly code: AuthErrorCode;
      /** Client-safe reason (never echoes the token). */
      readonly message: string;
    };

/** Codes of AuthResult errors. */
export const AUTH_ERROR_CODES = ['UNAUTHENTICATED', 'FORBIDDEN', 'UNAVAILABLE'] as const;
/** One of AUTH_ERROR_CODES. */
export type AuthErrorCode = (typeof AUTH_ERROR_CODES)[number];

/** The fetch signature jose calls for the JWKS (a subset of the global fetch). */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** Options of createEdgeAuth. */
export interface EdgeAuthOptions {
  readonly issuer: string;
  readonly audience: string;
  /** The issuer's JWKS, e.g. `http://127.0.0.1:41000/.well-known/jwks.json`. */
  readonly jwksUrl: string;
  /** Allowed clock skew for exp/nbf/iat; 30 s by default. */
  readonly clockToleranceSeconds?: number;
  /** Fetch used for the JWKS; the global fetch by default (tests inject one). */
  readonly fetch?: FetchLike;
  /**
   * Minimum time between JWKS reloads triggered by an unknown kid; 30 s by default, so a
   * stream of tokens with random kids cannot turn the edge into a load generator on the issuer.
   */
  readonly cooldownSeconds?: number;
  /** Keys are refetched after this long even without an unknown kid; 600 s by default. */
  readonly cacheMaxAgeSeconds?: number;
  /** Abort a JWKS fetch after this long; 5000 ms by default. */
  readonly jwksTimeoutMs?: number;
}

/** Authenticates requests at the edge. */
export interface EdgeAuth {
  /** No Authorization header → anonymous; a verified token → user; anything else → error. */
  authenticate(request: Request): Promise<AuthResult>;
}

/** Headers the edge sets upstream; a client-sent copy must never reach a region (see stripIdentityHeaders). */
export const IDENTITY_HEADERS = ['x-meridian-tenant', 'x-meridian-subject', 'x-meridian-scopes'] as const;

const ALGORITHMS = ['ES256', 'RS256'];
// RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token; the scheme is case-insensitive (RFC 9110 §11.1).
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;
// A JWT bigger than this is not one we issue; refusing early bounds the work per request.
const MAX_AUTHORIZATION = 8 * 1024;
// Claims are forwarded as header values, so they must be visible ASCII without spaces.
const HEADER_SAFE = /^[\x21-\x7e]{1,256}$/;
const MAX_SCOPES = 64;

/** Marks a failure to obtain keys (network, status, JSON): the caller is not at fault. */
class KeysUnavailable extends Error {}

function unauthenticated(message: string): AuthResult {
  return { kind: 'error', status: 401, code: 'UNAUTHENTICATED', message };
}

/** Errors that describe the token rather than the key source. */
function isTokenFault(err: unknown): boolean {
  return (
    err instanceof errors.JWKSNoMatchingKey ||
    err instanceof errors.JWKSMultipleMatchingKeys ||
    err instanceof errors.JOSENotSupported ||
    err instanceof errors.JOSEAlgNotAllowed
  );
}

/** Wraps a key resolver so an unreachable issuer is told apart from a bad token. */
function guarded(getKey: JWTVerifyGetKey): JWTVerifyGetKey {
  return async function resolveEdgeKey(header, token) {
    try {
      return await getKey(header, token);
    } catch (err) {
      if (isTokenFault(err)) throw err;
      throw new KeysUnavailable('the token issuer keys could not be loaded', { cause: err });
    }
  };
}

function reasonOf(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'token expired';
  if (err instanceof errors.JWTClaimValidationFailed) return `token rejected: ${err.message}`;
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'token signature does not verify';
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) {
    return `token algorithm not accepted (only ${ALGORITHMS.join(', ')})`;
  }
  if (err instanceof errors.JWKSNoMatchingKey) return 'no trusted key matches the token kid';
  if (err instanceof errors.JWKSMultipleMatchingKeys) return 'several trusted keys match; the token must name a kid';
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return 'malformed token';
  return 'token rejected';
}

/** RFC 9068 §2.2.3 uses a space-separated `scope`; Meridian's issuer a `scopes` array. Both are accepted. */
function scopesOf(payload: JWTPayload): string[] | undefined {
  const { scopes, scope } = payload;
  let list: unknown[];
  if (scopes !== undefined) {
    if (!Array.isArray(scopes)) return undefined;
    list = scopes;
  } else if (typeof scope === 'string') {
    list = scope.split(' ').filter((s) => s !== '');
  } else {
    list = [];
  }
  if (list.length > MAX_SCOPES) return undefined;
  return list.every((s): s is string => typeof s === 'string' && HEADER_SAFE.test(s)) ? list : undefined;
}

/** Creates an authenticator trusting one issuer and audience, with keys from the issuer's JWKS URL. */
export function createEdgeAuth(opts: EdgeAuthOptions): EdgeAuth {
  const { issuer, audience, clockToleranceSeconds = 30, cooldownSeconds = 30, cacheMaxAgeSeconds = 600 } = opts;
  // createRemoteJWKSet caches the set and refetches when a token names an unknown kid
  // (after the cooldown), so a rotated key is picked up without a restart.
  const remote = createRemoteJWKSet(new URL(opts.jwksUrl), {
    cooldownDuration: cooldownSeconds * 1000,
    cacheMaxAge: cacheMaxAgeSeconds * 1000,
    timeoutDuration: opts.jwksTimeoutMs ?? 5000,
    ...(opts.fetch === undefined ? {} : { [customFetch]: opts.fetch }),
  });
  const getKey = guarded(remote);

  async function authenticate(request: Request): Promise<AuthResult> {
    const authorization = request.headers.get('authorization');
    if (authorization === null) return { kind: 'anonymous' };
    const match = authorization.length <= MAX_AUTHORIZATION ? BEARER.exec(authorization.trim()) : null;
    if (match === null) return unauthenticated('Authorization header is not "Bearer <jwt>"');
    const token = match[1] as string;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, getKey, {
        issuer,
        audience,
        algorithms: ALGORITHMS,
        clockTolerance: clockToleranceSeconds,
        // Without exp a leaked token would be valid forever.
        requiredClaims: ['exp'],
      }));
    } catch (err) {
      if (err instanceof KeysUnavailable) {
        return { kind: 'error', status: 503, code: 'UNAVAILABLE', message: err.message };
      }
      return unauthenticated(reasonOf(err));
    }
    const { sub, tenant } = payload;
    if (typeof sub !== 'string' || !HEADER_SAFE.test(sub)) return unauthenticated('token has no usable "sub" claim');
    if (typeof tenant !== 'string' || !HEADER_SAFE.test(tenant)) {
      return unauthenticated('token has no usable "tenant" claim');
    }
    const scopes = scopesOf(payload);
    if (scopes === undefined) return unauthenticated('token "scopes" claim must be an array of scope strings');
    return { kind: 'user', subject: sub, tenant, scopes, token };
  }

  return { authenticate };
}

/** Narrows a user result to one holding every scope named, else a 403 FORBIDDEN result. */
export function requireScopes(auth: AuthResult, required: readonly string[]): AuthResult {
  if (auth.kind === 'error') return auth;
  if (auth.kind === 'anonymous') return unauthenticated('this operation needs a Bearer token');
  const missing = required.filter((s) => !auth.scopes.includes(s));
  if (missing.length === 0) return auth;
  return { kind: 'error', status: 403, code: 'FORBIDDEN', message: `token lacks scope ${missing.join(', ')}` };
}

/** The RFC 6750 §3 `WWW-Authenticate` value for a 401/403 result (undefined for others). */
export function wwwAuthenticate(auth: AuthResult): string | undefined {
  if (auth.kind !== 'error' || auth.status === 503) return undefined;
  const error = auth.status === 403 ? 'insufficient_scope' : 'invalid_token';
  // error_description must be quoted-string-safe: drop `"` and `\` rather than escape them.
  const description = auth.message.replace(/["\\]/g, '');
  return `Bearer error="${error}", error_description="${description}"`;
}

/** Headers to send upstream: identity for the region's logs and routing, plus the token it re-verifies. */
export function forwardHeaders(auth: AuthResult): Record<string, string> {
  if (auth.kind !== 'user') return {};
  return {
    authorization: `Bearer ${auth.token}`,
    'x-meridian-tenant': auth.tenant,
    'x-meridian-subject': auth.subject,
    'x-meridian-scopes': auth.scopes.join(' '),
  };
}

/** Removes client-supplied identity headers, so only forwardHeaders can set them. */
export function stripIdentityHeaders(headers: Headers): void {
  for (const name of IDENTITY_HEADERS) headers.delete(name);
}
