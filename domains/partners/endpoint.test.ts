import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rejectsWith } from '../shared/testing.ts';
import {
  disabled,
  enabled,
  failingTooLong,
  rotated,
  signingSecrets,
  subscribes,
  validateEventTypes,
  validateUrl,
  type WebhookEndpoint,
} from './endpoint.ts';

const OFFERED = new Set(['shop.order.created.v1', 'shop.order.cancelled.v1']);
const endpoint: WebhookEndpoint = {
  id: `ep_${'a'.repeat(32)}`,
  tenant: 't1',
  url: 'https://hooks.example.com/in',
  description: '',
  eventTypes: ['shop.order.created.v1'],
  status: 'ENABLED',
  secret: `whsec_${btoa('x'.repeat(24))}`,
  createdAt: '2030-01-01T00:00:00.000Z',
  updatedAt: '2030-01-01T00:00:00.000Z',
  version: 1,
};

describe('webhook endpoint rules', () => {
  it('takes http(s) URLs and refuses credentials, fragments, other schemes and overlong ones', () => {
    assert.equal(validateUrl('https://hooks.example.com/in?x=1'), 'https://hooks.example.com/in?x=1');
    assert.equal(validateUrl('http://127.0.0.1:8080/hook'), 'http://127.0.0.1:8080/hook');
    for (const bad of [
      'ftp://example.com/x',
      'https://user:pw@example.com/',
      'https://example.com/#frag',
      'not a url',
      '',
      `https://example.com/${'a'.repeat(2048)}`,
      42,
    ]) {
      assert.throws(() => validateUrl(bad), rejectsWith('BAD_USER_INPUT', { field: 'url' }), String(bad));
    }
  });

  it('event types must be offered, 1-50, and are kept once each', () => {
    assert.deepEqual(validateEventTypes(['shop.order.created.v1', 'shop.order.created.v1'], OFFERED), [
      'shop.order.created.v1',
    ]);
    assert.throws(() => validateEventTypes([], OFFERED), rejectsWith('BAD_USER_INPUT', { field: 'eventTypes' }));
    assert.throws(
      () => validateEventTypes(['shop.payment.authorized.v1'], OFFERED),
      rejectsWith('BAD_USER_INPUT', { field: 'eventTypes', eventType: 'shop.payment.authorized.v1' }),
    );
  });

  it('a rotated secret signs beside the new one until the overlap ends, then only the new one signs', () => {
    const next = rotated(endpoint, `whsec_${btoa('y'.repeat(24))}`, '2030-01-01T00:00:00.000Z', 60_000);
    assert.deepEqual(signingSecrets(next, '2030-01-01T00:00:59.999Z'), [next.secret, endpoint.secret]);
    assert.deepEqual(signingSecrets(next, '2030-01-01T00:01:00.000Z'), [next.secret]);
    assert.deepEqual(signingSecrets(endpoint, '2030-01-01T00:00:00.000Z'), [endpoint.secret]);
  });

  it('a disabled endpoint subscribes to nothing; enabling clears the failing stretch', () => {
    assert.equal(subscribes(endpoint, 'shop.order.created.v1'), true);
    assert.equal(subscribes(endpoint, 'shop.order.cancelled.v1'), false);
    const off = disabled({ ...endpoint, failingSince: '2030-01-01T00:00:00.000Z' }, 'FAILING', '2030-01-06T00:00:00Z');
    assert.equal(subscribes(off, 'shop.order.created.v1'), false);
    assert.equal(disabled(off, 'MANUAL', 'later'), off, 'already disabled: unchanged (the first reason stays)');
    const on = enabled(off, '2030-01-07T00:00:00.000Z');
    assert.equal(on.status, 'ENABLED');
    assert.equal(on.failingSince, undefined);
    assert.equal(on.disabledReason, undefined);
  });

  it('failing too long: only when a stretch began at least `after` ago', () => {
    assert.equal(failingTooLong(undefined, '2030-01-06T00:00:00.000Z', 1000), false);
    assert.equal(failingTooLong('2030-01-01T00:00:00.000Z', '2030-01-01T00:00:00.999Z', 1000), false);
    assert.equal(failingTooLong('2030-01-01T00:00:00.000Z', '2030-01-01T00:00:01.000Z', 1000), true);
  });
});
