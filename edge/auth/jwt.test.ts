import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  type AuthResult,
  createEdgeAuth,
  forwardHeaders,
  requireScopes,
  stripIdentityHeaders,
  wwwAuthenticate,
} from './jwt.ts';
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
} from './token-verifier.contract.test.ts';

function bearer(token: string): Request {
  return new Request('https://edge.test/graphql', { headers: { authorization: `Bearer ${token}` } });
}

/** AuthResult in the contract's terms: 401 is the caller's fault, 503 the issuer's. */
function normalise(result: AuthResult): Normalised {
  if (result.kind === 'user')
    return { ok: true, subject: result.subject, tenant: result.tenant, scopes: result.scopes };
  if (result.kind === 'anonymous') throw new Error('the contract always sends an Authorization header');
  assert.equal(result.status === 503, result.code === 'UNAVAILABLE', JSON.stringify(result));
  return { ok: false, kind: result.status === 503 ? 'unavailable' : 'invalid' };
}

tokenVerifierContract('edge createEdgeAuth', (t) => {
  const auth = createEdgeAuth(t);
  return async (authorization) =>
    normalise(await auth.authenticate(new Request('https://edge.test/graphql', { headers: { authorization } })));
});

describe('edge JWT authentication', () => {
  let keyA: TestKey;
  before(async () => {
    keyA = await makeKey('key-a');
  });

  function setup() {
    const server = jwksServer([keyA]);
    const auth = createEdgeAuth({ issuer: ISSUER, audience: AUDIENCE, jwksUrl: JWKS_URL, fetch: server.fetch });
    return { server, auth };
  }

  it('no Authorization header is anonymous (and fetches no keys)', async () => {
    const { auth, server } = setup();
    assert.deepEqual(await auth.authenticate(new Request('https://edge.test/graphql')), { kind: 'anonymous' });
    assert.equal(server.state.fetches, 0);
  });

  it('a valid token is a user carrying the raw token for the region to verify again, and its expiry', async () => {
    const { auth } = setup();
    const exp = Math.floor(Date.now() / 1000) + 120;
    const token = await sign(keyA, { exp });
    assert.deepEqual(await auth.authenticate(bearer(token)), {
      kind: 'user',
      subject: 'user-1',
      tenant: 'acme',
      scopes: ['orders:read', 'orders:write'],
      token,
      expiresAt: exp * 1000,
    });
  });

  it('a bad token is 401 UNAUTHENTICATED with a reason; an empty header is not anonymous', async () => {
    const { auth } = setup();
    const expired = await sign(keyA, { exp: Math.floor(Date.now() / 1000) - 600, nbf: 0 });
    assert.deepEqual(await auth.authenticate(bearer(expired)), {
      kind: 'error',
      status: 401,
      code: 'UNAUTHENTICATED',
      message: 'token expired',
    });
    const empty = await auth.authenticate(new Request('https://edge.test/', { headers: { authorization: '' } }));
    assert.deepEqual([empty.kind, 'status' in empty && empty.status], ['error', 401]);
  });

  it('an unreachable issuer is 503 UNAVAILABLE, not a bad token', async () => {
    const { auth, server } = setup();
    server.state.mode = 'down';
    assert.deepEqual(await auth.authenticate(bearer(await sign(keyA))), {
      kind: 'error',
      status: 503,
      code: 'UNAVAILABLE',
      message: 'the token issuer keys could not be loaded',
    });
  });

  it('requireScopes: 403 FORBIDDEN when a scope is missing; WWW-Authenticate per RFC 6750 §3', async () => {
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
    assert.equal(requireScopes({ kind: 'anonymous' }, ['orders:read']).kind, 'error');
    assert.equal(
      wwwAuthenticate(denied),
      'Bearer error="insufficient_scope", error_description="token lacks scope admin:write"',
    );
    const expired = await auth.authenticate(bearer(await sign(keyA, { exp: Math.floor(Date.now() / 1000) - 600 })));
    assert.equal(wwwAuthenticate(expired), 'Bearer error="invalid_token", error_description="token expired"');
    const badTenant = await auth.authenticate(bearer(await sign(keyA, { tenant: 'ACME' })));
    assert.equal(
      wwwAuthenticate(badTenant),
      'Bearer error="invalid_token", error_description="token tenant claim must be 1-64 characters of [a-z0-9-]"',
      'quotes are dropped so the description stays a quoted-string',
    );
    assert.equal(wwwAuthenticate(user), undefined);
    assert.equal(
      wwwAuthenticate({ kind: 'error', status: 503, code: 'UNAVAILABLE', message: 'down' }),
      undefined,
      'a 503 is not a token challenge',
    );
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
