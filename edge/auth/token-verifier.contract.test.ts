/**
 * The token verification contract, run by every user of the shared verifier: the core itself,
 * the edge's createEdgeAuth and the regions' createTokenVerifier. Not a test file by itself: it
 * exports the suite and its builders; the `.test.ts` suffix marks it as test-only code.
 * Results are normalised so each adapter's own shape (AuthResult, Actor/DomainError) drops out.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  base64url,
  type CryptoKey,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  SignJWT,
} from 'jose';
import type { FetchLike } from './key-source.ts';

export const ISSUER = 'meridian-dev';
export const AUDIENCE = 'meridian';
export const JWKS_URL = 'https://issuer.test/.well-known/jwks.json';

type Alg = 'ES256' | 'RS256' | 'ES384' | 'PS256';

/** A signing key with its published public JWK. */
export interface TestKey {
  readonly kid: string;
  readonly alg: Alg;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  readonly publicJwk: JWK;
}

/** Generates a key pair; the public half is what a JWKS would publish under `kid`. */
export async function makeKey(kid: string, alg: Alg = 'ES256'): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, publicKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

const now = () => Math.floor(Date.now() / 1000);

/** Signs good defaults overridden by `claims` (an undefined claim is left out) and `header`. */
export function sign(key: TestKey, claims: JWTPayload = {}, header: Record<string, unknown> = {}): Promise<string> {
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

/** A hand-built token with any header and an empty signature (e.g. `alg: none`). */
export function unsignedToken(header: Record<string, unknown>, claims: JWTPayload): string {
  const enc = (value: unknown) => base64url.encode(JSON.stringify(value));
  return `${enc(header)}.${enc(claims)}.`;
}

/** How the fake issuer answers JWKS requests. */
export type JwksMode = 'up' | 'down' | 'http-500' | 'not-json' | 'not-a-jwks';

/** A JWKS "server" behind an injected fetch: its keys and health can change and fetches are counted. */
export function jwksServer(initial: TestKey[]) {
  const state = { keys: initial, fetches: 0, mode: 'up' as JwksMode };
  const fetchJwks: FetchLike = async (url) => {
    state.fetches += 1;
    if (state.mode === 'down') throw new TypeError('fetch failed: connection refused');
    if (state.mode === 'http-500') return new Response('boom', { status: 500 });
    if (state.mode === 'not-json') return new Response('<html>', { headers: { 'content-type': 'text/html' } });
    if (state.mode === 'not-a-jwks') return Response.json({ keys: 'none' });
    if (url !== JWKS_URL) return new Response('not found', { status: 404 });
    return Response.json({ keys: state.keys.map((k) => k.publicJwk) });
  };
  return { state, fetch: fetchJwks };
}

/** What the suite gives a factory: trust this issuer and audience, with keys from this JWKS. */
export interface ContractTarget {
  readonly issuer: string;
  readonly audience: string;
  readonly jwksUrl: string;
  readonly fetch: FetchLike;
  readonly cooldownSeconds: number;
}

/** An adapter's result with its own shape normalised away. */
export type Normalised =
  | { readonly ok: true; readonly subject: string; readonly tenant: string; readonly scopes: readonly string[] }
  | { readonly ok: false; readonly kind: 'invalid' | 'unavailable' };

/** Builds a verifier for the target; it is called with an Authorization header value. */
export type VerifierFactory = (target: ContractTarget) => (authorization: string) => Promise<Normalised>;

const INVALID: Normalised = { ok: false, kind: 'invalid' };
const UNAVAILABLE: Normalised = { ok: false, kind: 'unavailable' };

/** Registers the contract suite for one verifier; each test builds its own issuer and verifier. */
export function tokenVerifierContract(name: string, factory: VerifierFactory): void {
  describe(`token verifier contract: ${name}`, () => {
    let keyA: TestKey;
    let keyB: TestKey;
    let rsa: TestKey;
    before(async () => {
      [keyA, keyB, rsa] = await Promise.all([makeKey('key-a'), makeKey('key-b'), makeKey('key-rsa', 'RS256')]);
    });

    function setup(keys: TestKey[] = [keyA, rsa], cooldownSeconds = 30) {
      const server = jwksServer(keys);
      const verify = factory({
        issuer: ISSUER,
        audience: AUDIENCE,
        jwksUrl: JWKS_URL,
        fetch: server.fetch,
        cooldownSeconds,
      });
      const bearer = (token: string) => verify(`Bearer ${token}`);
      return { server, verify, bearer };
    }

    const user = (scopes: readonly string[] = ['orders:read', 'orders:write']): Normalised => ({
      ok: true,
      subject: 'user-1',
      tenant: 'acme',
      scopes,
    });

    it('accepts a valid ES256 token; the keys are fetched once and cached', async () => {
      const { server, bearer } = setup();
      assert.deepEqual(await bearer(await sign(keyA)), user());
      assert.deepEqual(await bearer(await sign(keyA, { sub: 'user-2' })), { ...user(), subject: 'user-2' });
      assert.equal(server.state.fetches, 1);
    });

    it('accepts a valid RS256 token', async () => {
      const { bearer } = setup();
      assert.deepEqual(await bearer(await sign(rsa)), user());
    });

    it('rejects alg "none" in any spelling, even while the keys are unreachable', async () => {
      const { server, bearer } = setup();
      const claims = { sub: 'admin', tenant: 'acme', iss: ISSUER, aud: AUDIENCE, exp: now() + 300 };
      for (const mode of ['up', 'down'] as const) {
        server.state.mode = mode;
        for (const header of [{ alg: 'none' }, { alg: 'none', kid: 'key-a' }, { alg: 'NONE', typ: 'JWT' }]) {
          assert.deepEqual(await bearer(unsignedToken(header, claims)), INVALID, JSON.stringify({ mode, header }));
        }
      }
    });

    it('rejects HS256 "signed" with the public key (algorithm confusion), even while keys are unreachable', async () => {
      const { server, bearer } = setup();
      const secrets = [
        JSON.stringify(keyA.publicJwk),
        await exportSPKI(keyA.publicKey),
        await exportSPKI(rsa.publicKey),
      ];
      for (const mode of ['up', 'down'] as const) {
        server.state.mode = mode;
        for (const secret of secrets) {
          const token = await new SignJWT({ sub: 'admin', tenant: 'acme', scopes: ['admin:all'] })
            .setProtectedHeader({ alg: 'HS256', kid: keyA.kid })
            .setIssuer(ISSUER)
            .setAudience(AUDIENCE)
            .setExpirationTime(now() + 300)
            .sign(new TextEncoder().encode(secret));
          assert.deepEqual(await bearer(token), INVALID, mode);
        }
      }
    });

    it('rejects other asymmetric algorithms even when their key is published (only ES256 and RS256)', async () => {
      const others = await Promise.all([makeKey('key-es384', 'ES384'), makeKey('key-ps256', 'PS256')]);
      const { bearer } = setup([keyA, ...others]);
      for (const key of others) assert.deepEqual(await bearer(await sign(key)), INVALID, key.alg);
    });

    it('rejects a wrong issuer or audience', async () => {
      const { bearer } = setup();
      assert.deepEqual(await bearer(await sign(keyA, { iss: 'evil-issuer' })), INVALID);
      assert.deepEqual(await bearer(await sign(keyA, { aud: 'someone-else' })), INVALID);
      assert.deepEqual(await bearer(await sign(keyA, { aud: [AUDIENCE, 'other'] })), user());
    });

    it('rejects a token expired beyond the 30 s skew; accepts one expired within it', async () => {
      const { bearer } = setup();
      const old = { nbf: now() - 600, iat: now() - 600 };
      assert.deepEqual(await bearer(await sign(keyA, { ...old, exp: now() - 120 })), INVALID);
      assert.deepEqual(await bearer(await sign(keyA, { ...old, exp: now() - 10 })), user());
    });

    it('rejects nbf in the future beyond the skew; accepts it within', async () => {
      const { bearer } = setup();
      assert.deepEqual(await bearer(await sign(keyA, { nbf: now() + 120 })), INVALID);
      assert.deepEqual(await bearer(await sign(keyA, { nbf: now() + 10 })), user());
    });

    it('rejects a token without exp', async () => {
      const { bearer } = setup();
      assert.deepEqual(await bearer(await sign(keyA, { exp: undefined })), INVALID);
    });

    it('rejects a forged signature and a tampered payload', async () => {
      const { bearer } = setup();
      const attacker = await makeKey('key-a');
      assert.deepEqual(await bearer(await sign(attacker)), INVALID);
      const [h, , s] = (await sign(keyA)).split('.');
      const forged = { sub: 'admin', tenant: 'other', exp: now() + 300, iss: ISSUER, aud: AUDIENCE };
      assert.deepEqual(await bearer(`${h}.${base64url.encode(JSON.stringify(forged))}.${s}`), INVALID);
    });

    it('sub must be 1-256 visible ASCII characters', async () => {
      const { bearer } = setup();
      for (const sub of [undefined, '', 'a b', 'a\r\nx-evil: 1', 'ünïcode', 'x'.repeat(257), 42]) {
        assert.deepEqual(await bearer(await sign(keyA, { sub: sub as string })), INVALID, JSON.stringify(sub));
      }
      const longest = 'x'.repeat(256);
      assert.deepEqual(await bearer(await sign(keyA, { sub: longest })), { ...user(), subject: longest });
    });

    it('tenant must match ^[a-z0-9-]{1,64}$', async () => {
      const { bearer } = setup();
      for (const tenant of [undefined, '', 'Acme', 'ac me', 'acme_1', 'a'.repeat(65), 7, ['acme']]) {
        assert.deepEqual(await bearer(await sign(keyA, { tenant })), INVALID, JSON.stringify(tenant));
      }
      for (const tenant of ['acme-2', 'a'.repeat(64)]) {
        assert.deepEqual(await bearer(await sign(keyA, { tenant })), { ...user(), tenant });
      }
    });

    it('scopes come from a "scopes" array or a space-separated RFC 9068 "scope" string', async () => {
      const { bearer } = setup();
      const viaScope = await sign(keyA, { scopes: undefined, scope: ' a:read  b:write ' });
      assert.deepEqual(await bearer(viaScope), user(['a:read', 'b:write']));
      assert.deepEqual(await bearer(await sign(keyA, { scopes: ['x:y'], scope: 'a:read' })), user(['x:y']));
      assert.deepEqual(await bearer(await sign(keyA, { scopes: undefined })), user([]));
    });

    it('rejects a non-string scope, a non-array "scopes" and scopes with invisible characters', async () => {
      const { bearer } = setup();
      for (const claims of [
        { scopes: ['orders:read', 5] },
        { scopes: 'orders:read' },
        { scopes: undefined, scope: 5 },
        { scopes: undefined, scope: ['orders:read'] },
        { scopes: ['orders read'] },
        { scopes: undefined, scope: 'a:read\tb:write' },
        { scopes: [''] },
      ]) {
        assert.deepEqual(await bearer(await sign(keyA, claims)), INVALID, JSON.stringify(claims));
      }
    });

    it('accepts 64 scopes and rejects 65, as an array or a string', async () => {
      const { bearer } = setup();
      const list = (n: number) => Array.from({ length: n }, (_, i) => `s:${i}`);
      assert.deepEqual(await bearer(await sign(keyA, { scopes: list(64) })), user(list(64)));
      assert.deepEqual(await bearer(await sign(keyA, { scopes: list(65) })), INVALID);
      assert.deepEqual(await bearer(await sign(keyA, { scopes: undefined, scope: list(65).join(' ') })), INVALID);
    });

    it('rejects an Authorization header longer than 8 KiB, even carrying a valid token', async () => {
      const { bearer } = setup();
      assert.deepEqual(await bearer(await sign(keyA, { pad: 'p'.repeat(5000) })), user());
      assert.deepEqual(await bearer(await sign(keyA, { pad: 'p'.repeat(6500) })), INVALID);
    });

    it('rejects a non-Bearer scheme; accepts the scheme in any case', async () => {
      const { verify } = setup();
      const token = await sign(keyA);
      for (const value of [
        'Basic dXNlcjpwdw==',
        `Token ${token}`,
        `Bearer${token}`,
        'Bearer',
        'Bearer  ',
        `${token}`,
      ]) {
        assert.deepEqual(await verify(value), INVALID, value.slice(0, 12));
      }
      for (const scheme of ['bearer', 'BEARER', 'Bearer '])
        assert.deepEqual(await verify(`${scheme} ${token}`), user());
    });

    it('rejects garbage tokens without loading any keys', async () => {
      const { server, bearer } = setup();
      server.state.mode = 'down';
      const garbage = ['not-a-jwt', 'a.b.c', 'Zm9v.YmFy.YmF6', 'e30.e30.', 'a.b', 'a.b.c.d.e', '~~~.~~~.~~~'];
      for (const token of garbage) assert.deepEqual(await bearer(token), INVALID, token);
      assert.equal(server.state.fetches, 0);
    });

    it('an unknown kid reloads the keys once (rotation); another unknown kid inside the cooldown does not', async () => {
      const { server, bearer } = setup([keyA], 30);
      assert.deepEqual(await bearer(await sign(keyA)), user());
      assert.equal(server.state.fetches, 1);
      server.state.keys = [keyA, keyB];
      assert.deepEqual(await bearer(await sign(keyB)), user(), 'the rotated key is picked up without a restart');
      assert.equal(server.state.fetches, 2, 'exactly one reload for the new kid');
      const stranger = await makeKey('random-kid');
      for (let i = 0; i < 3; i++) assert.deepEqual(await bearer(await sign(stranger)), INVALID);
      assert.equal(server.state.fetches, 2, 'no reload inside the cooldown');
      assert.deepEqual(await bearer(await sign(keyA)), user(), 'tokens of the old key stay valid during the overlap');
      assert.equal(server.state.fetches, 2);
    });

    it('an unknown kid on a cold cache loads the keys once, not twice', async () => {
      const { server, bearer } = setup([keyA], 0);
      assert.deepEqual(await bearer(await sign(await makeKey('random-kid'))), INVALID);
      assert.equal(server.state.fetches, 1);
    });

    it('with no cooldown every unknown kid may reload', async () => {
      const { server, bearer } = setup([keyA], 0);
      await bearer(await sign(keyA));
      const stranger = await makeKey('random-kid');
      for (let i = 0; i < 3; i++) assert.deepEqual(await bearer(await sign(stranger)), INVALID);
      assert.equal(server.state.fetches, 4);
    });

    it('unreachable, failing or malformed key sources are unavailable, and it recovers', async () => {
      const { server, bearer } = setup();
      const token = await sign(keyA);
      for (const mode of ['down', 'http-500', 'not-json', 'not-a-jwks'] as const) {
        server.state.mode = mode;
        assert.deepEqual(await bearer(token), UNAVAILABLE, mode);
      }
      server.state.mode = 'up';
      assert.deepEqual(await bearer(token), user());
    });
  });
}
