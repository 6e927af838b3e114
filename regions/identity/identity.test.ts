import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { serve } from '@hono/node-server';
import { exportJWK, generateKeyPair } from 'jose';
import { ConfigError } from '../../infra/config/endpoints.ts';
import { identityFromEnv } from './identity.ts';

describe('identityFromEnv', () => {
  let dir: string;
  let defaults: { keyFile: string; gatewayUrl: string };
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'meridian-identity-'));
    defaults = { keyFile: path.join(dir, 'dev-key.json'), gatewayUrl: 'http://127.0.0.1:41000' };
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('without an external issuer, the dev issuer is on and its tokens verify', async () => {
    const identity = identityFromEnv({}, defaults);
    assert.equal(identity.mode, 'dev');
    assert.ok(identity.issuer && identity.routes);
    assert.match(identity.summary, /DEVELOPMENT.*http:\/\/127\.0\.0\.1:41000\/auth\/token/);
    const { access_token } = await identity.issuer.issue({ sub: 'u1', tenant: 't1', scopes: ['orders:read'] });
    const actor = await identity.verifier.verify(`Bearer ${access_token}`);
    assert.deepEqual(actor, { subject: 'u1', tenant: 't1', scopes: ['orders:read'] });
  });

  it('in production the dev issuer refuses to start unless opted in by name', () => {
    assert.throws(
      () => identityFromEnv({ NODE_ENV: 'production' }, defaults),
      (err: unknown) => err instanceof ConfigError && /MERIDIAN_DEV_ISSUER=enabled/.test(err.message),
    );
    assert.throws(() => identityFromEnv({ NODE_ENV: 'production', MERIDIAN_DEV_ISSUER: 'yes' }, defaults), ConfigError);
    assert.equal(identityFromEnv({ NODE_ENV: 'production', MERIDIAN_DEV_ISSUER: 'enabled' }, defaults).mode, 'dev');
    const external = identityFromEnv(
      {
        NODE_ENV: 'production',
        MERIDIAN_JWT_ISSUER: 'https://id.example.com/',
        MERIDIAN_JWKS_URL: 'https://id.example.com/jwks',
      },
      defaults,
    );
    assert.equal(external.mode, 'external');
  });

  it('with issuer and JWKS URL set, the dev issuer is off', () => {
    const identity = identityFromEnv(
      { MERIDIAN_JWT_ISSUER: 'https://id.example.com/', MERIDIAN_JWKS_URL: 'https://id.example.com/jwks' },
      defaults,
    );
    assert.equal(identity.mode, 'external');
    assert.equal(identity.issuer, undefined);
    assert.equal(identity.routes, undefined);
    assert.match(identity.summary, /audience meridian/);
  });

  it('a dev token is not accepted in external mode', async () => {
    const dev = identityFromEnv({}, defaults);
    const token = (await dev.issuer?.issue({ sub: 'u1', tenant: 't1', scopes: [] }))?.access_token;
    // The external issuer publishes its own keys, none of which signed the dev token.
    const other = await generateKeyPair('ES256', { extractable: true });
    const keys = [{ ...(await exportJWK(other.publicKey)), kid: 'external-1' }];
    const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
      const s = serve({ fetch: () => Response.json({ keys }), port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    try {
      const { port } = server.address() as AddressInfo;
      const external = identityFromEnv(
        { MERIDIAN_JWT_ISSUER: 'https://id.example.com/', MERIDIAN_JWKS_URL: `http://127.0.0.1:${port}/jwks` },
        defaults,
      );
      await assert.rejects(external.verifier.verify(`Bearer ${token}`), { code: 'UNAUTHENTICATED' });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  for (const env of [{ MERIDIAN_JWT_ISSUER: 'https://id.example.com/' }, { MERIDIAN_JWKS_URL: 'https://x/jwks' }]) {
    it(`half an external configuration (${Object.keys(env)[0]} only) names both variables`, () => {
      assert.throws(
        () => identityFromEnv(env, defaults),
        (err) =>
          err instanceof ConfigError &&
          /MERIDIAN_JWT_ISSUER/.test(err.message) &&
          /MERIDIAN_JWKS_URL/.test(err.message),
      );
    });
  }

  it('a JWKS URL that is not http(s) is a configuration error', () => {
    const env = { MERIDIAN_JWT_ISSUER: 'https://id.example.com/', MERIDIAN_JWKS_URL: 'file:///etc/keys.json' };
    assert.throws(() => identityFromEnv(env, defaults), /MERIDIAN_JWKS_URL: scheme file:/);
  });
});
