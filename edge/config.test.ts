import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEV_OPS_TOKEN, EdgeConfigError, edgeConfig } from './config.ts';

const externalIdentity = {
  MERIDIAN_JWT_ISSUER: 'https://id.example.com/',
  MERIDIAN_JWKS_URL: 'https://id.example.com/.well-known/jwks.json',
  MERIDIAN_EDGE_PURGE_TOKEN: 'purge-token-from-the-issuer',
};

describe('edge config', () => {
  it('development: local defaults, the dev issuer, any ops token', () => {
    const c = edgeConfig({ MERIDIAN_EDGE_OPS_TOKEN: DEV_OPS_TOKEN });
    assert.equal(c.production, false);
    assert.equal(c.jwt.jwksUrl, 'http://127.0.0.1:41000/.well-known/jwks.json');
    assert.equal(c.opsToken, DEV_OPS_TOKEN);
  });

  it('production refuses the development issuer unless opted in by name', () => {
    for (const missing of Object.keys(externalIdentity)) {
      const env: Record<string, string> = { NODE_ENV: 'production', ...externalIdentity };
      delete env[missing];
      assert.throws(
        () => edgeConfig(env),
        (err: unknown) => err instanceof EdgeConfigError && err.message.includes(missing),
        missing,
      );
    }
    assert.equal(edgeConfig({ NODE_ENV: 'production', ...externalIdentity }).production, true);
    assert.equal(edgeConfig({ NODE_ENV: 'production', MERIDIAN_DEV_ISSUER: 'enabled' }).production, true);
  });

  it('production refuses the dev ops token and short ones', () => {
    for (const token of [DEV_OPS_TOKEN, 'short-secret']) {
      assert.throws(
        () => edgeConfig({ NODE_ENV: 'production', ...externalIdentity, MERIDIAN_EDGE_OPS_TOKEN: token }),
        /MERIDIAN_EDGE_OPS_TOKEN must be a secret/,
      );
    }
    const long = 'x'.repeat(40);
    assert.equal(
      edgeConfig({ NODE_ENV: 'production', ...externalIdentity, MERIDIAN_EDGE_OPS_TOKEN: long }).opsToken,
      long,
    );
  });
});
