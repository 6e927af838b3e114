/**
 * Edge authentication: turns `Authorization: Bearer <jwt>` into a caller or a value-typed
 * error. The rules live in token-verifier.ts, shared with the regions; this adapter adds
 * the edge's view: no header is anonymous, failures carry an HTTP status. The region
 * verifies the token again; the edge checks it so bad traffic never reaches a region and
 * rate limits can key on its claims.
 */
import { createJwtVerifier, type FetchLike } from './token-verifier.ts';

export type { FetchLike } from './token-verifier.ts';

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
      /** The token's `exp` in ms since the epoch: a WebSocket opened with it closes then. */
      readonly expiresAt: number;
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

function unauthenticated(message: string): AuthResult {
  return { kind: 'error', status: 401, code: 'UNAUTHENTICATED', message };
}

/** Creates an authenticator trusting one issuer and audience, with keys from the issuer's JWKS URL. */
export function createEdgeAuth(opts: EdgeAuthOptions): EdgeAuth {
  const { jwksUrl, ...shared } = opts;
  const verifier = createJwtVerifier({ ...shared, keys: { url: jwksUrl } });

  async function authenticate(request: Request): Promise<AuthResult> {
    const authorization = request.headers.get('authorization');
    if (authorization === null) return { kind: 'anonymous' };
    const outcome = await verifier.verify(authorization);
    if (outcome.ok) return { kind: 'user', ...outcome.claims };
    if (outcome.kind === 'unavailable') {
      return { kind: 'error', status: 503, code: 'UNAVAILABLE', message: outcome.message };
    }
    return unauthenticated(outcome.message);
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
