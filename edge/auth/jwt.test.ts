import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { type CryptoKey, exportJWK, exportSPKI, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';
import {
  type AuthResult,
  createEdgeAuth,
  forwardHeaders,
  requireScopes,
  stripIdentityHeaders,
  wwwAuthenticate,
} from './jwt.ts';

const ISSUER = 'meridian-dev';
const AUDIENCE = 'meridian';
const JWKS_URL = 'https://issuer.test/.well-known/jwks.json';

interface TestKey {
  readonly kid: string;
  readonly alg: 'ES256' | 'RS256';
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

async function makeKey(kid: string, alg: 'ES256' | 'RS256' = 'ES256'): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** A JWKS "server" behind an injected fetch: the key list can change and fetches are counted. */
function jwksServer(initial: TestKey[]) {
  const state = { keys: initial, fetches: 0, down: false };
  async function fetchJwks(url: string): Promise<Response> {
    state.fetches += 1;
    if (state.down) throw new TypeError('fetch failed: connection refused');
    if (url !== JWKS_URL) return new Response('not found', { status: 404 });
    return Response.json({ keys: state.keys.map((k) => k.publicJwk) });
  }
  return { state, fetch: fetchJwks };
}

const now = () => Math.floor(Date.now() / 1000);

/** Builds a signed token; every claim and header can be overridden (undefined removes a claim). */
function sign(key: TestKey, claims: JWTPayload = {}, header: Record<string, unknown> = {}): Promise<string> {
  const t = now();
  const defaults = {
    sub: 'user-1',
    tenant: 'acme',
    scopes: ['orders:read', 'orders:write'],
    iss: ISSUER,
    aud: AUDIENCE,
  };
  const merged: JWTPayload = { ...defaults, iat: t, nbf: t, exp: t + 300, ...claims };
  const payload = Object.fromEntries(Object.entries(merged).filter(([, v]) => v !== undefined));
  return new SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...header })
    .sign(key.privateKey);
}

