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
