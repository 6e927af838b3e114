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
  /** The clock key ages are measured with (Date.now by default). */
  readonly now?: () => number;
}

/**
 * Resolves a token's key, and says which load of the key set answered. Every successful load
 * is a new generation; a generation stays current until the next load, or until it is old
 * enough that the next lookup would reload it. Whatever was verified with a key of a
 * generation that is no longer current must be verified again: the key may be gone.
 */
export interface KeyResolver {
  resolve(
    ...args: Parameters<JWTVerifyGetKey>
  ): Promise<{ key: Awaited<ReturnType<JWTVerifyGetKey>>; generation: number }>;
  /** Whether a lookup now would still use the key set of `generation` (no reload due or done). */
  isCurrent(generation: number): boolean;
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
function cachedKeySet(load: () => Promise<unknown>, opts: KeyCacheOptions): KeyResolver {
  const now = opts.now ?? Date.now;
  let current: { set: LocalKeySet; at: number; generation: number } | undefined;
  let pending: Promise<{ set: LocalKeySet; at: number; generation: number }> | undefined;
  let lastKidReload = Number.NEGATIVE_INFINITY;
  let generations = 0;

  const reload = () => {
    pending ??= (async () => {
      try {
        // createLocalJWKSet validates the shape, so a malformed answer is a load failure too.
        const set = createLocalJWKSet((await load()) as JSONWebKeySet);
        current = { set, at: now(), generation: ++generations };
        return current;
      } catch (err) {
        throw new KeysUnavailable('the token issuer keys could not be loaded', { cause: err });
      }
    })().finally(() => {
      pending = undefined;
    });
    return pending;
  };

  return {
    async resolve(header, token) {
      let keys = current;
      let loadedNow = false;
      if (keys === undefined || now() - keys.at >= opts.maxAgeMs) {
        keys = await reload();
        loadedNow = true;
      }
      try {
        return { key: await lookUp(keys.set, header, token), generation: keys.generation };
      } catch (err) {
        const mayReload = !loadedNow && now() - lastKidReload >= opts.cooldownMs;
        if (!(err instanceof errors.JWKSNoMatchingKey) || !mayReload) throw err;
        lastKidReload = now();
        const fresh = await reload();
        return { key: await lookUp(fresh.set, header, token), generation: fresh.generation };
      }
    },
    isCurrent(generation) {
      return current !== undefined && current.generation === generation && now() - current.at < opts.maxAgeMs;
    },
  };
}

/** The key resolver over a key source; loading failures throw KeysUnavailable. */
export function keyResolver(source: KeySource, opts: KeyCacheOptions): KeyResolver {
  if (typeof source === 'function') return cachedKeySet(source, opts);
  if ('url' in source) {
    const url = new URL(source.url).href;
    return cachedKeySet(() => fetchJwks(url, opts.fetch, opts.timeoutMs), opts);
  }
  // A fixed list cannot change, so it is checked once here and never reloaded: one generation forever.
  const set = createLocalJWKSet({ keys: source.keys });
  return {
    resolve: async (header, token) => ({ key: await lookUp(set, header, token), generation: 0 }),
    isCurrent: (generation) => generation === 0,
  };
}
