import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { COMMERCE_EVENTS, type CommerceEventType, domainEvent } from '../../domains/commerce/events.ts';
import type { Actor } from '../../domains/shared/actor.ts';
import { DomainError } from '../../domains/shared/errors.ts';
import { createPurgeSubscriber } from '../../edge/purge/subscriber.ts';
import { type Envelope, envelope } from '../../infra/events/envelope.ts';
import { createHub, type Delivery, type Subscription } from '../hub/hub.ts';
import { sseRoutes } from '../hub/sse.ts';
import {
  feedPurges,
  PURGE_SCOPE,
  PURGE_TOPIC,
  type PurgeMessageData,
  purgeTagsFor,
  purgeTopicAuthorizer,
  withPurgeTopic,
} from './purge-feed.ts';

const ORDER = '0b5e6a1e-8d2c-4f6a-9a51-3c1f2d4e5a6b';
const USER = 'u-42';

/** A real envelope of `type`, as the outbox relay would put it on Kafka. */
function event(type: CommerceEventType, data: Record<string, unknown>, region = 'east'): Envelope {
  // biome-ignore lint/suspicious/noExplicitAny: builder over every event type; each test passes that type's data
  return envelope(domainEvent(type, ORDER, 'tenant-1', data as any), { region, service: 'commerce' });
}

const reserved = (items: Array<[string, number]>) =>
  event(COMMERCE_EVENTS.inventoryReserved, {
    orderId: ORDER,
    items: items.map(([productId, quantity]) => ({ productId, quantity })),
  });
const confirmed = () =>
  event(COMMERCE_EVENTS.orderConfirmed, { orderId: ORDER, userId: USER, status: 'CONFIRMED', version: 2 });

async function take(sub: Subscription): Promise<Delivery> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('no delivery within 500 ms')), 500);
  });
  try {
    const r = await Promise.race([sub.next(), timeout]);
    assert.equal(r.done, false);
    return r.value as Delivery;
  } finally {
    clearTimeout(timer);
  }
}

const actor = (scopes: string[]): Actor => ({ subject: 'edge-1', tenant: 'meridian', scopes });

describe('purgeTagsFor', () => {
  it('stock changes make each product of the lines stale, once each', () => {
    assert.deepEqual(
      purgeTagsFor(
        reserved([
          ['p1', 2],
          ['p2', 1],
          ['p1', 1],
        ]),
      ),
      ['Product:p1', 'Product:p2'],
    );
    const released = event(COMMERCE_EVENTS.inventoryReleased, {
      orderId: ORDER,
      items: [{ productId: 42, quantity: 1 }],
    });
    assert.deepEqual(purgeTagsFor(released), [], 'a non-string product id names no entity');
  });

  it("order state changes make the order and its user's responses stale", () => {
    const created = event(COMMERCE_EVENTS.orderCreated, {
      orderId: ORDER,
      userId: USER,
      status: 'PENDING',
      items: [{ productId: 'p1', quantity: 1, unitPriceCents: 100 }],
      totalCents: 100,
      currency: 'USD',
      paymentToken: 'tok',
      version: 1,
    });
    assert.deepEqual(purgeTagsFor(created), [`Order:${ORDER}`, `User:${USER}`]);
    assert.deepEqual(purgeTagsFor(confirmed()), [`Order:${ORDER}`, `User:${USER}`]);
    const cancelled = event(COMMERCE_EVENTS.orderCancelled, { orderId: ORDER, status: 'CANCELLED', reason: 'x' });
    assert.deepEqual(purgeTagsFor(cancelled), [`Order:${ORDER}`], 'no user in data, no user tag');
  });

  it('mirrored event types (`east.` prefix) purge the same tags', () => {
    const mirrored = { ...confirmed(), type: `east.${COMMERCE_EVENTS.orderConfirmed}` };
    assert.deepEqual(purgeTagsFor(mirrored), [`Order:${ORDER}`, `User:${USER}`]);
  });

  it('events that change no cached entity purge nothing', () => {
    const authorized = event(COMMERCE_EVENTS.paymentAuthorized, {
      orderId: ORDER,
      authorizationId: 'a1',
      amountCents: 100,
      currency: 'USD',
    });
    assert.deepEqual(purgeTagsFor(authorized), []);
    assert.deepEqual(purgeTagsFor({ ...authorized, type: 'chat.message.sent.v1' }), []);
  });
});

