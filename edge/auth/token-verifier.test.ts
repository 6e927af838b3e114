import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  AUDIENCE,
  ISSUER,
  JWKS_URL,
  jwksServer,
  makeKey,
  type Normalised,
  sign,
  type TestKey,
  tokenVerifierContract,
  unsignedToken,
} from './token-verifier.contract.test.ts';
import { createJwtVerifier, type JwtOutcome } from './token-verifier.ts';

function normalise(outcome: JwtOutcome): Normalised {
  if (!outcome.ok) return { ok: false, kind: outcome.kind };
  const { subject, tenant, scopes } = outcome.claims;
  return { ok: true, subject, tenant, scopes };
}

tokenVerifierContract('core, URL key source', (t) => {
  const verifier = createJwtVerifier({ ...t, keys: { url: t.jwksUrl } });
  return async (authorization) => normalise(await verifier.verify(authorization));
});

describe('token verifier core', () => {
  let key: TestKey;
  before(async () => {
    key = await makeKey('key-a');
  });

  it('a verified outcome carries the raw token for forwarding, and when it expires', async () => {
    const verifier = createJwtVerifier({ issuer: ISSUER, audience: AUDIENCE, keys: { keys: [key.publicJwk] } });
    const exp = Math.floor(Date.now() / 1000) + 90;
    const token = await sign(key, { exp });
    const outcome = await verifier.verify(`Bearer ${token}`);
    assert.deepEqual(outcome, {
      ok: true,
      claims: {
        subject: 'user-1',
        tenant: 'acme',
        scopes: ['orders:read', 'orders:write'],
        token,
        expiresAt: exp * 1000,
      },
    });
  });

  it('failure messages say why and never echo the token', async () => {
    const verifier = createJwtVerifier({ issuer: ISSUER, audience: AUDIENCE, keys: { keys: [key.publicJwk] } });
    const exp = Math.floor(Date.now() / 1000) + 300;
    const cases: Array<[string | undefined, RegExp]> = [
      [undefined, /missing Authorization/],
      ['Basic dTE6cHc=', /not "Bearer <jwt>"/],
      [`Bearer ${'a'.repeat(9000)}`, /longer than 8192/],
      ['Bearer not.a.jwt', /malformed token/],
      [`Bearer ${await sign(key, { exp: 1 })}`, /expired/],
      [`Bearer ${await sign(key, { aud: 'x' })}`, /"aud"/],
      [`Bearer ${await sign(key, { exp: undefined })}`, /"exp"/],
      [`Bearer ${unsignedToken({ alg: 'none' }, { exp })}`, /algorithm not accepted/],
      [`Bearer ${await sign(await makeKey('other-kid'))}`, /no trusted key/],
      [`Bearer ${await sign(await makeKey('key-a'))}`, /signature/],
      [`Bearer ${await sign(key, { tenant: 'ACME' })}`, /"tenant"/],
    ];
    for (const [header, reason] of cases) {
      const outcome = await verifier.verify(header);
      assert.equal(outcome.ok, false, header);
      if (outcome.ok) continue;
      assert.equal(outcome.kind, 'invalid');
      assert.match(outcome.message, reason);
      const token = header?.split(' ')[1];
      if (token !== undefined) {
        for (const part of token.split('.').filter((p) => p.length > 3)) assert.ok(!outcome.message.includes(part));
      }
    }
  });

  it('a fixed key list is never reloaded and serves no rotation', async () => {
    const verifier = createJwtVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      keys: { keys: [key.publicJwk] },
      cooldownSeconds: 0,
    });
    const outcome = await verifier.verify(`Bearer ${await sign(await makeKey('key-b'))}`);
    assert.deepEqual(outcome.ok === false && [outcome.kind, outcome.message], [
      'invalid',
      'no trusted key matches the token kid',
    ]);
  });

  it('a function key source is loaded lazily and refreshed on an unknown kid', async () => {
    const next = await makeKey('key-b');
    let keys = [key.publicJwk];
    let loads = 0;
    const verifier = createJwtVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      keys: async () => {
        loads += 1;
        return { keys };
      },
    });
    assert.equal(loads, 0);
    assert.equal((await verifier.verify(`Bearer ${await sign(key)}`)).ok, true);
    keys = [key.publicJwk, next.publicJwk];
    assert.equal((await verifier.verify(`Bearer ${await sign(next)}`)).ok, true);
    assert.equal(loads, 2);
  });

  it('concurrent requests on a cold cache share one key load', async () => {
    const server = jwksServer([key]);
    const verifier = createJwtVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      keys: { url: JWKS_URL },
      fetch: server.fetch,
    });
    const token = await sign(key);
    const outcomes = await Promise.all(Array.from({ length: 5 }, () => verifier.verify(`Bearer ${token}`)));
    assert.ok(outcomes.every((o) => o.ok));
    assert.equal(server.state.fetches, 1);
  });

  it('an unavailable outcome keeps the cause for logs but a fixed client message', async () => {
    const server = jwksServer([key]);
    server.state.mode = 'down';
    const verifier = createJwtVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      keys: { url: JWKS_URL },
      fetch: server.fetch,
    });
    const outcome = await verifier.verify(`Bearer ${await sign(key)}`);
    assert.equal(outcome.ok, false);
    if (outcome.ok) return;
    assert.equal(outcome.kind, 'unavailable');
    assert.equal(outcome.message, 'the token issuer keys could not be loaded');
    assert.ok(outcome.cause instanceof Error);
  });

  it('rejects nonsense options at construction', () => {
    const base = { issuer: ISSUER, audience: AUDIENCE, keys: { url: JWKS_URL } };
    assert.throws(() => createJwtVerifier({ ...base, cooldownSeconds: -1 }), /cooldownSeconds/);
    assert.throws(() => createJwtVerifier({ ...base, clockToleranceSeconds: Number.NaN }), /clockToleranceSeconds/);
    assert.throws(() => createJwtVerifier({ ...base, keys: { url: 'not a url' } }));
  });
});

