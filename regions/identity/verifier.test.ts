import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { base64url, exportJWK, exportSPKI, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';
import { type ErrorCode, isDomainError } from '../../domains/shared/errors.ts';
import { createDevIssuer, type DevIssuer } from './dev-issuer.ts';
import { createTokenVerifier } from './verifier.ts';

const ISS = 'meridian-dev';
const AUD = 'meridian';
const now = () => Math.floor(Date.now() / 1000);

/** A key pair with a kid, and a signer for arbitrary claims (the dev issuer only mints good tokens). */
async function testKey(kid: string) {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  return {
    publicKey,
    publicJwk,
    /** Signs good defaults overridden by `claims`; an undefined claim is left out of the token. */
    sign(claims: JWTPayload) {
      const t = now();
      const defaults = { iss: ISS, aud: AUD, sub: 'u1', tenant: 't1', scopes: ['orders:read'], iat: t, exp: t + 300 };
      return new SignJWT({ ...defaults, ...claims }).setProtectedHeader({ alg: 'ES256', kid }).sign(privateKey);
    },
  };
}

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, reason: RegExp): Promise<void> {
  await assert.rejects(promise, (err) => {
    assert.ok(isDomainError(err, code), `expected DomainError ${code}, got ${String(err)}`);
    assert.match(err.message, reason);
    return true;
  });
}

describe('token verifier (local keys)', () => {
  let key: Awaited<ReturnType<typeof testKey>>;
  let verifier: ReturnType<typeof createTokenVerifier>;
  before(async () => {
    key = await testKey('k1');
    verifier = createTokenVerifier({ issuer: ISS, audience: AUD, jwks: { keys: [key.publicJwk] } });
  });

  it('a valid token gives the Actor', async () => {
    const actor = await verifier.verify(`Bearer ${await key.sign({ scopes: ['orders:read', 'orders:write'] })}`);
    assert.deepEqual(actor, { subject: 'u1', tenant: 't1', scopes: ['orders:read', 'orders:write'] });
  });

  it('accepts an OAuth space-separated "scope" claim and a lower-case scheme', async () => {
    const actor = await verifier.verify(`bearer ${await key.sign({ scopes: undefined, scope: 'a:b c:d' })}`);
    assert.deepEqual(actor.scopes, ['a:b', 'c:d']);
  });

  it('rejects a missing or non-Bearer Authorization header', async () => {
    await rejectsWith(verifier.verify(undefined), 'UNAUTHENTICATED', /missing Authorization/);
    await rejectsWith(verifier.verify(null), 'UNAUTHENTICATED', /missing Authorization/);
    await rejectsWith(verifier.verify('Basic dTE6cHc='), 'UNAUTHENTICATED', /not "Bearer <jwt>"/);
    await rejectsWith(verifier.verify('Bearer '), 'UNAUTHENTICATED', /not "Bearer <jwt>"/);
    await rejectsWith(verifier.verify('Bearer a.b.c'), 'UNAUTHENTICATED', /malformed token/);
  });

  it('rejects an expired token, but tolerates 30 s of clock skew', async () => {
    const t = now();
    await rejectsWith(verifier.verify(`Bearer ${await key.sign({ exp: t - 120 })}`), 'UNAUTHENTICATED', /expired/);
    await verifier.verify(`Bearer ${await key.sign({ exp: t - 10 })}`);
  });

  it('rejects a token whose nbf is in the future beyond the tolerance', async () => {
    const t = now();
    await rejectsWith(verifier.verify(`Bearer ${await key.sign({ nbf: t + 120 })}`), 'UNAUTHENTICATED', /"nbf"/);
    await verifier.verify(`Bearer ${await key.sign({ nbf: t + 10 })}`);
  });

  it('rejects wrong audience and wrong issuer', async () => {
    await rejectsWith(verifier.verify(`Bearer ${await key.sign({ aud: 'other' })}`), 'UNAUTHENTICATED', /"aud"/);
    await rejectsWith(verifier.verify(`Bearer ${await key.sign({ iss: 'evil' })}`), 'UNAUTHENTICATED', /"iss"/);
  });

  it('rejects tokens without tenant or sub', async () => {
    await rejectsWith(verifier.verify(`Bearer ${await key.sign({ tenant: undefined })}`), 'UNAUTHENTICATED', /tenant/);
    await rejectsWith(verifier.verify(`Bearer ${await key.sign({ sub: '' })}`), 'UNAUTHENTICATED', /sub/);
  });

  it('rejects a token signed by another key, with the same kid or an unknown one', async () => {
    const other = await testKey('k1');
    await rejectsWith(verifier.verify(`Bearer ${await other.sign({})}`), 'UNAUTHENTICATED', /signature/);
    const stranger = await testKey('k-unknown');
    await rejectsWith(verifier.verify(`Bearer ${await stranger.sign({})}`), 'UNAUTHENTICATED', /no trusted key/);
  });

  it('rejects an alg "none" token crafted by hand', async () => {
    const enc = (o: unknown) => base64url.encode(JSON.stringify(o));
    const payload = { iss: ISS, aud: AUD, sub: 'u1', tenant: 't1', scopes: [], exp: now() + 300 };
    for (const header of [{ alg: 'none' }, { alg: 'none', kid: 'k1' }, { alg: 'NONE', typ: 'JWT' }]) {
      const token = `${enc(header)}.${enc(payload)}.`;
      await rejectsWith(verifier.verify(`Bearer ${token}`), 'UNAUTHENTICATED', /algorithm not accepted/);
    }
  });

  it('rejects an HS256 token "signed" with the public key bytes (algorithm confusion)', async () => {
    const pem = await exportSPKI(key.publicKey);
    const jwkText = JSON.stringify(key.publicJwk);
    for (const secret of [pem, jwkText]) {
      const token = await new SignJWT({ tenant: 't1', scopes: ['admin:all'] })
        .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
        .setIssuer(ISS)
        .setAudience(AUD)
        .setSubject('u1')
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(secret));
      await rejectsWith(verifier.verify(`Bearer ${token}`), 'UNAUTHENTICATED', /algorithm not accepted/);
    }
  });
});