describe('feedPurges (real hub)', () => {
  it('publishes a soft purge for stock and a hard one for order state, with the event id', async () => {
    const hub = createHub();
    const sub = hub.subscribe([PURGE_TOPIC]);
    const stock = reserved([['p1', 1]]);
    const order = confirmed();
    assert.equal(feedPurges(hub, stock), true);
    assert.equal(feedPurges(hub, order), true);
    const first = await take(sub);
    assert.equal(first.topic, PURGE_TOPIC);
    assert.equal(first.id, stock.id);
    assert.equal(first.event, 'purge');
    assert.deepEqual(first.data, {
      tags: ['Product:p1'],
      soft: true,
      source: '/regions/east/commerce',
      type: COMMERCE_EVENTS.inventoryReserved,
      time: stock.time,
    } satisfies PurgeMessageData);
    const second = await take(sub);
    assert.equal(second.id, order.id);
    assert.deepEqual((second.data as PurgeMessageData).tags, [`Order:${ORDER}`, `User:${USER}`]);
    assert.equal((second.data as PurgeMessageData).soft, false);
    sub.close();
    hub.close();
  });

  it('a Kafka redelivery (same event id) is published once', () => {
    const hub = createHub();
    const e = confirmed();
    assert.equal(feedPurges(hub, e), true);
    assert.equal(feedPurges(hub, e), false);
    assert.equal(hub.stats().topics, 1);
    hub.close();
  });

  it('an event that purges nothing publishes nothing', () => {
    const hub = createHub();
    const declined = event(COMMERCE_EVENTS.paymentDeclined, {
      orderId: ORDER,
      reason: 'no funds',
      amountCents: 1,
      currency: 'USD',
    });
    assert.equal(feedPurges(hub, declined), false);
    assert.equal(hub.stats().topics, 0);
    hub.close();
  });
});

describe('purge topic authorization', () => {
  it('only actors with the edge:purge scope may follow edge.purge', async () => {
    assert.equal(purgeTopicAuthorizer(actor([PURGE_SCOPE])), true);
    assert.equal(purgeTopicAuthorizer(actor(['orders:read', 'edge:read'])), false);
    const inner = async (_a: Actor, topic: string) => topic === 'user.edge-1.orders';
    const authorize = withPurgeTopic(inner);
    assert.equal(await authorize(actor([PURGE_SCOPE]), PURGE_TOPIC), true);
    assert.equal(await authorize(actor([]), PURGE_TOPIC), false);
    assert.equal(await authorize(actor([]), 'user.edge-1.orders'), true, 'other topics go to the inner rule');
  });
});

describe('purge feed → hub SSE → edge subscriber (wire contract)', () => {
  it('the edge gets each purge once, with tags and softness; a client without the scope gets 403', async () => {
    const hub = createHub();
    const tokens: Record<string, Actor> = { edge: actor([PURGE_SCOPE]), client: actor(['orders:read']) };
    const app = sseRoutes({
      hub,
      verify: async (authorization) => {
        const found = tokens[authorization?.replace(/^Bearer /, '') ?? ''];
        if (found === undefined) throw new DomainError('UNAUTHENTICATED', 'unknown token');
        return found;
      },
      authorize: withPurgeTopic(async () => false),
    });
    const denied = await app.request(`/v1/stream?topics=${PURGE_TOPIC}`, {
      headers: { authorization: 'Bearer client' },
    });
    assert.equal(denied.status, 403);

    const purges: Array<{ tags: string[]; soft: boolean }> = [];
    // Both "regions" are this one hub: every event arrives twice, as it will once regions mirror each other.
    const inProcess: typeof fetch = (input, init) => Promise.resolve(app.fetch(new Request(String(input), init)));
    const subscriber = createPurgeSubscriber({
      regions: { east: 'http://east.test', west: 'http://west.test' },
      token: () => 'edge',
      onPurge: (tags, soft) => {
        purges.push({ tags, soft });
      },
      fetch: inProcess,
    });
    subscriber.start();
    try {
      const deadline = Date.now() + 2000;
      while (hub.stats().subscriptions < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      assert.equal(hub.stats().subscriptions, 2, 'both streams are subscribed');
      feedPurges(hub, reserved([['p7', 1]]));
      feedPurges(hub, confirmed());
      while (purges.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 20)); // room for a duplicate to (wrongly) arrive
      assert.deepEqual(purges, [
        { tags: ['Product:p7'], soft: true },
        { tags: [`Order:${ORDER}`, `User:${USER}`], soft: false },
      ]);
      assert.equal(subscriber.status().duplicates, 2);
    } finally {
      await subscriber.stop();
      hub.close();
    }
  });
});
