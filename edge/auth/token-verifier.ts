/**
 * The one JWT verification of Meridian: turns an `Authorization: Bearer <jwt>` header into
 * verified claims or a value-typed failure, on web-standard APIs only (jose's webapi build).
 * The edge (auth/jwt.ts) and the regions (regions/identity/verifier.ts) are thin adapters
 * over it, so both ends of a request apply exactly the same rules.
 *
 * Only asymmetric algorithms are accepted, so neither `alg: none` nor an HS256 token
 * "signed" with the public key (the classic algorithm confusion) can pass; jose rejects a
 * disallowed alg before it asks for a key, so such a token is invalid even while keys are down.
 */
import { errors, type JWTPayload, jwtVerify } from 'jose';
import { checkClaims } from './claims.ts';
import { type FetchLike, type KeySource, KeysUnavailable, keyResolver } from './key-source.ts';

export { MAX_SCOPES, TENANT_PATTERN } from './claims.ts';
export type { FetchLike, KeySource } from './key-source.ts';

/** Options of createJwtVerifier. */
export interface JwtVerifierOptions {
  readonly issuer: string;
  readonly audience: string;
  readonly keys: KeySource;
  /** Allowed clock skew for exp/nbf; 30 s by default. */
  readonly clockToleranceSeconds?: number;
  /** Minimum time between key reloads triggered by an unknown kid; 30 s by default. */
  readonly cooldownSeconds?: number;
  /** Keys from a URL or function are reloaded after this long; 600 s by default. */
  readonly cacheMaxAgeSeconds?: number;
  /** Fetch for a URL key source; the global fetch by default (tests inject one). */
  readonly fetch?: FetchLike;
  /** Abort a JWKS fetch after this long; 5000 ms by default. */
  readonly jwksTimeoutMs?: number;
}

/** A verified token: who, for which tenant, with which scopes, and the raw JWT. */
export interface VerifiedClaims {
  readonly subject: string;
  readonly tenant: string;
  readonly scopes: readonly string[];
  readonly token: string;
  /** When the token stops being valid (its `exp`, ms since the epoch): long-lived connections end then. */
  readonly expiresAt: number;
}

/**
 * The outcome of one verification. `invalid`: the caller's fault (401). `unavailable`: the
 * issuer's keys could not be loaded (503, retry later). `message` is client-safe and never
 * echoes the token; `cause` is for logs only.
 */
export type JwtOutcome =
  | { readonly ok: true; readonly claims: VerifiedClaims }
  | {
      readonly ok: false;
      readonly kind: 'invalid' | 'unavailable';
      readonly message: string;
      readonly cause?: unknown;
    };

/** Verifies Authorization header values. */
export interface JwtVerifier {
  /** Verified claims, or why not; never throws. */
  verify(authorization: string | null | undefined): Promise<JwtOutcome>;
}

/** Only these algorithms are accepted. */
export const ALGORITHMS = ['ES256', 'RS256'] as const;
/** The longest Authorization header considered: a JWT bigger than this is not one we issue. */
export const MAX_AUTHORIZATION_LENGTH = 8 * 1024;
// RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token; the scheme is case-insensitive (RFC 9110 §11.1).
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

function invalid(message: string, cause?: unknown): JwtOutcome {
  return { ok: false, kind: 'invalid', message, ...(cause === undefined ? {} : { cause }) };
}

/** A client-safe reason for a jose error; jose's claim messages name the claim, never its value. */
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

function seconds(value: number | undefined, fallback: number, name: string): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v < 0) throw new TypeError(`${name} must be a non-negative number, got ${value}`);
  return v;
}

/** Creates a verifier trusting one issuer and audience, with keys from a URL, a list or a function. */
export function createJwtVerifier(opts: JwtVerifierOptions): JwtVerifier {
  const { issuer, audience } = opts;
  const clockTolerance = seconds(opts.clockToleranceSeconds, 30, 'clockToleranceSeconds');
  const getKey = keyResolver(opts.keys, {
    cooldownMs: seconds(opts.cooldownSeconds, 30, 'cooldownSeconds') * 1000,
    maxAgeMs: seconds(opts.cacheMaxAgeSeconds, 600, 'cacheMaxAgeSeconds') * 1000,
    timeoutMs: seconds(opts.jwksTimeoutMs, 5000, 'jwksTimeoutMs'),
    fetch: opts.fetch ?? ((url, init) => fetch(url, init)),
  });

  async function verify(authorization: string | null | undefined): Promise<JwtOutcome> {
    if (authorization === null || authorization === undefined || authorization === '') {
      return invalid('missing Authorization header (expected "Bearer <jwt>")');
    }
    if (authorization.length > MAX_AUTHORIZATION_LENGTH) {
      return invalid(`Authorization header is longer than ${MAX_AUTHORIZATION_LENGTH} characters`);
    }
    const match = BEARER.exec(authorization.trim());
    if (match === null) return invalid('Authorization header is not "Bearer <jwt>"');
    const token = match[1] as string;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, getKey, {
        issuer,
        audience,
        algorithms: [...ALGORITHMS],
        clockTolerance,
        // Without exp a leaked token would be valid forever.
        requiredClaims: ['exp'],
      }));
    } catch (err) {
      if (err instanceof KeysUnavailable) {
        return { ok: false, kind: 'unavailable', message: 'the token issuer keys could not be loaded', cause: err };
      }
      return invalid(reasonOf(err), err);
    }
    const checked = checkClaims(payload);
    if (!checked.ok) return invalid(checked.message);
    return { ok: true, claims: { ...checked.claims, token, expiresAt: (payload.exp as number) * 1000 } };
  }

  return { verify };
}