function b64url(value: unknown): string {
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function bearer(token: string): Request {
  return new Request('https://edge.test/graphql', { headers: { authorization: `Bearer ${token}` } });
}

function assertRejected(result: AuthResult, status: number, pattern?: RegExp): void {
  assert.equal(result.kind, 'error', JSON.stringify(result));
  if (result.kind !== 'error') return;
  assert.equal(result.status, status);
  if (pattern !== undefined) assert.match(result.message, pattern);
}

describe('edge JWT authentication', () => {
  let keyA: TestKey;
  before(async () => {
    keyA = await makeKey('key-a');
  });

  function setup(keys: TestKey[] = [keyA], extra: { cooldownSeconds?: number } = {}) {
    const server = jwksServer(keys);
    const auth = createEdgeAuth({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUrl: JWKS_URL,
      fetch: server.fetch,
      ...extra,
    });
    return { server, auth };
  }

  it('no Authorization header is anonymous (and fetches no keys)', async () => {
    const { auth, server } = setup();
    assert.deepEqual(await auth.authenticate(new Request('https://edge.test/graphql')), { kind: 'anonymous' });
    assert.equal(server.state.fetches, 0);
  });

  it('a valid ES256 token is a user with subject, tenant and scopes; keys are fetched once and cached', async () => {
    const { auth, server } = setup();
    const token = await sign(keyA);
    const result = await auth.authenticate(bearer(token));
    assert.deepEqual(result, {
      kind: 'user',
      subject: 'user-1',
      tenant: 'acme',
      scopes: ['orders:read', 'orders:write'],
      token,
    });
    await auth.authenticate(bearer(await sign(keyA, { sub: 'user-2' })));
    assert.equal(server.state.fetches, 1);
  });

  it('accepts RS256 and a space-separated "scope" claim (RFC 9068)', async () => {
    const rsa = await makeKey('key-rsa', 'RS256');
    const { auth } = setup([keyA, rsa]);
    const result = await auth.authenticate(bearer(await sign(rsa, { scopes: undefined, scope: 'a:read b:write' })));
    assert.equal(result.kind, 'user');
    if (result.kind === 'user') assert.deepEqual(result.scopes, ['a:read', 'b:write']);
  });

  it('an expired token is 401; one expired within the clock skew is still accepted', async () => {
    const { auth } = setup();
    const expired = await sign(keyA, { exp: now() - 120, nbf: now() - 600, iat: now() - 600 });
    assertRejected(await auth.authenticate(bearer(expired)), 401, /expired/);
    const withinSkew = await sign(keyA, { exp: now() - 10, nbf: now() - 600, iat: now() - 600 });
    assert.equal((await auth.authenticate(bearer(withinSkew))).kind, 'user');
  });

  it('nbf in the future beyond the skew is 401; within the skew it passes', async () => {
    const { auth } = setup();
    assertRejected(await auth.authenticate(bearer(await sign(keyA, { nbf: now() + 120 }))), 401, /nbf/);
    assert.equal((await auth.authenticate(bearer(await sign(keyA, { nbf: now() + 10 })))).kind, 'user');
  });

  it('a token without exp is 401', async () => {
    const { auth } = setup();
    const token = await new SignJWT({ sub: 'u', tenant: 't' })
      .setProtectedHeader({ alg: 'ES256', kid: keyA.kid })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .sign(keyA.privateKey);
    assertRejected(await auth.authenticate(bearer(token)), 401, /exp/);
  });

  it('wrong audience or wrong issuer is 401', async () => {
    const { auth } = setup();
    assertRejected(await auth.authenticate(bearer(await sign(keyA, { aud: 'someone-else' }))), 401, /aud/);
    assertRejected(await auth.authenticate(bearer(await sign(keyA, { iss: 'evil-issuer' }))), 401, /iss/);
  });

  it('a forged signature (another key claiming a trusted kid) is 401', async () => {
    const { auth } = setup();
    const attacker = await makeKey('key-a');
    assertRejected(await auth.authenticate(bearer(await sign(attacker))), 401, /signature/);
    // A real token with its payload swapped keeps the header and signature but not the integrity.
    const [h, , s] = (await sign(keyA)).split('.');
    const forgedClaims = { sub: 'admin', tenant: 'other', exp: now() + 300, iss: ISSUER, aud: AUDIENCE };
    const tampered = `${h}.${b64url(forgedClaims)}.${s}`;
    assertRejected(await auth.authenticate(bearer(tampered)), 401, /signature/);
  });

  it('alg "none" is 401', async () => {
    const { auth } = setup();
    const claims = { sub: 'admin', tenant: 'acme', iss: ISSUER, aud: AUDIENCE, exp: now() + 300 };
    const unsigned = `${b64url({ alg: 'none', typ: 'JWT', kid: keyA.kid })}.${b64url(claims)}.`;
    assertRejected(await auth.authenticate(bearer(unsigned)), 401, /algorithm/);
  });

  it('HS256 "signed" with the public key (algorithm confusion) is 401', async () => {
    const { auth } = setup();
    const pem = await exportSPKI((await generateKeyPair('ES256', { extractable: true })).publicKey);
    for (const secret of [JSON.stringify(keyA.publicJwk), pem]) {
      const token = await new SignJWT({ sub: 'admin', tenant: 'acme' })
        .setProtectedHeader({ alg: 'HS256', kid: keyA.kid })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setExpirationTime(now() + 300)
        .sign(new TextEncoder().encode(secret));
      assertRejected(await auth.authenticate(bearer(token)), 401, /algorithm/);
    }
  });

  it('malformed Authorization headers are 401', async () => {
    const { auth } = setup();
    for (const value of [
      'Basic dXNlcjpwdw==',
      'Bearer',
      'Bearer not-a-jwt',
      'Bearer a.b.c',
      '',
      `Bearer ${'a'.repeat(9000)}`,
    ]) {
      const request = new Request('https://edge.test/', { headers: { authorization: value } });
      assertRejected(await auth.authenticate(request), 401);
    }
  });

  it('a token without tenant, or with unforwardable claims, is 401', async () => {
    const { auth } = setup();
    assertRejected(await auth.authenticate(bearer(await sign(keyA, { tenant: undefined }))), 401, /tenant/);
    assertRejected(await auth.authenticate(bearer(await sign(keyA, { sub: 'a\r\nx-evil: 1' }))), 401, /sub/);
    assertRejected(await auth.authenticate(bearer(await sign(keyA, { scopes: 'orders:read' }))), 401, /scopes/);
  });

  it('key rotation: a token with a new kid is accepted once the JWKS serves it, without recreating', async () => {
    const { auth, server } = setup([keyA], { cooldownSeconds: 0 });
    assert.equal((await auth.authenticate(bearer(await sign(keyA)))).kind, 'user');
    const keyB = await makeKey('key-b');
    const tokenB = await sign(keyB);
    assertRejected(await auth.authenticate(bearer(tokenB)), 401, /kid/);
    server.state.keys = [keyA, keyB];
    const result = await auth.authenticate(bearer(tokenB));
    assert.equal(result.kind, 'user');
    assert.equal(server.state.fetches, 3, 'initial load, one refetch per unknown kid');
  });

  it('unknown kids within the cooldown do not refetch the JWKS', async () => {
    const { auth, server } = setup([keyA], { cooldownSeconds: 30 });
    await auth.authenticate(bearer(await sign(keyA)));
    const stranger = await makeKey('random-kid');
    for (let i = 0; i < 5; i++) assertRejected(await auth.authenticate(bearer(await sign(stranger))), 401, /kid/);
    assert.equal(server.state.fetches, 1);
  });

  it('an unreachable issuer is 503 UNAVAILABLE, not a bad token', async () => {
    const { auth, server } = setup();
    server.state.down = true;
    const result = await auth.authenticate(bearer(await sign(keyA)));
    assert.deepEqual(
      [result.kind, 'status' in result && result.status, 'code' in result && result.code],
      ['error', 503, 'UNAVAILABLE'],
    );
  });

  it('requireScopes: 403 FORBIDDEN when a scope is missing', async () => {
    const { auth } = setup();
    const user = await auth.authenticate(bearer(await sign(keyA)));
    assert.equal(requireScopes(user, ['orders:read']), user);
    const denied = requireScopes(user, ['admin:write']);
    assert.deepEqual(denied, {
      kind: 'error',
      status: 403,
      code: 'FORBIDDEN',
      message: 'token lacks scope admin:write',
    });
    assertRejected(requireScopes({ kind: 'anonymous' }, ['orders:read']), 401);
    assert.equal(
      wwwAuthenticate(denied),
      'Bearer error="insufficient_scope", error_description="token lacks scope admin:write"',
    );
    const expired = await auth.authenticate(bearer(await sign(keyA, { exp: now() - 600, nbf: now() - 900 })));
    assert.equal(wwwAuthenticate(expired), 'Bearer error="invalid_token", error_description="token expired"');
    assert.equal(wwwAuthenticate(user), undefined);
  });

  it('forwardHeaders carries identity and the original token; anonymous forwards nothing', async () => {
    const { auth } = setup();
    const token = await sign(keyA);
    const user = await auth.authenticate(bearer(token));
    assert.deepEqual(forwardHeaders(user), {
      authorization: `Bearer ${token}`,
      'x-meridian-tenant': 'acme',
      'x-meridian-subject': 'user-1',
      'x-meridian-scopes': 'orders:read orders:write',
    });
    assert.deepEqual(forwardHeaders({ kind: 'anonymous' }), {});
    const incoming = new Headers({ 'x-meridian-tenant': 'spoofed', 'x-meridian-subject': 'x', accept: '*/*' });
    stripIdentityHeaders(incoming);
    assert.deepEqual([...incoming.keys()], ['accept']);
  });
});
