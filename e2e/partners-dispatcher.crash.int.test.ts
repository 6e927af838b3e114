/**
 * Crash test of the webhook dispatcher, east, real processes: the region host runs partners'
 * management only (PARTNERS_DISPATCHER=external) while two `regions/webhooks/main.ts` children
 * fan out and deliver 200 order events to a receiver that takes 30 ms per request; the test
 * SIGKILLs children mid-delivery (twice) and starts new ones. Afterwards every event reached the
 * receiver at least once, every request verifies with the endpoint's secret, every duplicate
 * carries the same webhook-id and the same body, and every delivery is recorded DELIVERED.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Webhook } from 'standardwebhooks';
import { messageIdOf } from '../domains/partners/message.ts';
import { eventually } from '../infra/adapters/testing.ts';
import { type Receiver, startReceiver } from '../infra/partners/receiver.testing.ts';
import {
  CREATE_ENDPOINT,
  eventProducer,
  type PartnersRegion,
  startPartnersRegion,
  tenantName,
} from './support/partners.ts';
import { roleFleet } from './support/role-process.ts';

const MAIN = fileURLToPath(new URL('../regions/webhooks/main.ts', import.meta.url));
const EVENTS = 200;

describe('webhook dispatcher processes under SIGKILL (east)', () => {
  let p: PartnersRegion;
  let receiver: Receiver;
  const producer = eventProducer();
  const output: string[] = [];
  const roles = roleFleet(MAIN, ['east'], () => p.env, output);
  const startDispatcher = roles.start;
  const kill = roles.kill;

  before(async () => {
    p = await startPartnersRegion('partners_dispatch_crash', {
      DISPATCHER: 'external',
      WEBHOOK_RETRY_SCHEDULE: '0,200ms,500ms,1s,2s,5s',
      WEBHOOK_TIMEOUT: '2s',
      WEBHOOK_SWEEP_INTERVAL: '2s',
      WEBHOOK_SWEEP_GRACE: '20s',
    });
    receiver = await startReceiver(() => ({ status: 200, delayMs: 30 }));
  });
  after(async () => {
    await roles.killAll();
    await receiver?.close();
    await producer.close();
    await p?.stop();
  });

  it('nothing is lost; duplicates carry the same webhook-id and body; every delivery is recorded once', async () => {
    assert.equal(
      p.region.services.names().includes('partners.webhook-dispatcher'),
      false,
      'the host does not dispatch',
    );
    const tenant = tenantName('crash');
    const created = await p.call<{ createWebhookEndpoint: { secret: string; endpoint: { id: string } } }>(
      tenant,
      CREATE_ENDPOINT,
      { input: { url: receiver.url, eventTypes: ['commerce.order.confirmed.v1'] } },
    );
    const { secret, endpoint } = created.data?.createWebhookEndpoint ?? assert.fail(JSON.stringify(created.errors));
    let a = await startDispatcher();
    const b = await startDispatcher();

    const expected = new Set<string>();
    let kills = 0;
    for (let i = 0; i < EVENTS; i++) {
      expected.add(messageIdOf((await producer.orderEvent(tenant, 'confirmed')).id));
      if (i === 75 || i === 150) {
        // Mid-delivery: some of the events are in, some are not.
        await eventually(() => assert.ok(receiver.received.length > i / 3), { timeoutMs: 60_000 });
        assert.ok(receiver.received.length < EVENTS);
        await kill(a);
        kills++;
        a = await startDispatcher();
      }
    }
    await eventually(
      () => {
        const got = new Set(receiver.received.map((r) => r.headers['webhook-id'] as string));
        const missing = [...expected].filter((id) => !got.has(id));
        assert.equal(missing.length, 0, `${missing.length} of ${EVENTS} not delivered yet`);
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    assert.equal(kills, 2);

    const wh = new Webhook(secret);
    const bodies = new Map<string, string>();
    for (const r of receiver.received) {
      wh.verify(r.body, r.headers as Record<string, string>);
      const id = r.headers['webhook-id'] as string;
      assert.ok(expected.has(id), `an unexpected webhook-id ${id}`);
      const seen = bodies.get(id);
      if (seen !== undefined) assert.equal(r.body, seen, 'a duplicate carries the very same body');
      bodies.set(id, r.body);
    }
    const duplicates = receiver.received.length - bodies.size;
    console.log(
      `dispatcher crash: ${EVENTS} events, ${receiver.received.length} requests, ${duplicates} duplicates, ${kills} kills`,
    );

    const rows = await eventually(
      async () => {
        const res = await p.db.postgres.pool.query<{ status: string; n: string }>(
          'SELECT status, count(*) AS n FROM webhook_deliveries WHERE endpoint_id = $1 GROUP BY status',
          [endpoint.id],
        );
        assert.deepEqual(res.rows, [{ status: 'DELIVERED', n: String(EVENTS) }]);
        return res.rows;
      },
      { timeoutMs: 10_000 },
    );
    assert.equal(rows.length, 1);
    const attempts = await p.db.postgres.pool.query<{ n: string }>(
      'SELECT count(*) AS n FROM webhook_attempts WHERE endpoint_id = $1 AND success',
      [endpoint.id],
    );
    assert.equal(Number(attempts.rows[0]?.n), EVENTS, 'one successful attempt recorded per message');
    void b;
  });
});
