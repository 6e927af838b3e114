import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import envelopeSchema from '../../schemas/events/envelope.v1.json' with { type: 'json' };
import { checkClaims, MAX_SCOPES, TENANT_PATTERN } from './claims.ts';

describe('token claims', () => {
  it('the tenant rule is the event envelope tenant pattern', () => {
    assert.equal(TENANT_PATTERN.source, envelopeSchema.properties.tenant.pattern);
    assert.equal(TENANT_PATTERN.flags, '', 'the JSON Schema pattern has no flags either');
  });

  it('passes good claims through, scopes from either claim form', () => {
    assert.deepEqual(checkClaims({ sub: 'u1', tenant: 't1', scopes: ['a:b'] }), {
      ok: true,
      claims: { subject: 'u1', tenant: 't1', scopes: ['a:b'] },
    });
    const fromScope = checkClaims({ sub: 'u1', tenant: 't1', scope: 'a:b c:d' });
    assert.deepEqual(fromScope.ok && fromScope.claims.scopes, ['a:b', 'c:d']);
  });

  it('names the claim at fault without echoing its value', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ tenant: 't1', sub: 'evil value' }, /"sub"/],
      [{ sub: 'u1', tenant: 'Evil Tenant' }, /"tenant"/],
      [{ sub: 'u1', tenant: 't1', scopes: Array(MAX_SCOPES + 1).fill('s') }, /"scopes"/],
    ];
    for (const [payload, reason] of cases) {
      const result = checkClaims(payload);
      assert.equal(result.ok, false);
      if (result.ok) continue;
      assert.match(result.message, reason);
      assert.doesNotMatch(result.message, /evil/i);
    }
  });
});
