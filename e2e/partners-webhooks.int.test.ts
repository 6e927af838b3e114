/**
 * Webhooks end to end in one region (east), everything real: the partners subgraph behind the
 * region gateway, Postgres (a database of its own), Kafka (events produced by commerce through the
 * gateway, or straight to Kafka as commerce's relay would), RabbitMQ (the delivery queue with its
 * delay buckets, in the region's vhost) and HTTP receivers on loopback: healthy, slow, failing
 * then healthy, answering 410, redirecting. Every delivery's signature is verified with the
 * `standardwebhooks` package. A short retry schedule and auto-disable limit stand in for Svix's days.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Webhook } from 'standardwebhooks';
import { eventually } from '../infra/adapters/testing.ts';
import { type Received, type Receiver, startReceiver } from '../infra/partners/receiver.testing.ts';
import { PLACE_ORDER } from './support/graphql-client.ts';
import { metricValue } from './support/metrics.ts';
import {
  CREATE_ENDPOINT,
  ENDPOINT,
  type EndpointView,
  eventProducer,
  type PartnersRegion,
  startPartnersRegion,
  tenantName,
} from './support/partners.ts';

const CONFIRMED = 'commerce.order.confirmed.v1';
const CANCELLED = 'commerce.order.cancelled.v1';
const CREATED = 'commerce.order.created.v1';

describe('webhooks end to end (east)', () => {
  let p: PartnersRegion;
  const producer = eventProducer();
  const receivers: Receiver[] = [];

  before(async () => {
    p = await startPartnersRegion('partners_webhooks', {
      WEBHOOK_RETRY_SCHEDULE: '0,150ms,300ms',
      WEBHOOK_TIMEOUT: '1s',
      WEBHOOK_DISABLE_AFTER: '2s',
      WEBHOOK_ROTATION_OVERLAP: '3s',
      WEBHOOK_ENDPOINT_CONCURRENCY: '2',
    });
  });
  after(async () => {
    await Promise.all(receivers.map((r) => r.close()));
    await producer.close();
    await p?.stop();
  });

  const receiver = async (...args: Parameters<typeof startReceiver>) => {
    const r = await startReceiver(...args);
    receivers.push(r);
    return r;
  };

  async function createEndpoint(tenant: string, url: string, eventTypes = [CONFIRMED, CANCELLED], sub = 'admin') {
    const token = await p.token(tenant, sub);
    const res = await p.call<{ createWebhookEndpoint: { secret: string; endpoint: { id: string } } }>(
      tenant,
      CREATE_ENDPOINT,
      { input: { url, eventTypes } },
      token,
    );
    assert.ok(res.data, JSON.stringify(res.errors));
    return { id: res.data.createWebhookEndpoint.endpoint.id, secret: res.data.createWebhookEndpoint.secret };
  }

  async function view(tenant: string, id: string): Promise<EndpointView> {
    const res = await p.call<{ webhookEndpoint: EndpointView }>(tenant, ENDPOINT, { id });
    assert.ok(res.data?.webhookEndpoint, JSON.stringify(res.errors));
    return res.data.webhookEndpoint;
  }

  /** Verifies a request with the secret (throws if it does not verify) and answers its payload. */
  function verified(secret: string, r: Received): { type: string; timestamp: string; data: Record<string, unknown> } {
    return new Webhook(secret).verify(r.body, r.headers as Record<string, string>) as never;
  }

  const errorCode = (res: { errors?: ReadonlyArray<{ extensions?: Record<string, unknown> }> }) =>
    res.errors?.[0]?.extensions?.code;

  it('endpoints in the graph: the secret once, tenants apart (same user id), internal URLs refused', async () => {
    const [a, b] = [tenantName(), tenantName()];
    const r = await receiver();
    const created = await createEndpoint(a, r.url, [CONFIRMED], 'same-user');
    assert.match(created.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    const asB = await p.token(b, 'same-user');
    const listB = await p.call<{ webhookEndpoints: unknown[] }>(b, '{ webhookEndpoints { id } }', {}, asB);
    assert.deepEqual(listB.data?.webhookEndpoints, []);
    const seenByB = await p.call<{ webhookEndpoint: unknown }>(b, ENDPOINT, { id: created.id }, asB);
    assert.equal(seenByB.data?.webhookEndpoint, null);
    const disableByB = await p.call(
      b,
      'mutation($id: ID!) { disableWebhookEndpoint(id: $id) { id } }',
      { id: created.id },
      asB,
    );
    assert.equal(errorCode(disableByB), 'NOT_FOUND');
    const listA = await p.call<{ webhookEndpoints: Array<{ id: string; url: string }> }>(
      a,
      '{ webhookEndpoints { id url } }',
    );
    assert.deepEqual(listA.data?.webhookEndpoints, [{ id: created.id, url: r.url }]);

    const types = await p.call<{ webhookEventTypes: string[] }>(a, '{ webhookEventTypes }');
    assert.deepEqual(types.data?.webhookEventTypes, [CANCELLED, CONFIRMED, CREATED]);

    for (const url of ['http://10.1.2.3/hook', 'http://169.254.169.254/latest/meta-data', 'http://[::1]:80/']) {
      const res = await p.call(a, CREATE_ENDPOINT, { input: { url, eventTypes: [CONFIRMED] } });
      assert.equal(errorCode(res), 'URL_NOT_ALLOWED', url);
    }
    const notOffered = await p.call(a, CREATE_ENDPOINT, {
      input: { url: r.url, eventTypes: ['commerce.payment.authorized.v1'] },
    });
    assert.equal(errorCode(notOffered), 'BAD_USER_INPUT');
    const noScope = await p.call(
      a,
      CREATE_ENDPOINT,
      { input: { url: r.url, eventTypes: [CONFIRMED] } },
      await p.token(a, 'u', ['orders:write']),
    );
    assert.equal(errorCode(noScope), 'FORBIDDEN');
    const update = await p.call(
      a,
      'mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: { url: "http://192.168.0.10/" }) { url } }',
      {
        id: created.id,
      },
    );
    assert.equal(errorCode(update), 'URL_NOT_ALLOWED');
    const rows = await p.db.postgres.pool.query('SELECT url FROM webhook_endpoints WHERE tenant = ANY($1)', [[a, b]]);
    assert.deepEqual(rows.rows, [{ url: r.url }], 'refusals changed nothing');
  });

  it('an order placed through the gateway reaches its tenant’s endpoint, signed, without the payment token', async () => {
    const [a, b] = [tenantName(), tenantName()];
    const r = await receiver();
    // The same URL and the same user id in two tenants: only the order's tenant is told.
    const ea = await createEndpoint(a, r.url, [CREATED, CONFIRMED], 'same-user');
    const eb = await createEndpoint(b, r.url, [CREATED, CONFIRMED], 'same-user');
    const productId = `p-zz-partners-${randomUUID().slice(0, 8)}`;
    await p.db.postgres.pool.query(
      "INSERT INTO products (id, sku, name, price_cents, currency, stock) VALUES ($1, $1, $1, 500, 'USD', 10)",
      [productId],
    );
    const placed = await p.call<{ placeOrder: { id: string } }>(
      a,
      PLACE_ORDER,
      { input: { items: [{ productId, quantity: 1 }], idempotencyKey: randomUUID(), paymentToken: 'tok_visa' } },
      await p.token(a, 'same-user'),
    );
    const orderId = placed.data?.placeOrder.id;
    assert.ok(orderId, JSON.stringify(placed.errors));
    const created = await eventually(
      () => {
        const hit = r.received.find((x) => verified(ea.secret, x).type === CREATED);
        assert.ok(hit, 'order.created delivered');
        return hit;
      },
      { timeoutMs: 20_000 },
    );
    const body = verified(ea.secret, created);
    assert.equal(body.data.orderId, orderId);
    assert.equal(body.data.status, 'PENDING');
    assert.equal('paymentToken' in body.data, false, 'the payment token stays inside');
    assert.match(created.headers['webhook-id'] as string, /^msg_[0-9a-f]{32}$/);
    // The order's confirmation follows; both are recorded as delivered before the test ends (the
    // next test counts the region's deliveries).
    await eventually(
      async () => {
        const statuses = (await view(a, ea.id)).deliveries.map((d) => d.status);
        assert.deepEqual(statuses, ['DELIVERED', 'DELIVERED']);
      },
      { timeoutMs: 20_000 },
    );
    assert.ok(
      r.received.some((x) => verified(ea.secret, x).type === CONFIRMED),
      'order.confirmed delivered',
    );
    for (const x of r.received) {
      assert.throws(() => verified(eb.secret, x), /No matching signature/, 'nothing was signed for tenant b');
    }
    assert.deepEqual((await view(b, eb.id)).deliveries, []);
  });

  it('failing then healthy: retried with the same webhook-id until 2xx; attempts listed with codes and latencies', async () => {
    const tenant = tenantName();
    const r = await receiver((n) => (n <= 2 ? { status: 500, body: `try ${n}` } : { status: 204 }));
    const deliveries = (result: string) =>
      metricValue(p.region.gatewayPort, 'meridian_webhook_deliveries_total', { result });
    const [retryingBefore, deliveredBefore] = [await deliveries('retrying'), await deliveries('delivered')];
    const e = await createEndpoint(tenant, r.url);
    const event = await producer.orderEvent(tenant, 'confirmed');
    await eventually(() => assert.equal(r.received.length, 3), { timeoutMs: 15_000 });
    const ids = new Set(r.received.map((x) => x.headers['webhook-id']));
    assert.equal(ids.size, 1, 'one webhook-id on every retry');
    for (const x of r.received) assert.equal(verified(e.secret, x).data.orderId, event.subject);
    const d = await eventually(
      async () => {
        const [one] = (await view(tenant, e.id)).deliveries;
        assert.equal(one?.status, 'DELIVERED');
        return one;
      },
      { timeoutMs: 5000 },
    );
    assert.equal(d.message.eventId, event.id);
    assert.deepEqual(
      d.attempts.map((a) => [a.attempt, a.statusCode, a.success, a.responseBody]),
      [
        [1, 500, false, 'try 1'],
        [2, 500, false, 'try 2'],
        [3, 204, true, null],
      ],
    );
    assert.ok(d.attempts.every((a) => a.latencyMs >= 0 && a.latencyMs < 1000));
    const gap = Date.parse(d.attempts[1]?.at ?? '') - Date.parse(d.attempts[0]?.at ?? '');
    assert.ok(gap >= 140, `the schedule's 150 ms between attempts 1 and 2 (was ${gap} ms)`);
    assert.equal((await view(tenant, e.id)).failingSince, null, 'the success ended the failing stretch');
    // The region's /metrics counted the two failures and the delivery.
    assert.equal((await deliveries('retrying')) - retryingBefore, 2);
    assert.equal((await deliveries('delivered')) - deliveredBefore, 1);
  });

  it('Retry-After is honoured: the next attempt waits as long as the endpoint asked', async () => {
    const tenant = tenantName();
    const r = await receiver((n) => (n === 1 ? { status: 503, headers: { 'retry-after': '1' } } : { status: 200 }));
    await createEndpoint(tenant, r.url);
    await producer.orderEvent(tenant, 'cancelled');
    await eventually(() => assert.equal(r.received.length, 2), { timeoutMs: 10_000 });
    const waited = (r.received[1]?.at ?? 0) - (r.received[0]?.at ?? 0);
    assert.ok(waited >= 950, `waited ${waited} ms, not the schedule's 150 ms`);
  });

  it('410 Gone disables the endpoint at once with partners.endpoint.disabled.v1; nothing more is sent', async () => {
    const tenant = tenantName();
    const r = await receiver(() => ({ status: 410 }));
    const e = await createEndpoint(tenant, r.url);
    await producer.orderEvent(tenant, 'confirmed');
    await eventually(
      async () => {
        const v = await view(tenant, e.id);
        assert.deepEqual([v.status, v.disabledReason], ['DISABLED', 'GONE']);
      },
      { timeoutMs: 10_000 },
    );
    const events = await p.db.postgres.pool.query<{ envelope: { data: { reason: string } } }>(
      "SELECT envelope FROM outbox WHERE topic = 'partners.endpoint.disabled.v1' AND aggregate_id = $1",
      [e.id],
    );
    assert.deepEqual(
      events.rows.map((x) => x.envelope.data.reason),
      ['GONE'],
    );
    await producer.orderEvent(tenant, 'confirmed');
    await sleep(1500);
    assert.equal(r.received.length, 1, 'a disabled endpoint receives nothing');
  });

  it('redirects are not followed; after the last attempt the message is FAILED, kept, and a resend delivers it', async () => {
    const tenant = tenantName();
    const target = await receiver();
    const r = await receiver(() => ({ status: 302, headers: { location: target.url } }));
    const e = await createEndpoint(tenant, r.url);
    await producer.orderEvent(tenant, 'confirmed');
    const failed = await eventually(
      async () => {
        const [d] = (await view(tenant, e.id)).deliveries;
        assert.equal(d?.status, 'FAILED');
        return d;
      },
      { timeoutMs: 10_000 },
    );
    assert.deepEqual(
      failed.attempts.map((a) => a.statusCode),
      [302, 302, 302],
    );
    assert.equal(target.received.length, 0, 'the redirect target never heard of it');
    const exhausted = await p.db.postgres.pool.query(
      "SELECT 1 FROM outbox WHERE topic = 'partners.delivery.exhausted.v1' AND aggregate_id = $1",
      [failed.message.id],
    );
    assert.equal(exhausted.rowCount, 1);

    // The partner fixes its URL; the kept message goes out again under the same webhook-id.
    const moved = await p.call(
      tenant,
      'mutation($id: ID!, $url: String!) { updateWebhookEndpoint(id: $id, input: { url: $url }) { url } }',
      {
        id: e.id,
        url: target.url,
      },
    );
    assert.equal(moved.errors, undefined, JSON.stringify(moved.errors));
    const resent = await p.call<{ resendWebhookMessage: { round: number; status: string } }>(
      tenant,
      'mutation($e: ID!, $m: ID!) { resendWebhookMessage(endpointId: $e, messageId: $m) { round status } }',
      { e: e.id, m: failed.message.id },
    );
    // A new round; its status is read when the answer is made, and the dispatcher may already have
    // delivered it by then (it is woken at once).
    assert.equal(resent.data?.resendWebhookMessage.round, 2);
    assert.ok(
      ['PENDING', 'DELIVERED'].includes(resent.data?.resendWebhookMessage.status ?? ''),
      JSON.stringify(resent.data),
    );
    await eventually(() => assert.equal(target.received.length, 1), { timeoutMs: 10_000 });
    await eventually(async () => assert.equal((await view(tenant, e.id)).deliveries[0]?.status, 'DELIVERED'), {
      timeoutMs: 10_000,
    });
    assert.equal(target.received[0]?.headers['webhook-id'], failed.message.id);
    verified(e.secret, target.received[0] as Received);
  });

  it('a receiver slower than the timeout fails each attempt with a timeout', async () => {
    const tenant = tenantName();
    const r = await receiver(() => ({ status: 200, delayMs: 2500 }));
    const e = await createEndpoint(tenant, r.url);
    await producer.orderEvent(tenant, 'confirmed');
    const [d] = await eventually(
      async () => {
        const ds = (await view(tenant, e.id)).deliveries;
        assert.equal(ds[0]?.status, 'FAILED');
        return ds;
      },
      { timeoutMs: 15_000 },
    );
    assert.deepEqual(
      d?.attempts.map((a) => [a.statusCode, a.success, a.error]),
      Array(3).fill([null, false, 'no answer within 1000 ms']),
    );
  });

  it('rotation: both signatures during the overlap, then only the new secret signs', async () => {
    const tenant = tenantName();
    const r = await receiver();
    const e = await createEndpoint(tenant, r.url);
    const rotated = await p.call<{
      rotateWebhookSecret: { secret: string; endpoint: { previousSecretExpiresAt: string } };
    }>(tenant, 'mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret endpoint { previousSecretExpiresAt } } }', {
      id: e.id,
    });
    const fresh = rotated.data?.rotateWebhookSecret.secret as string;
    assert.ok(fresh && fresh !== e.secret);
    await producer.orderEvent(tenant, 'confirmed');
    await eventually(() => assert.equal(r.received.length, 1), { timeoutMs: 10_000 });
    const during = r.received[0] as Received;
    assert.equal((during.headers['webhook-signature'] as string).split(' ').length, 2);
    verified(fresh, during);
    verified(e.secret, during);

    const expires = Date.parse(rotated.data?.rotateWebhookSecret.endpoint.previousSecretExpiresAt ?? '');
    await sleep(Math.max(0, expires - Date.now()) + 100);
    await producer.orderEvent(tenant, 'confirmed');
    await eventually(() => assert.equal(r.received.length, 2), { timeoutMs: 10_000 });
    const afterwards = r.received[1] as Received;
    assert.equal((afterwards.headers['webhook-signature'] as string).split(' ').length, 1);
    verified(fresh, afterwards);
    assert.throws(() => verified(e.secret, afterwards), /No matching signature/);
  });

  it('replay sends exactly the messages of the requested range, under their own webhook-ids', async () => {
    const tenant = tenantName();
    const r = await receiver();
    const e = await createEndpoint(tenant, r.url);
    const base = Date.now() + 1000;
    const events = [];
    for (let i = 0; i < 5; i++)
      events.push(await producer.orderEvent(tenant, 'confirmed', new Date(base + i * 1000).toISOString()));
    await eventually(() => assert.equal(r.received.length, 5), { timeoutMs: 10_000 });
    const byEvent = new Map(
      (await view(tenant, e.id)).deliveries.map((d) => [d.message.eventId, d.message.id] as const),
    );
    const replay = await p.call<{ replayWebhookMessages: { queued: number } }>(
      tenant,
      'mutation($id: ID!, $since: String!, $until: String!) { replayWebhookMessages(endpointId: $id, since: $since, until: $until) { queued } }',
      { id: e.id, since: new Date(base + 1000).toISOString(), until: new Date(base + 3000).toISOString() },
    );
    assert.deepEqual(replay.data?.replayWebhookMessages, { queued: 2 });
    await eventually(() => assert.equal(r.received.length, 7), { timeoutMs: 10_000 });
    await sleep(500);
    assert.equal(r.received.length, 7, 'nothing beyond the range');
    assert.deepEqual(
      r.received
        .slice(5)
        .map((x) => x.headers['webhook-id'])
        .sort(),
      [byEvent.get(events[1]?.id ?? ''), byEvent.get(events[2]?.id ?? '')].sort(),
    );
    for (const x of r.received) verified(e.secret, x);
  });

  it('a slow endpoint holds at most its concurrency and does not hold up a fast one', async () => {
    const tenant = tenantName();
    const slow = await receiver(() => ({ status: 200, delayMs: 400 }));
    const fast = await receiver();
    await createEndpoint(tenant, slow.url, [CONFIRMED]);
    await createEndpoint(tenant, fast.url, [CANCELLED]);
    const started = Date.now();
    for (let i = 0; i < 20; i++) await producer.orderEvent(tenant, 'confirmed');
    for (let i = 0; i < 20; i++) await producer.orderEvent(tenant, 'cancelled');
    await eventually(() => assert.equal(fast.received.length, 20), { timeoutMs: 10_000 });
    const fastDone = Date.now() - started;
    await eventually(() => assert.equal(slow.received.length, 20), { timeoutMs: 20_000 });
    const slowDone = Date.now() - started;
    assert.equal(slow.maxConcurrent(), 2, 'never more than the endpoint concurrency (2)');
    assert.ok(slowDone >= (20 * 400) / 2, `the slow endpoint took its time (${slowDone} ms)`);
    assert.ok(fastDone < slowDone / 2, `the fast endpoint finished early (${fastDone} ms vs ${slowDone} ms)`);
  });

  it('an endpoint failing without a break for longer than the limit is disabled (FAILING) with an event', async () => {
    const tenant = tenantName();
    const r = await receiver(() => ({ status: 500 }));
    const e = await createEndpoint(tenant, r.url);
    await producer.orderEvent(tenant, 'confirmed');
    await eventually(() => assert.equal(r.received.length, 3), { timeoutMs: 10_000 });
    const first = await view(tenant, e.id);
    assert.equal(first.status, 'ENABLED', 'one failed message is not yet a long stretch');
    assert.ok(first.failingSince);
    await sleep(2200);
    await producer.orderEvent(tenant, 'confirmed');
    const off = await eventually(
      async () => {
        const v = await view(tenant, e.id);
        assert.deepEqual([v.status, v.disabledReason], ['DISABLED', 'FAILING']);
        return v;
      },
      { timeoutMs: 10_000 },
    );
    const events = await p.db.postgres.pool.query<{ envelope: { data: { reason: string; failingSince: string } } }>(
      "SELECT envelope FROM outbox WHERE topic = 'partners.endpoint.disabled.v1' AND aggregate_id = $1",
      [e.id],
    );
    assert.equal(events.rows[0]?.envelope.data.reason, 'FAILING');
    assert.equal(Date.parse(events.rows[0]?.envelope.data.failingSince ?? ''), Date.parse(first.failingSince ?? ''));
    // Enabling starts clean.
    const on = await p.call<{ enableWebhookEndpoint: { status: string; failingSince: string | null } }>(
      tenant,
      'mutation($id: ID!) { enableWebhookEndpoint(id: $id) { status failingSince } }',
      { id: off.id },
    );
    assert.deepEqual(on.data?.enableWebhookEndpoint, { status: 'ENABLED', failingSince: null });
  });
});
