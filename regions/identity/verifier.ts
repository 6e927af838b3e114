/**
 * Bearer token verification: turns an `Authorization` header into an Actor or a
 * DomainError. Only asymmetric algorithms are accepted, so neither `alg: none` nor an
 * HS256 token "signed" with a public key can pass (the classic algorithm confusion).
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import type { Actor } from '../../domains/shared/actor.ts';
import { DomainError } from '../../domains/shared/errors.ts';

/** Where the trusted public keys come from. */
export type JwksSource = { url: string } | { keys: JWK[] } | (() => Promise<{ keys: JWK[] }>);

/** Options of createTokenVerifier. */
export interface TokenVerifierOptions {
  readonly issuer: string;
  readonly audience: string;
  readonly jwks: JwksSource;
  /** Allowed clock skew for exp/nbf/iat; 30 s by default. */
  readonly clockToleranceSeconds?: number;
  /**
   * Minimum time between key-set reloads triggered by an unknown kid (remote or function
   * source); 30 s by default, so a stream of tokens with random kids cannot hammer the issuer.
   */
  readonly cooldownSeconds?: number;
  /** Keys from a remote or function source are refreshed after this long; 600 s by default. */
  readonly cacheMaxAgeSeconds?: number;
}

/** Verifies `Authorization: Bearer <jwt>` headers. */
export interface TokenVerifier {
  /** The caller, or a DomainError: UNAUTHENTICATED, or DEPENDENCY_UNAVAILABLE when the keys cannot be fetched. */
  verify(authorization: string | null | undefined): Promise<Actor>;
}

const ALGORITHMS = ['ES256', 'RS256'];
// RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token; the scheme is case-insensitive (RFC 9110 §11.1).
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;
const MAX_HEADER = 16 * 1024;

/** Marks a failure to obtain keys (network, HTTP status, bad JSON): the caller is not at fault. */
class KeySourceUnavailable extends Error {}

/** Errors that say something about the token rather than about the key source. */
function isTokenFault(err: unknown): boolean {
  return (
    err instanceof errors.JWKSNoMatchingKey ||
    err instanceof errors.JWKSMultipleMatchingKeys ||
    err instanceof errors.JOSENotSupported
  );
}

/** Wraps a key resolver so infrastructure failures are told apart from bad tokens. */
function guarded(getKey: JWTVerifyGetKey): JWTVerifyGetKey {
  return async function resolveKey(header, token) {
    try {
      return await getKey(header, token);
    } catch (err) {
      if (isTokenFault(err)) throw err;
      throw new KeySourceUnavailable('the token issuer keys could not be loaded', { cause: err });
    }
  };
}

/** A key set loaded from a function, refreshed on unknown kid (rate-limited) and when stale. */
function providedKeySet(load: () => Promise<{ keys: JWK[] }>, cooldownMs: number, maxAgeMs: number): JWTVerifyGetKey {
  let current: { set: ReturnType<typeof createLocalJWKSet>; at: number } | undefined;
  let pending: Promise<void> | undefined;
  const reload = (): Promise<void> => {
    pending ??= load()
      .then((jwks) => {
        current = { set: createLocalJWKSet(jwks), at: Date.now() };
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
  const loaded = async () => {
    if (current === undefined || Date.now() - current.at >= maxAgeMs) await reload();
    if (current === undefined) throw new Error('key set did not load');
    return current;
  };
  return async function providedKey(header, token) {
    const keys = await loaded();
    try {
      return await keys.set(header, token);
    } catch (err) {
      if (!(err instanceof errors.JWKSNoMatchingKey) || Date.now() - keys.at < cooldownMs) throw err;
      await reload();
      return (await loaded()).set(header, token);
    }
  };
}

function keyResolver(source: JwksSource, cooldownMs: number, maxAgeMs: number): JWTVerifyGetKey {
  if (typeof source === 'function') return providedKeySet(source, cooldownMs, maxAgeMs);
  if ('url' in source) {
    // createRemoteJWKSet re-fetches when a token names a kid it has not seen (key rotation).
    return createRemoteJWKSet(new URL(source.url), { cooldownDuration: cooldownMs, cacheMaxAge: maxAgeMs });
  }
  return createLocalJWKSet({ keys: source.keys });
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
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return `malformed token: ${err.message}`;
  return 'token rejected';
}

/** RFC 9068 §2.2.3 puts scopes in a space-separated `scope`; ours is a `scopes` array. Accept both. */
function scopesOf(payload: JWTPayload): string[] {
  const { scopes, scope } = payload;
  if (scopes !== undefined) {
    if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string')) {
      throw new DomainError('UNAUTHENTICATED', 'token "scopes" claim must be an array of strings');
    }
    return scopes;
  }
  if (typeof scope === 'string') return scope.split(' ').filter((s) => s !== '');
  return [];
}

/** Creates a verifier trusting one issuer and audience, with keys from a URL, a list or a function. */
export function createTokenVerifier(opts: TokenVerifierOptions): TokenVerifier {
  const { issuer, audience, clockToleranceSeconds = 30, cooldownSeconds = 30, cacheMaxAgeSeconds = 600 } = opts;
  const getKey = guarded(keyResolver(opts.jwks, cooldownSeconds * 1000, cacheMaxAgeSeconds * 1000));

  async function verify(authorization: string | null | undefined): Promise<Actor> {
    if (authorization === null || authorization === undefined || authorization === '') {
      throw new DomainError('UNAUTHENTICATED', 'missing Authorization header (expected "Bearer <jwt>")');
    }
    const match = authorization.length <= MAX_HEADER ? BEARER.exec(authorization.trim()) : null;
    if (match === null) throw new DomainError('UNAUTHENTICATED', 'Authorization header is not "Bearer <jwt>"');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(match[1] as string, getKey, {
        issuer,
        audience,
        algorithms: ALGORITHMS,
        clockTolerance: clockToleranceSeconds,
        // Without exp a leaked token would be valid forever.
        requiredClaims: ['exp'],
      }));
    } catch (err) {
      if (err instanceof KeySourceUnavailable) {
        throw new DomainError('DEPENDENCY_UNAVAILABLE', err.message, { retryable: true, cause: err.cause });
      }
      throw new DomainError('UNAUTHENTICATED', reasonOf(err), { cause: err });
    }
    const { sub, tenant } = payload;
    if (typeof sub !== 'string' || sub === '') throw new DomainError('UNAUTHENTICATED', 'token has no "sub" claim');
    if (typeof tenant !== 'string' || tenant === '') {
      throw new DomainError('UNAUTHENTICATED', 'token has no "tenant" claim');
    }
    return { subject: sub, tenant, scopes: scopesOf(payload) };
  }

  return { verify };
}