describe('token verifier: verified tokens remembered until they expire', () => {
  let keyA: TestKey;
  let keyB: TestKey;
  before(async () => {
    [keyA, keyB] = await Promise.all([makeKey('key-a'), makeKey('key-b')]);
  });

  /** Counts signature checks (jose's webapi build verifies through crypto.subtle.verify). */
  async function countingVerifies<T>(fn: () => Promise<T>): Promise<{ result: T; verifies: number }> {
    const subtle = crypto.subtle;
    const original = subtle.verify;
    let verifies = 0;
    subtle.verify = function (this: SubtleCrypto, ...args: Parameters<SubtleCrypto['verify']>) {
      verifies += 1;
      return original.apply(this, args);
    } as SubtleCrypto['verify'];
    try {
      return { result: await fn(), verifies };
    } finally {
      subtle.verify = original;
    }
  }

  /** Two verifiers on one issuer and clock, one remembering and one not: they must always agree. */
  function pair(keys: TestKey[]) {
    const server = jwksServer(keys);
    const clock = { ms: Date.now() };
    const options = {
      issuer: ISSUER,
      audience: AUDIENCE,
      keys: { url: JWKS_URL },
      fetch: server.fetch,
      now: () => clock.ms,
    };
    const cached = createJwtVerifier(options);
    const fresh = createJwtVerifier({ ...options, verifiedCacheBytes: 0 });
    const both = async (token: string) => {
      const [a, b] = [
        normalise(await cached.verify(`Bearer ${token}`)),
        normalise(await fresh.verify(`Bearer ${token}`)),
      ];
      assert.deepEqual(a, b, 'the remembering verifier agrees with one that checks every time');
      return a;
    };
    return { server, clock, cached, both };
  }

  it('a repeated token is checked once, then answered from memory with the same claims', async () => {
    const verifier = createJwtVerifier({ issuer: ISSUER, audience: AUDIENCE, keys: { keys: [keyA.publicJwk] } });
    const token = await sign(keyA);
    const first = await countingVerifies(() => verifier.verify(`Bearer ${token}`));
    assert.equal(first.verifies, 1);
    const again = await countingVerifies(async () => {
      const outcomes = [];
      for (let i = 0; i < 5; i++) outcomes.push(await verifier.verify(`Bearer ${token}`));
      return outcomes;
    });
    assert.equal(again.verifies, 0);
    for (const outcome of again.result) assert.deepEqual(outcome, first.result);
  });

  it('a tampered copy of a remembered token is checked, and refused', async () => {
    const verifier = createJwtVerifier({ issuer: ISSUER, audience: AUDIENCE, keys: { keys: [keyA.publicJwk] } });
    const token = await sign(keyA, { sub: 'user-1' });
    assert.equal((await verifier.verify(`Bearer ${token}`)).ok, true);
    const [h, p, s] = token.split('.') as [string, string, string];
    const otherPayload = (await sign(keyA, { sub: 'user-2' })).split('.')[1];
    // The first character carries six bits of the signature; the last one also carries padding
    // bits, so changing it may leave the signature's bytes (and its validity) as they were.
    const flipped = `${s.startsWith('A') ? 'B' : 'A'}${s.slice(1)}`;
    for (const forged of [`${h}.${otherPayload}.${s}`, `${h}.${p}.${flipped}`]) {
      const { result, verifies } = await countingVerifies(() => verifier.verify(`Bearer ${forged}`));
      assert.equal(result.ok, false);
      assert.equal(verifies, 1, 'a different text is never a remembered token');
    }
  });

  it('a remembered token stops verifying when it expires (with the same 30 s skew)', async () => {
    const { clock, both } = pair([keyA]);
    const t = Math.floor(clock.ms / 1000);
    const token = await sign(keyA, { iat: t, nbf: t, exp: t + 60 });
    assert.equal((await both(token)).ok, true);
    clock.ms += 89_000; // exp + 29 s: inside the skew
    assert.equal((await both(token)).ok, true);
    clock.ms += 1_000; // exp + 30 s: expired for both
    assert.deepEqual(await both(token), { ok: false, kind: 'invalid' });
  });

  it('a key removed from the JWKS stops verifying at the next reload: the periodic refresh', async () => {
    const { server, clock, both } = pair([keyA]);
    const token = await sign(keyA, { exp: Math.floor(clock.ms / 1000) + 3600 });
    assert.equal((await both(token)).ok, true);
    server.state.keys = [keyB]; // key-a revoked at the issuer
    clock.ms += 599_000; // the key set is not due for a refresh yet: both still trust key-a
    assert.equal((await both(token)).ok, true);
    clock.ms += 1_000; // 600 s: the refresh runs, and key-a is gone
    assert.deepEqual(await both(token), { ok: false, kind: 'invalid' });
  });

  it('a key removed from the JWKS stops verifying at the next reload: a rotation (unknown kid)', async () => {
    const { server, clock, both } = pair([keyA]);
    const old = await sign(keyA, { exp: Math.floor(clock.ms / 1000) + 3600 });
    assert.equal((await both(old)).ok, true);
    server.state.keys = [keyB];
    assert.equal((await both(await sign(keyB))).ok, true, 'the new kid reloads the keys');
    assert.deepEqual(await both(old), { ok: false, kind: 'invalid' }, 'the remembered key-a token is checked again');
  });

  it('after a reload that keeps the key, a remembered token verifies again and is remembered anew', async () => {
    const { server, clock, both, cached } = pair([keyA]);
    const token = await sign(keyA, { exp: Math.floor(clock.ms / 1000) + 3600 });
    assert.equal((await both(token)).ok, true);
    server.state.keys = [keyA, keyB];
    assert.equal((await both(await sign(keyB))).ok, true);
    assert.equal((await both(token)).ok, true);
    const { verifies } = await countingVerifies(() => cached.verify(`Bearer ${token}`));
    assert.equal(verifies, 0);
  });

  it('keys unavailable at a due refresh: a remembered token is unavailable too, not accepted', async () => {
    const { server, clock, both } = pair([keyA]);
    const token = await sign(keyA, { exp: Math.floor(clock.ms / 1000) + 3600 });
    assert.equal((await both(token)).ok, true);
    server.state.mode = 'down';
    assert.equal((await both(token)).ok, true, 'inside max-age the loaded keys are used');
    clock.ms += 600_000;
    assert.deepEqual(await both(token), { ok: false, kind: 'unavailable' });
  });

  it('memory is bounded: a full memory forgets the oldest tokens, which still verify', async () => {
    const verifier = createJwtVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      keys: { keys: [keyA.publicJwk] },
      verifiedCacheBytes: 2000,
    });
    const tokens = await Promise.all(['u1', 'u2', 'u3', 'u4'].map((sub) => sign(keyA, { sub })));
    for (const t of tokens) assert.equal((await verifier.verify(`Bearer ${t}`)).ok, true);
    const oldest = await countingVerifies(() => verifier.verify(`Bearer ${tokens[0]}`));
    assert.equal(oldest.result.ok, true);
    assert.equal(oldest.verifies, 1, 'the oldest was forgotten');
    const newest = await countingVerifies(() => verifier.verify(`Bearer ${tokens[3]}`));
    assert.equal(newest.verifies, 0);
  });
});
