import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Actor } from '../../domains/shared/actor.ts';
import { commerceTopicAuthorizer, orderTopic, userOrdersTopic } from './topics.ts';

const ORDER = '0b6f1c9e-8f3a-4d2b-9c1e-3a5b7d9f1e2c';
const actor = (subject: string, tenant = 'acme'): Actor => ({ subject, tenant, scopes: [] });
const TOPIC = /^[a-z][a-z0-9_.:-]{0,199}$/; // the SSE topic grammar

describe('commerce topics', () => {
  const authorize = commerceTopicAuthorizer({
    orderOwner: async (id) => (id === ORDER ? { tenant: 'acme', userId: 'u1' } : undefined),
  });

  it('names topics publishers and subscribers agree on', () => {
    assert.equal(orderTopic(ORDER.toUpperCase()), `order.${ORDER}`);
    assert.throws(() => orderTopic('42'), /not a UUID/);
    assert.equal(userOrdersTopic('u1'), 'user.u1.orders');
  });

  it('encodes any subject into the topic grammar without two subjects colliding', () => {
    const subjects = ['Alice', 'alice', 'a:40b', 'a@b', 'auth0|abc', 'ü', 'a.b'];
    const topics = subjects.map(userOrdersTopic);
    assert.equal(new Set(topics).size, subjects.length);
    for (const t of topics) assert.match(t, TOPIC);
    assert.equal(userOrdersTopic('Alice'), 'user.:41lice.orders');
  });

  it('an order topic is allowed only to its owner in the same tenant', async () => {
    assert.equal(await authorize(actor('u1'), orderTopic(ORDER)), true);
    assert.equal(await authorize(actor('u2'), orderTopic(ORDER)), false);
    assert.equal(await authorize(actor('u1', 'globex'), orderTopic(ORDER)), false);
    assert.equal(await authorize(actor('u1'), orderTopic('11111111-2222-4333-8444-555555555555')), false);
  });

  it("a user's orders topic is allowed only to that user", async () => {
    assert.equal(await authorize(actor('u1'), 'user.u1.orders'), true);
    assert.equal(await authorize(actor('Alice'), userOrdersTopic('Alice')), true);
    assert.equal(await authorize(actor('alice'), userOrdersTopic('Alice')), false, 'subjects are case-sensitive');
    assert.equal(await authorize(actor('u1'), 'user.u2.orders'), false);
  });

  it('anything else is denied', async () => {
    for (const topic of ['order.42', 'orders', 'user.u1', 'user.u1.orders.x', 'chat.room.1', `order.${ORDER}.x`]) {
      assert.equal(await authorize(actor('u1'), topic), false, topic);
    }
  });
});
