import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { isDomainError } from '../../domains/shared/errors.ts';
import { createDevIssuer } from './dev-issuer.ts';

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
}

const goodRequest = { sub: 'u1', tenant: 't1', scopes: ['orders:write'] };

function postToken(app: ReturnType<ReturnType<typeof createDevIssuer>['routes']>, body: string) {
  return app.request('/auth/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
}

describe('dev issuer', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'meridian-dev-issuer-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('POST /auth/token mints an ES256 JWT with the documented claims', async () => {
    const issuer = createDevIssuer({ keyFile: path.join(dir, 'a', 'key.json'), ttlSeconds: 600 });
    const app = issuer.routes();
    const res = await postToken(app, JSON.stringify(goodRequest));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const body = (await res.json()) as { access_token: string; token_type: string; expires_in: number };
    assert.equal(body.token_type, 'Bearer');
    assert.equal(body.expires_in, 600);

    const header = decodeProtectedHeader(body.access_token);
    assert.equal(header.alg, 'ES256');
    assert.equal(typeof header.kid, 'string');

    const jwksRes = await app.request('/.well-known/jwks.json');
    assert.equal(jwksRes.status, 200);
    assert.equal(jwksRes.headers.get('cache-control'), 'public, max-age=300');
    const jwks = (await jwksRes.json()) as { keys: Record<string, unknown>[] };
    assert.equal(jwks.keys.length, 1);
    assert.equal(jwks.keys[0]?.kid, header.kid);
    assert.equal(jwks.keys[0]?.d, undefined, 'the JWKS must never carry the private part');

    const { payload } = await jwtVerify(body.access_token, createLocalJWKSet(jwks as never), {
      issuer: 'meridian-dev',
      audience: 'meridian',
      algorithms: ['ES256'],
    });
    assert.equal(payload.sub, 'u1');
    assert.equal(payload.tenant, 't1');
    assert.deepEqual(payload.scopes, ['orders:write']);
    assert.equal((payload.exp ?? 0) - (payload.iat ?? 0), 600);
    assert.equal(payload.nbf, payload.iat);
    assert.match(String(payload.jti), /^[0-9a-f-]{36}$/);
  });

  it('persists the key (mode 0600) and a second instance reuses it', async () => {
    const keyFile = path.join(dir, 'shared', 'nested', 'key.json');
    const first = createDevIssuer({ keyFile });
    const token = await first.issue(goodRequest);
    const st = await stat(keyFile);
    assert.equal(st.mode & 0o777, 0o600);
    const saved = JSON.parse(await readFile(keyFile, 'utf8')) as Record<string, unknown>;
    assert.equal(saved.kty, 'EC');
    assert.equal(typeof saved.d, 'string');
    assert.equal(typeof saved.kid, 'string');

    const second = createDevIssuer({ keyFile });
    const jwks = await second.jwks();
    assert.equal(jwks.keys[0]?.kid, saved.kid);
    // A token minted by one process verifies against the keys another process serves.
    await jwtVerify(token.access_token, createLocalJWKSet(jwks), { algorithms: ['ES256'] });
  });

  it('processes starting at once agree on one key', async () => {
    const keyFile = path.join(dir, 'race', 'key.json');
    const sets = await Promise.all(Array.from({ length: 5 }, () => createDevIssuer({ keyFile }).jwks()));
    const kids = new Set(sets.map((s) => s.keys[0]?.kid));
    assert.equal(kids.size, 1);
  });

  it('a corrupt key file is a clear error naming the file', async () => {
    const keyFile = path.join(dir, 'corrupt.json');
    await writeFile(keyFile, '{"kty":"oct"}');
    await assert.rejects(createDevIssuer({ keyFile }).jwks(), new RegExp(`${keyFile}.*P-256`));
  });

  for (const [name, body, field] of [
    ['malformed JSON', '{"sub":', 'body'],
    ['not an object', '[]', 'body'],
    ['missing sub', JSON.stringify({ tenant: 't1', scopes: [] }), 'sub'],
    ['sub with a space', JSON.stringify({ ...goodRequest, sub: 'a b' }), 'sub'],
    ['sub too long', JSON.stringify({ ...goodRequest, sub: 'x'.repeat(129) }), 'sub'],
    ['upper-case tenant', JSON.stringify({ ...goodRequest, tenant: 'T1' }), 'tenant'],
    ['tenant too long', JSON.stringify({ ...goodRequest, tenant: 't'.repeat(65) }), 'tenant'],
    ['scopes not an array', JSON.stringify({ ...goodRequest, scopes: 'orders:write' }), 'scopes'],
    ['too many scopes', JSON.stringify({ ...goodRequest, scopes: Array(33).fill('a:b') }), 'scopes'],
    ['malformed scope', JSON.stringify({ ...goodRequest, scopes: ['orders:write', 'Orders'] }), 'scopes[1]'],
  ] as const) {
    it(`400 problem+json for ${name}, naming ${field}`, async () => {
      const app = createDevIssuer({ keyFile: path.join(dir, 'validation.json') }).routes();
      const res = await postToken(app, body);
      assert.equal(res.status, 400);
      assert.equal(res.headers.get('content-type'), 'application/problem+json');
      const p = (await res.json()) as Problem;
      assert.deepEqual([p.type, p.title, p.status], ['about:blank', 'Bad Request', 400]);
      assert.ok(p.detail.startsWith(`${field}:`), p.detail);
    });
  }

  it('issue() rejects bad claims with BAD_USER_INPUT', async () => {
    const issuer = createDevIssuer({ keyFile: path.join(dir, 'validation.json') });
    await assert.rejects(issuer.issue({ ...goodRequest, tenant: 'Bad Tenant' }), (err) => {
      assert.ok(isDomainError(err, 'BAD_USER_INPUT'));
      assert.equal(err.details.field, 'tenant');
      return true;
    });
  });
});
