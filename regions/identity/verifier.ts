/**
 * Bearer token verification for the regions: the edge's web-standard verifier
 * (edge/auth/token-verifier.ts, the one set of rules both ends apply) with its outcomes
 * turned into an Actor or a DomainError at this boundary.
 */
import type { Actor } from '../../domains/shared/actor.ts';
import { DomainError } from '../../domains/shared/errors.ts';
import { createJwtVerifier, type FetchLike, type KeySource } from '../../edge/auth/token-verifier.ts';

/** Where the trusted public keys come from: a JWKS URL, a fixed list, or a function (the in-process dev issuer). */
export type JwksSource = KeySource;

/** Options of createTokenVerifier. */
export interface TokenVerifierOptions {
  readonly issuer: string;
  readonly audience: string;
  readonly jwks: JwksSource;
  /** Allowed clock skew for exp/nbf; 30 s by default. */
  readonly clockToleranceSeconds?: number;
  /**
   * Minimum time between key-set reloads triggered by an unknown kid (remote or function
   * source); 30 s by default, so a stream of tokens with random kids cannot hammer the issuer.
   */
  readonly cooldownSeconds?: number;
  /** Keys from a remote or function source are refreshed after this long; 600 s by default. */
  readonly cacheMaxAgeSeconds?: number;
  /** Fetch for a URL source; the global fetch by default (tests inject one). */
  readonly fetch?: FetchLike;
  /** Abort a JWKS fetch after this long; 5000 ms by default. */
  readonly jwksTimeoutMs?: number;
}

/** A verified caller of a long-lived connection, with when their token expires (ms since the epoch). */
export interface VerifiedSession {
  readonly actor: Actor;
  readonly expiresAt: number;
}

/** Verifies `Authorization: Bearer <jwt>` headers. */
export interface TokenVerifier {
  /** The caller, or a DomainError: UNAUTHENTICATED, or DEPENDENCY_UNAVAILABLE when the keys cannot be fetched. */
  verify(authorization: string | null | undefined): Promise<Actor>;
  /** As verify, plus the token's expiry, for connections that must end when it does (WebSockets). */
  session(authorization: string | null | undefined): Promise<VerifiedSession>;
}

/** Creates a verifier trusting one issuer and audience, with keys from a URL, a list or a function. */
export function createTokenVerifier(opts: TokenVerifierOptions): TokenVerifier {
  const { jwks, ...shared } = opts;
  const verifier = createJwtVerifier({ ...shared, keys: jwks });

  async function session(authorization: string | null | undefined): Promise<VerifiedSession> {
    const outcome = await verifier.verify(authorization);
    if (outcome.ok) {
      const { subject, tenant, scopes, expiresAt } = outcome.claims;
      return { actor: { subject, tenant, scopes }, expiresAt };
    }
    if (outcome.kind === 'unavailable') {
      throw new DomainError('DEPENDENCY_UNAVAILABLE', outcome.message, { retryable: true, cause: outcome.cause });
    }
    throw new DomainError('UNAUTHENTICATED', outcome.message, { cause: outcome.cause });
  }

  return { verify: async (authorization) => (await session(authorization)).actor, session };
}
