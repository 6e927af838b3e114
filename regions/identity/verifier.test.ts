import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import type { JWK } from 'jose';
import { type ErrorCode, isDomainError } from '../../domains/shared/errors.ts';
import {
  AUDIENCE,
  ISSUER,
  makeKey,
  type Normalised,
  sign,
  type TestKey,
  tokenVerifierContract,
} from '../../edge/auth/token-verifier.contract.test.ts';
import { createDevIssuer, type DevIssuer } from './dev-issuer.ts';
import { createTokenVerifier, type TokenVerifier } from './verifier.ts';

/** Actor or DomainError in the contract's terms; any other error is a bug and fails the test. */
function normalised(verifier: TokenVerifier) {
  return async (authorization: string): Promise<Normalised> => {
    try {
      const actor = await verifier.verify(authorization);
      assert.deepEqual(Object.keys(actor).sort(), ['scopes', 'subject', 'tenant'], 'an Actor carries no token');
      return { ok: true, ...actor };
    } catch (err) {
      if (isDomainError(err, 'UNAUTHENTICATED') && !err.retryable) return { ok: false, kind: 'invalid' };
      if (isDomainError(err, 'DEPENDENCY_UNAVAILABLE') && err.retryable) return { ok: false, kind: 'unavailable' };
      throw err;
    }
  };
}

tokenVerifierContract('region createTokenVerifier, URL source', ({ jwksUrl, ...t }) =>
  normalised(createTokenVerifier({ ...t, jwks: { url: jwksUrl } })),
);

tokenVerifierContract('region createTokenVerifier, function source', ({ jwksUrl, fetch, ...t }) =>
  normalised(
    createTokenVerifier({
      ...t,
      // The in-process dev issuer's shape: a function returning the JWKS, failing when it cannot.
      jwks: async () => {
        const res = await fetch(jwksUrl, {});
        if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
        return (await res.json()) as { keys: JWK[] };
      },
    }),
  ),
);

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, reason: RegExp): Promise<void> {
  await assert.rejects(promise, (err) => {
    assert.ok(isDomainError(err, code), `expected DomainError ${code}, got ${String(err)}`);
    assert.match(err.message, reason);
    return true;
  });
}

describe('token verifier (static key list)', () => {
  let key: TestKey;
  let verifier: TokenVerifier;
  before(async () => {
    key = await makeKey('k1');
    verifier = createTokenVerifier({ issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [key.publicJwk] } });
  });

  it('a valid token gives the Actor', async () => {
    const actor = await verifier.verify(`Bearer ${await sign(key, { scopes: ['orders:read'] })}`);
    assert.deepEqual(actor, { subject: 'user-1', tenant: 'acme', scopes: ['orders:read'] });
  });

  it('a missing header is UNAUTHENTICATED, saying what was expected', async () => {
    for (const header of [undefined, null, '']) {
      await rejectsWith(verifier.verify(header), 'UNAUTHENTICATED', /missing Authorization header/);
    }
  });

  it('a bad token is UNAUTHENTICATED, not retryable, with a reason and the jose error as cause', async () => {
    const expired = await sign(key, { exp: Math.floor(Date.now() / 1000) - 600, nbf: 0 });
    await assert.rejects(verifier.verify(`Bearer ${expired}`), (err) => {
      assert.ok(isDomainError(err, 'UNAUTHENTICATED'));
      assert.equal(err.message, 'token expired');
      assert.equal(err.retryable, false);
      assert.equal((err.cause as Error).name, 'JWTExpired');
      return true;
    });
    await rejectsWith(verifier.verify(`Bearer ${await sign(key, { tenant: 'T1' })}`), 'UNAUTHENTICATED', /"tenant"/);
    await rejectsWith(verifier.verify('Bearer a.b.c'), 'UNAUTHENTICATED', /^malformed token$/);
  });
});

/** A JWKS endpoint over real HTTP whose key set the test can change, counting fetches. */
async function jwksHttpServer() {
  let keys: JWK[] = [];
  let fetches = 0;
  const app = new Hono();
  app.get('/.well-known/jwks.json', (c) => {
    fetches += 1;
    return c.json({ keys });
  });
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    setKeys(next: JWK[]) {
      keys = next;
    },
    get fetches() {
      return fetches;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('token verifier (dev issuer tokens, JWKS over real HTTP)', () => {
  let dir: string;
  let server: Awaited<ReturnType<typeof jwksHttpServer>>;
  let oldIssuer: DevIssuer;
  let newIssuer: DevIssuer;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'meridian-verifier-'));
    server = await jwksHttpServer();
    oldIssuer = createDevIssuer({ keyFile: path.join(dir, 'old.json') });
    newIssuer = createDevIssuer({ keyFile: path.join(dir, 'new.json') });
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('accepts a new kid after the issuer rotates, without recreating the verifier', async () => {
    server.setKeys((await oldIssuer.jwks()).keys);
    const verifier = createTokenVerifier({ issuer: ISSUER, audience: AUDIENCE, jwks: { url: server.url } });
    const claims = { sub: 'alice', tenant: 'acme', scopes: ['orders:read'] };
    const before = await verifier.verify(`Bearer ${(await oldIssuer.issue(claims)).access_token}`);
    assert.deepEqual(before, { subject: 'alice', tenant: 'acme', scopes: ['orders:read'] });
    assert.equal(server.fetches, 1);

    // Rotation: the issuer publishes the new key next to the old one and signs with the new one.
    server.setKeys([...(await oldIssuer.jwks()).keys, ...(await newIssuer.jwks()).keys]);
    assert.deepEqual(await verifier.verify(`Bearer ${(await newIssuer.issue(claims)).access_token}`), before);
    assert.equal(server.fetches, 2, 'the unknown kid triggered exactly one refetch');
    await verifier.verify(`Bearer ${(await oldIssuer.issue(claims)).access_token}`);
    assert.equal(server.fetches, 2, 'known kids are served from the cached key set');
  });

  it('an unreachable JWKS endpoint is DEPENDENCY_UNAVAILABLE (retryable), not the caller fault', async () => {
    const down = await jwksHttpServer();
    await down.close();
    const verifier = createTokenVerifier({ issuer: ISSUER, audience: AUDIENCE, jwks: { url: down.url } });
    const token = (await oldIssuer.issue({ sub: 'alice', tenant: 'acme', scopes: [] })).access_token;
    await assert.rejects(verifier.verify(`Bearer ${token}`), (err) => {
      assert.ok(isDomainError(err, 'DEPENDENCY_UNAVAILABLE'));
      assert.equal(err.retryable, true);
      assert.equal(err.message, 'the token issuer keys could not be loaded');
      assert.ok(err.cause instanceof Error, 'the fetch failure is kept for the logs');
      return true;
    });
  });

  it('the in-process dev issuer as a function source verifies its own tokens', async () => {
    const verifier = createTokenVerifier({ issuer: ISSUER, audience: AUDIENCE, jwks: () => oldIssuer.jwks() });
    const token = (await oldIssuer.issue({ sub: 'bob', tenant: 'acme-2', scopes: ['orders:write'] })).access_token;
    assert.deepEqual(await verifier.verify(`Bearer ${token}`), {
      subject: 'bob',
      tenant: 'acme-2',
      scopes: ['orders:write'],
    });
  });
});
