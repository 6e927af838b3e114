import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { COMMERCE_EVENTS, domainEvent } from '../../domains/commerce/events.ts';
import type { Actor } from '../../domains/shared/actor.ts';
import { envelope } from '../../infra/events/envelope.ts';
import { TOPIC, topicResolver } from '../hub/topics.ts';
import { commerceHubFeed, commerceHubTopics, orderTopic, userOrdersTopic } from './hub.ts';

const ORDER = '0b6f1c9e-8f3a-4d2b-9c1e-3a5b7d9f1e2c';
const actor = (subject: string, tenant = 'acme'): Actor => ({ subject, tenant, scopes: [] });

describe('commerce hub topics', () => {
  const resolve = topicResolver(
    commerceHubTopics(async (id) => (id === ORDER ? { tenant: 'acme', userId: 'u1' } : undefined)),
  );

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
    assert.equal(await resolve(actor('u1'), orderTopic(ORDER)), `acme/order.${ORDER}`);
    assert.equal(await resolve(actor('u2'), orderTopic(ORDER)), undefined);
    assert.equal(await resolve(actor('u1', 'globex'), orderTopic(ORDER)), undefined, 'same user id, other tenant');
    assert.equal(await resolve(actor('u1'), orderTopic('11111111-2222-4333-8444-555555555555')), undefined);
  });

  it("a user's orders topic is allowed only to that user, scoped to the user's tenant", async () => {
    assert.equal(await resolve(actor('u1'), 'user.u1.orders'), 'acme/user.u1.orders');
    assert.equal(await resolve(actor('u1', 'globex'), 'user.u1.orders'), 'globex/user.u1.orders');
    assert.equal(await resolve(actor('Alice'), userOrdersTopic('Alice')), 'acme/user.:41lice.orders');
    assert.equal(await resolve(actor('alice'), userOrdersTopic('Alice')), undefined, 'subjects are case-sensitive');
    assert.equal(await resolve(actor('u1'), 'user.u2.orders'), undefined);
  });

  it('anything else is denied', async () => {
    for (const topic of ['order.42', 'orders', 'user.u1', 'user.u1.orders.x', 'chat.room.1', `order.${ORDER}.x`]) {
      assert.equal(await resolve(actor('u1'), topic), undefined, topic);
    }
  });
});

describe('commerce hub feed', () => {
  const confirmed = envelope(
    domainEvent(COMMERCE_EVENTS.orderConfirmed, ORDER, 'acme', {
      orderId: ORDER,
      userId: 'u1',
      status: 'CONFIRMED',
      version: 2,
    }),
    { region: 'east', service: 'commerce' },
  );

  it("publishes an order state change to the order's and the user's topic, with the event id", () => {
    const pubs = commerceHubFeed.publications(confirmed);
    assert.deepEqual(
      pubs.map((p) => p.topic),
      [`order.${ORDER}`, 'user.u1.orders'],
    );
    for (const p of pubs) {
      assert.equal(p.message.id, confirmed.id);
      assert.equal(p.message.event, COMMERCE_EVENTS.orderConfirmed);
      assert.deepEqual(p.message.data, {
        orderId: ORDER,
        status: 'CONFIRMED',
        version: 2,
        time: confirmed.time,
        source: '/regions/east/commerce',
      });
    }
  });

  it('publishes nothing for events that are not order state changes', () => {
    const reserved = envelope(
      domainEvent(COMMERCE_EVENTS.inventoryReserved, ORDER, 'acme', {
        orderId: ORDER,
        items: [{ productId: 'p1', quantity: 1 }],
      }),
      { region: 'east', service: 'commerce' },
    );
    assert.deepEqual(commerceHubFeed.publications(reserved), []);
  });
});
