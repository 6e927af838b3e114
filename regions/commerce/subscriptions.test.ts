import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { rejectsWith } from '../../domains/shared/testing.ts';
import { createHub } from '../hub/hub.ts';
import { createHubGraphQL } from '../hub/subscriptions.ts';
import { topicResolver } from '../hub/topics.ts';
import { commerceHubFeed, commerceHubTopics } from './hub.ts';
import { commerceSubscriptions, orderUpdate } from './subscriptions.ts';

const actor = { subject: 'u1', tenant: 't1', scopes: [] };

describe('commerce subscription fields', () => {
  it("orderUpdated follows the order topic; myOrdersUpdated the caller's own orders topic", () => {
    const id = randomUUID();
    const { orderUpdated, myOrdersUpdated } = commerceSubscriptions.subscriptions;
    assert.deepEqual(orderUpdated?.topics({ id: id.toUpperCase() }, actor), [`order.${id}`]);
    assert.deepEqual(myOrdersUpdated?.topics({}, { ...actor, subject: 'Alice' }), ['user.:41lice.orders']);
    assert.throws(() => orderUpdated?.topics({ id: 'nope' }, actor), rejectsWith('BAD_USER_INPUT'));
  });

  it('maps a hub feed message to an OrderUpdate', () => {
    const orderId = randomUUID();
    const [publication] = commerceHubFeed.publications({
      specversion: '1.0',
      id: randomUUID(),
      type: 'commerce.order.cancelled.v1',
      source: '/regions/west/commerce',
      time: '2026-01-01T00:00:00.000Z',
      subject: orderId,
      tenant: 't1',
      traceparent: `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`,
      datacontenttype: 'application/json',
      data: { orderId, userId: 'u1', status: 'CANCELLED', reason: 'declined', version: 2 },
    });
    assert.ok(publication);
    assert.deepEqual(orderUpdate({ topic: publication.topic, ...publication.message }), {
      id: orderId,
      status: 'CANCELLED',
      version: 2,
      cancelReason: 'declined',
      totalCents: null,
      currency: null,
      time: '2026-01-01T00:00:00.000Z',
      region: 'west',
    });
  });

  it('its SDL builds into the hub schema with the commerce hub topics', () => {
    const graphql = createHubGraphQL({
      hub: createHub(),
      topics: topicResolver(commerceHubTopics(async () => undefined)),
      parts: [{ name: 'commerce', part: commerceSubscriptions }],
    });
    const fields = Object.keys(graphql.schema.getSubscriptionType()?.getFields() ?? {});
    assert.deepEqual(fields.sort(), ['hubEvents', 'myOrdersUpdated', 'orderUpdated']);
  });
});
