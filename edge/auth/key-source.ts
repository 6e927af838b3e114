/**
 * Where a token verifier gets the issuer's public keys, and the cache in front of them.
 * Web-standard only (fetch, jose's webapi build), so the edge and the regions share it.
 * A failure to obtain keys is thrown as KeysUnavailable: the caller's token is not at fault.
 */
import { createLocalJWKSet, errors, type JSONWebKeySet, type JWK, type JWTVerifyGetKey } from 'jose';

/** The fetch signature used for a JWKS URL (a subset of the global fetch). */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** Trusted public keys: a JWKS URL, a fixed list, or a function returning a JWKS (an in-process issuer). */
export type KeySource = { readonly url: string } | { readonly keys: JWK[] } | (() => Promise<{ keys: JWK[] }>);

/** Options of keyResolver; all durations are already validated. */
export interface KeyCacheOptions {
  /** Minimum time between reloads triggered by an unknown kid. */
  readonly cooldownMs: number;
  /** Keys older than this are reloaded before use. */
  readonly maxAgeMs: number;
  /** Fetch for a URL source. */
  readonly fetch: FetchLike;
  /** Abort a JWKS fetch after this long. */
  readonly timeoutMs: number;
}

/** Keys could not be obtained (network, HTTP status, JSON, an unusable key): answer 503, not 401. */
export class KeysUnavailable extends Error {
  override readonly name = 'KeysUnavailable';
}

type LocalKeySet = ReturnType<typeof createLocalJWKSet>;

/** Errors a key lookup raises because of the token (its kid or alg), not because of the keys. */
function isTokenFault(err: unknown): boolean {
  return (
    err instanceof errors.JWKSNoMatchingKey ||
    err instanceof errors.JWKSMultipleMatchingKeys ||
    err instanceof errors.JOSENotSupported ||
    err instanceof errors.JOSEAlgNotAllowed
  );
}

/** Looks a key up in a loaded set; an error that is not the token's fault means a key we cannot use. */
async function lookUp(set: LocalKeySet, ...args: Parameters<JWTVerifyGetKey>) {
  try {
    return await set(...args);
  } catch (err) {
    if (isTokenFault(err)) throw err;
    throw new KeysUnavailable('a key the token issuer publishes cannot be used', { cause: err });
  }
}

async function fetchJwks(url: string, fetchFn: FetchLike, timeoutMs: number): Promise<JSONWebKeySet> {
  const response = await fetchFn(url, {
    method: 'GET',
    // A JWKS behind a redirect is a misconfiguration we want to see, not follow to another origin.
    redirect: 'manual',
    signal: AbortSignal.timeout(timeoutMs),
    headers: { accept: 'application/json, application/jwk-set+json' },
  });
  if (response.status !== 200) {
    await response.body?.cancel();
    throw new Error(`JWKS ${url} answered HTTP ${response.status}`);
  }
  return (await response.json()) as JSONWebKeySet;
}

/**
 * A key set loaded on first use, reloaded when older than maxAge, and reloaded once when a
 * token names a kid it does not hold (key rotation). Unknown-kid reloads are at most one per
 * cooldown, so a stream of random kids cannot turn the verifier into a load generator on the
 * issuer; a set loaded for this very call is not reloaded again.
 */
function cachedKeySet(load: () => Promise<unknown>, opts: KeyCacheOptions): JWTVerifyGetKey {
  let current: { set: LocalKeySet; at: number } | undefined;
  let pending: Promise<{ set: LocalKeySet; at: number }> | undefined;
  let lastKidReload = Number.NEGATIVE_INFINITY;

  const reload = () => {
    pending ??= (async () => {
      try {
        // createLocalJWKSet validates the shape, so a malformed answer is a load failure too.
        current = { set: createLocalJWKSet((await load()) as JSONWebKeySet), at: Date.now() };
        return current;
      } catch (err) {
        throw new KeysUnavailable('the token issuer keys could not be loaded', { cause: err });
      }
    })().finally(() => {
      pending = undefined;
    });
    return pending;
  };

  return async function cachedKey(header, token) {
    let keys = current;
    let loadedNow = false;
    if (keys === undefined || Date.now() - keys.at >= opts.maxAgeMs) {
      keys = await reload();
      loadedNow = true;
    }
    try {
      return await lookUp(keys.set, header, token);
    } catch (err) {
      const mayReload = !loadedNow && Date.now() - lastKidReload >= opts.cooldownMs;
      if (!(err instanceof errors.JWKSNoMatchingKey) || !mayReload) throw err;
      lastKidReload = Date.now();
      return lookUp((await reload()).set, header, token);
    }
  };
}

/** The key resolver for jwtVerify over a key source; loading failures throw KeysUnavailable. */
export function keyResolver(source: KeySource, opts: KeyCacheOptions): JWTVerifyGetKey {
  if (typeof source === 'function') return cachedKeySet(source, opts);
  if ('url' in source) {
    const url = new URL(source.url).href;
    return cachedKeySet(() => fetchJwks(url, opts.fetch, opts.timeoutMs), opts);
  }
  // A fixed list cannot change, so it is checked once here and never reloaded.
  const set = createLocalJWKSet({ keys: source.keys });
  return function staticKey(header, token) {
    return lookUp(set, header, token);
  };
}