describe('token verifier: exp is required', () => {
  it('rejects a token that never expires', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const publicJwk = { ...(await exportJWK(publicKey)), kid: 'k1' };
    const token = await new SignJWT({ tenant: 't1' })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer(ISS)
      .setAudience(AUD)
      .setSubject('u1')
      .sign(privateKey);
    const verifier = createTokenVerifier({ issuer: ISS, audience: AUD, jwks: { keys: [publicJwk] } });
    await rejectsWith(verifier.verify(`Bearer ${token}`), 'UNAUTHENTICATED', /"exp"/);
  });
});

/** A JWKS endpoint over real HTTP whose key set the test can change, counting fetches. */
async function jwksServer() {
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

describe('token verifier (remote JWKS over HTTP)', () => {
  let dir: string;
  let server: Awaited<ReturnType<typeof jwksServer>>;
  let oldIssuer: DevIssuer;
  let newIssuer: DevIssuer;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'meridian-verifier-'));
    server = await jwksServer();
    oldIssuer = createDevIssuer({ keyFile: path.join(dir, 'old.json') });
    newIssuer = createDevIssuer({ keyFile: path.join(dir, 'new.json') });
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('accepts a new kid after the issuer rotates, without recreating the verifier', async () => {
    server.setKeys((await oldIssuer.jwks()).keys);
    const verifier = createTokenVerifier({ issuer: ISS, audience: AUD, jwks: { url: server.url }, cooldownSeconds: 0 });
    const claims = { sub: 'alice', tenant: 'acme', scopes: ['orders:read'] };
    const before = await verifier.verify(`Bearer ${(await oldIssuer.issue(claims)).access_token}`);
    assert.deepEqual(before, { subject: 'alice', tenant: 'acme', scopes: ['orders:read'] });
    assert.equal(server.fetches, 1);

    // Rotation: the issuer publishes the new key next to the old one and signs with the new one.
    server.setKeys([...(await oldIssuer.jwks()).keys, ...(await newIssuer.jwks()).keys]);
    const newToken = (await newIssuer.issue(claims)).access_token;
    assert.deepEqual(await verifier.verify(`Bearer ${newToken}`), before);
    assert.equal(server.fetches, 2, 'the unknown kid triggered exactly one refetch');
    // Tokens signed with the old key stay valid during the overlap.
    await verifier.verify(`Bearer ${(await oldIssuer.issue(claims)).access_token}`);
    assert.equal(server.fetches, 2, 'known kids are served from the cached key set');
  });

  it('rate-limits refetches: inside the cooldown an unknown kid is rejected without a fetch', async () => {
    server.setKeys((await oldIssuer.jwks()).keys);
    const verifier = createTokenVerifier({ issuer: ISS, audience: AUD, jwks: { url: server.url } });
    const claims = { sub: 'alice', tenant: 'acme', scopes: [] };
    await verifier.verify(`Bearer ${(await oldIssuer.issue(claims)).access_token}`);
    const fetched = server.fetches;
    const stranger = await testKey('random-kid');
    await rejectsWith(verifier.verify(`Bearer ${await stranger.sign({})}`), 'UNAUTHENTICATED', /no trusted key/);
    assert.equal(server.fetches, fetched);
  });

  it('an unreachable JWKS endpoint is DEPENDENCY_UNAVAILABLE (retryable), not the caller fault', async () => {
    const down = await jwksServer();
    await down.close();
    const verifier = createTokenVerifier({ issuer: ISS, audience: AUD, jwks: { url: down.url } });
    const token = (await oldIssuer.issue({ sub: 'alice', tenant: 'acme', scopes: [] })).access_token;
    await assert.rejects(verifier.verify(`Bearer ${token}`), (err) => {
      assert.ok(isDomainError(err, 'DEPENDENCY_UNAVAILABLE'));
      assert.equal(err.retryable, true);
      return true;
    });
  });

  it('a function key source is refreshed on an unknown kid as well', async () => {
    let keys = (await oldIssuer.jwks()).keys;
    let loads = 0;
    const verifier = createTokenVerifier({
      issuer: ISS,
      audience: AUD,
      cooldownSeconds: 0,
      jwks: async () => {
        loads += 1;
        return { keys };
      },
    });
    const claims = { sub: 'bob', tenant: 'acme', scopes: [] };
    await verifier.verify(`Bearer ${(await oldIssuer.issue(claims)).access_token}`);
    keys = (await newIssuer.jwks()).keys;
    await verifier.verify(`Bearer ${(await newIssuer.issue(claims)).access_token}`);
    assert.equal(loads, 2);
  });
});
