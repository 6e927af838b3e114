import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { newWebhookSecret, webhookHeaders } from './webhook-signature.ts';

describe('Standard Webhooks signatures (verified with the specification’s own library)', () => {
  const payload = JSON.stringify({ type: 'shop.order.created.v1', timestamp: '2030-01-01T00:00:00Z', data: { a: 1 } });

  it('a new secret is whsec_ and 32 random bytes, and every signature verifies', () => {
    const secret = newWebhookSecret();
    assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    assert.notEqual(newWebhookSecret(), secret);
    const headers = webhookHeaders([secret], 'msg_1', Date.now(), payload);
    assert.deepEqual(new Webhook(secret).verify(payload, headers), JSON.parse(payload));
  });

  it('during a rotation both secrets sign: receivers on either secret verify', () => {
    const [next, old] = [newWebhookSecret(), newWebhookSecret()];
    const headers = webhookHeaders([next, old], 'msg_2', Date.now(), payload);
    assert.equal(headers['webhook-signature'].split(' ').length, 2);
    assert.ok(new Webhook(next).verify(payload, headers));
    assert.ok(new Webhook(old).verify(payload, headers));
    assert.throws(() => new Webhook(newWebhookSecret()).verify(payload, headers), /No matching signature/);
  });

  it('a changed body, id or timestamp fails verification', () => {
    const secret = newWebhookSecret();
    const headers = webhookHeaders([secret], 'msg_3', Date.now(), payload);
    assert.throws(() => new Webhook(secret).verify(`${payload} `, headers), /No matching signature/);
    assert.throws(() => new Webhook(secret).verify(payload, { ...headers, 'webhook-id': 'msg_4' }), /No matching/);
    const stale = webhookHeaders([secret], 'msg_3', Date.now() - 10 * 60_000, payload);
    assert.throws(() => new Webhook(secret).verify(payload, stale), /too old/);
  });
});
