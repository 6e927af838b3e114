/**
 * The contract of EndpointStore and DeliveryStore (ports.ts), run by every adapter's tests:
 * memory (unit) and PostgreSQL (integration). Not a test file by itself: it exports the suite.
 * Every test works in tenants of its own, so a real store can be shared between tests and runs.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { rejectsWith } from '../shared/testing.ts';
import type { WebhookEndpoint } from './endpoint.ts';
import { disabled } from './endpoint.ts';
import { messageIdOf, type WebhookMessage } from './message.ts';
import type { AttemptOutcome, DeliveryStore, EndpointStore } from './ports.ts';

export interface WebhookStoresFixture {
  readonly endpoints: EndpointStore;
  readonly deliveries: DeliveryStore;
  /** Types of the events committed about `subject` (its outbox rows), oldest first. */
  eventTypes(subject: string): Promise<string[]>;
  close?(): Promise<void>;
}

const TYPE = 'shop.order.created.v1';
const T0 = Date.parse('2030-01-01T00:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();
const hex = () => randomUUID().replaceAll('-', '');
const fresh = (prefix: string) => `${prefix}-${hex().slice(0, 16)}`;

function anEndpoint(tenant: string, overrides: Partial<WebhookEndpoint> = {}): WebhookEndpoint {
  return {
    id: `ep_${hex()}`,
    tenant,
    url: 'https://hooks.example.com/in',
    description: '',
    eventTypes: [TYPE],
    status: 'ENABLED',
    secret: `whsec_${btoa(hex().slice(0, 24))}`,
    createdAt: at(0),
    updatedAt: at(0),
    version: 1,
    ...overrides,
  };
}

function aMessage(tenant: string, occurredAt = at(1000)): WebhookMessage {
  const eventId = randomUUID();
  return {
    id: messageIdOf(eventId),
    tenant,
    eventId,
    eventType: TYPE,
    occurredAt,
    payload: JSON.stringify({ type: TYPE, timestamp: occurredAt, data: { eventId } }),
  };
}

function outcome(
  endpointId: string,
  messageId: string,
  attempt: number,
  success: boolean,
  extra: Partial<AttemptOutcome> = {},
): AttemptOutcome {
  return {
    attempt: {
      endpointId,
      messageId,
      round: 1,
      attempt,
      at: at(2000 + attempt),
      latencyMs: 3,
      success,
      ...(success ? { statusCode: 200 } : { error: 'connect ECONNREFUSED' }),
    },
    status: success ? 'DELIVERED' : 'PENDING',
    ...(success ? {} : { nextAttemptAt: at(5000) }),
    events: [],
    endpointEffect: () => ({ events: [] }),
    ...extra,
  };
}

export function webhookStoresContract(name: string, setup: () => Promise<WebhookStoresFixture>): void {
  describe(`webhook stores contract: ${name}`, () => {
    let f: WebhookStoresFixture;
    before(async () => {
      f = await setup();
    });
    after(async () => {
      await f.close?.();
    });

    it('an endpoint is found in its own tenant only; saves are optimistic', async () => {
      const tenant = fresh('t');
      const e = anEndpoint(tenant, { previousSecret: { secret: `whsec_${btoa('p'.repeat(24))}`, expiresAt: at(9) } });
      await f.endpoints.create(e);
      assert.deepEqual(await f.endpoints.get(tenant, e.id), e);
      assert.equal(await f.endpoints.get(fresh('other'), e.id), undefined);
      assert.deepEqual(await f.endpoints.list(tenant), [e]);
      const next = { ...e, description: 'changed', version: 2, updatedAt: at(1) };
      await f.endpoints.save(next);
      await assert.rejects(f.endpoints.save({ ...e, description: 'stale', version: 2 }), rejectsWith('CONFLICT'));
      assert.equal((await f.endpoints.get(tenant, e.id))?.description, 'changed');
    });

    it('a message is stored once per tenant and event; each endpoint taking it gets one delivery; repeats re-offer unattempted tasks', async () => {
      const tenant = fresh('t');
      const [a, b] = [anEndpoint(tenant), anEndpoint(tenant)];
      await f.endpoints.create(a);
      await f.endpoints.create(b);
      // Endpoints that do not take it: another type, disabled, created after the event, another tenant.
      await f.endpoints.create(anEndpoint(tenant, { eventTypes: ['shop.order.cancelled.v1'] }));
      await f.endpoints.create(anEndpoint(tenant, { status: 'DISABLED', disabledReason: 'MANUAL' }));
      await f.endpoints.create(anEndpoint(tenant, { createdAt: at(5000) }));
      await f.endpoints.create(anEndpoint(fresh('t')));
      const m = aMessage(tenant);
      const first = await f.deliveries.addMessage(m, at(1));
      assert.deepEqual(
        first.map((t) => [t.endpointId, t.round, t.attempt]).sort(),
        [
          [a.id, 1, 1],
          [b.id, 1, 1],
        ].sort(),
      );
      await f.deliveries.recordAttempt(outcome(a.id, m.id, 1, true));
      const again = await f.deliveries.addMessage(m, at(2));
      assert.deepEqual(
        again.map((t) => t.endpointId),
        [b.id],
        'a is done; b was never attempted',
      );
      assert.deepEqual((await f.deliveries.state(a.id, m.id))?.message, m);
      const lonely = aMessage(fresh('t'));
      assert.deepEqual(await f.deliveries.addMessage(lonely, at(1)), []);
      assert.equal(
        (await f.deliveries.replay(lonely.tenant, a.id, { since: at(0), until: at(9000) }, [TYPE], at(2))).length,
        0,
        'a tenant without endpoints keeps no messages',
      );
    });

    it('an attempt is recorded once: the same attempt again, an older round or a skipped number changes nothing', async () => {
      const tenant = fresh('t');
      const e = anEndpoint(tenant);
      await f.endpoints.create(e);
      const m = aMessage(tenant);
      await f.deliveries.addMessage(m, at(1));
      assert.equal(await f.deliveries.recordAttempt(outcome(e.id, m.id, 1, false)), true);
      assert.equal(await f.deliveries.recordAttempt(outcome(e.id, m.id, 1, false)), false);
      assert.equal(await f.deliveries.recordAttempt(outcome(e.id, m.id, 3, false)), false);
      const s = await f.deliveries.state(e.id, m.id);
      assert.deepEqual(
        [s?.delivery.status, s?.delivery.attempts, s?.delivery.nextAttemptAt, s?.delivery.lastError],
        ['PENDING', 1, at(5000), 'connect ECONNREFUSED'],
      );
      assert.equal(s?.endpoint.failingSince, at(2001), 'the first failure starts the stretch');
      assert.equal(await f.deliveries.recordAttempt(outcome(e.id, m.id, 2, true)), true);
      const done = await f.deliveries.state(e.id, m.id);
      assert.deepEqual([done?.delivery.status, done?.delivery.lastStatusCode], ['DELIVERED', 200]);
      assert.equal(done?.endpoint.failingSince, undefined, 'a success ends it');
      assert.deepEqual(
        (await f.deliveries.attempts(tenant, e.id, m.id)).map((x) => [x.attempt, x.success]),
        [
          [1, false],
          [2, true],
        ],
      );
      assert.deepEqual(await f.deliveries.attempts(fresh('other'), e.id, m.id), [], 'another tenant sees none');
    });

    it('the endpoint effect disables the endpoint and its events commit with the attempt', async () => {
      const tenant = fresh('t');
      const e = anEndpoint(tenant);
      await f.endpoints.create(e);
      const m = aMessage(tenant);
      await f.deliveries.addMessage(m, at(1));
      const gone = outcome(e.id, m.id, 1, false, {
        status: 'FAILED',
        events: [
          {
            type: 'partners.delivery.exhausted.v1',
            subject: m.id,
            tenant,
            data: { endpointId: e.id, messageId: m.id, eventType: TYPE, attempts: 1, lastError: 'x' },
          },
        ],
        endpointEffect: (current) => {
          assert.equal(current.failingSince, at(2001), 'seen with this failure counted');
          const next = disabled(current, 'GONE', at(2001));
          const data = { endpointId: e.id, url: e.url, reason: 'GONE', disabledAt: at(2001) };
          return { endpoint: next, events: [{ type: 'partners.endpoint.disabled.v1', subject: e.id, tenant, data }] };
        },
      });
      delete (gone as { nextAttemptAt?: string }).nextAttemptAt;
      assert.equal(await f.deliveries.recordAttempt(gone), true);
      const after = await f.endpoints.get(tenant, e.id);
      assert.deepEqual([after?.status, after?.disabledReason, after?.version], ['DISABLED', 'GONE', 2]);
      assert.deepEqual(await f.eventTypes(e.id), ['partners.endpoint.disabled.v1']);
      assert.deepEqual(await f.eventTypes(m.id), ['partners.delivery.exhausted.v1']);
    });

    it('resend and replay start new rounds; replay takes exactly [since, until) of the tenant and the types', async () => {
      const tenant = fresh('t');
      const other = fresh('t');
      const e = anEndpoint(tenant);
      await f.endpoints.create(e);
      const ms = [aMessage(tenant, at(1000)), aMessage(tenant, at(2000)), aMessage(tenant, at(3000))];
      for (const m of ms) await f.deliveries.addMessage(m, at(1));
      await f.deliveries.addMessage(aMessage(other, at(2000)), at(1));
      const tasks = await f.deliveries.replay(tenant, e.id, { since: at(2000), until: at(3000) }, [TYPE], at(4000));
      assert.deepEqual(
        tasks.map((t) => [t.messageId, t.round, t.attempt]),
        [[ms[1]?.id, 2, 1]],
      );
      assert.deepEqual(
        await f.deliveries.replay(tenant, e.id, { since: at(0), until: at(9000) }, ['x.y.z.v1'], at(4000)),
        [],
      );
      const resent = await f.deliveries.resend(tenant, e.id, ms[0]?.id ?? '', at(4000));
      assert.deepEqual([resent?.round, resent?.attempt], [2, 1]);
      assert.equal(await f.deliveries.resend(other, e.id, ms[0]?.id ?? '', at(4000)), undefined);
      const s = await f.deliveries.state(e.id, ms[0]?.id ?? '');
      assert.deepEqual([s?.delivery.round, s?.delivery.attempts, s?.delivery.status], [2, 0, 'PENDING']);
    });

    it('lists deliveries newest first, a page at a time, in the tenant only', async () => {
      const tenant = fresh('t');
      const e = anEndpoint(tenant);
      await f.endpoints.create(e);
      const ms = [aMessage(tenant, at(1000)), aMessage(tenant, at(2000)), aMessage(tenant, at(3000))];
      for (const m of ms) await f.deliveries.addMessage(m, at(1));
      const page1 = await f.deliveries.deliveries(tenant, e.id, { first: 2 });
      assert.deepEqual(
        page1.map((v) => v.message.id),
        [ms[2]?.id, ms[1]?.id],
      );
      const page2 = await f.deliveries.deliveries(tenant, e.id, { first: 2, before: ms[1]?.id });
      assert.deepEqual(
        page2.map((v) => v.message.id),
        [ms[0]?.id],
      );
      assert.deepEqual(await f.deliveries.deliveries(fresh('other'), e.id, { first: 10 }), []);
    });

    it('overdue deliveries come back once per grace period', async () => {
      const tenant = fresh('t');
      const e = anEndpoint(tenant);
      await f.endpoints.create(e);
      const m = aMessage(tenant);
      // Queued far in the past: its task was lost.
      await f.deliveries.addMessage(m, at(-3_600_000));
      const now = at(0);
      const found = (await f.deliveries.overdue(now, 60_000, 1000)).filter((t) => t.messageId === m.id);
      assert.deepEqual(
        found.map((t) => [t.endpointId, t.round, t.attempt]),
        [[e.id, 1, 1]],
      );
      const again = (await f.deliveries.overdue(now, 60_000, 1000)).filter((t) => t.messageId === m.id);
      assert.deepEqual(again, [], 'pushed a grace period ahead');
    });
  });
}
