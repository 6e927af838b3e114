/**
 * The AMQP inbound bridge end to end, east: a legacy partner registered through the graph gets a
 * RabbitMQ account; publishing with it to the inbound exchange lands valid messages in Kafka (in
 * the partner's tenant, stamped with the partner) and dead-letters invalid ones with the reason,
 * which the partner reads with its own account. Rates are per partner; disabling a partner closes
 * its connection.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import { eventIdOf } from '../bridges/amqp/bridge.ts';
import { eventually } from '../infra/adapters/testing.ts';
import { resolveEndpoints } from '../infra/config/endpoints.ts';
import { type Collector, collectFromNow } from './support/kafka-collector.ts';
import { eventProducer, type PartnersRegion, startPartnersRegion, tenantName } from './support/partners.ts';

const SHIPMENT = 'partners.shipment.updated.v1';
const STOCK = 'partners.stock.reported.v1';
const REGISTER = `mutation($input: RegisterLegacyPartnerInput!) {
  registerLegacyPartner(input: $input) { username password partner { id status amqpExchange deadLetterQueue ratePerSecond } }
}`;

interface Credentials {
  username: string;
  password: string;
  partner: { id: string; amqpExchange: string; deadLetterQueue: string };
}

describe('AMQP inbound bridge end to end (east)', () => {
  let p: PartnersRegion;
  let kafka: Collector;
  const producer = eventProducer();
  const connections: ChannelModel[] = [];
  const registered: Array<{ tenant: string; id: string }> = [];
  const { amqpUrl } = resolveEndpoints('east', process.env);

  before(async () => {
    p = await startPartnersRegion('partners_amqp', { AMQP_REFRESH: '200ms' });
    kafka = await collectFromNow(producer.kafka, [SHIPMENT, STOCK], (e) => e.tenant.startsWith('amqp-'));
  });
  after(async () => {
    await Promise.allSettled(connections.map((c) => c.close()));
    for (const r of registered) {
      await p
        .call(r.tenant, 'mutation($id: ID!) { disableLegacyPartner(id: $id) { id } }', { id: r.id })
        .catch(() => {});
    }
    await kafka?.stop();
    await producer.close();
    await p?.stop();
  });

  async function register(tenant: string, input: Record<string, unknown> = {}): Promise<Credentials> {
    const res = await p.call<{ registerLegacyPartner: Credentials }>(tenant, REGISTER, {
      input: { name: 'Acme Logistics', ...input },
    });
    const creds = res.data?.registerLegacyPartner ?? assert.fail(JSON.stringify(res.errors));
    registered.push({ tenant, id: creds.partner.id });
    return creds;
  }

  async function publisher(c: Credentials): Promise<{ conn: ChannelModel; ch: ConfirmChannel }> {
    const conn = await amqp.connect(
      amqpUrl.replace('meridian:meridian', `${c.username}:${encodeURIComponent(c.password)}`),
    );
    conn.on('error', () => {});
    connections.push(conn);
    const ch = await conn.createConfirmChannel();
    ch.on('error', () => {});
    return { conn, ch };
  }

  const shipment = (i: number, extra: Record<string, unknown> = {}) =>
    Buffer.from(
      JSON.stringify({
        type: SHIPMENT,
        subject: `sh-${i}`,
        data: { shipmentId: `sh-${i}`, status: 'IN_TRANSIT', seq: i, ...extra },
      }),
    );

  function publish(
    ch: ConfirmChannel,
    c: Credentials,
    body: Buffer,
    messageId: string | undefined,
    key = `${c.partner.id}.shipments`,
  ) {
    return new Promise<void>((resolve, reject) =>
      ch.publish(
        c.partner.amqpExchange,
        key,
        body,
        { persistent: true, contentType: 'application/json', ...(messageId ? { messageId } : {}) },
        (err) => (err ? reject(err) : resolve()),
      ),
    );
  }

  it('valid messages reach Kafka in the partner’s tenant, stamped with the partner, with ids from their message ids', async () => {
    const tenant = tenantName('amqp');
    const c = await register(tenant);
    const { ch } = await publisher(c);
    // A spoofed partnerId in the body changes nothing: the account says who sent it.
    await publish(ch, c, shipment(1, { partnerId: 'lp_someoneelse' }), 'm-1');
    await publish(
      ch,
      c,
      Buffer.from(JSON.stringify({ type: STOCK, subject: 'p-mouse', data: { productId: 'p-mouse', available: 7 } })),
      'm-2',
    );
    const events = await eventually(
      () => {
        const mine = kafka.events.filter((e) => e.tenant === tenant);
        assert.equal(mine.length, 2);
        return mine;
      },
      { timeoutMs: 15_000 },
    );
    const s = events.find((e) => e.type === SHIPMENT);
    assert.ok(s);
    assert.equal(s.id, eventIdOf(`${c.partner.id}/m-1`));
    assert.equal(s.subject, 'sh-1');
    assert.equal(s.source, '/regions/east/amqp-bridge');
    assert.deepEqual(s.data, { shipmentId: 'sh-1', status: 'IN_TRANSIT', seq: 1, partnerId: c.partner.id });
    assert.deepEqual(events.find((e) => e.type === STOCK)?.data, {
      productId: 'p-mouse',
      available: 7,
      partnerId: c.partner.id,
    });
  });

  it('invalid messages are dead-lettered with the reason; the partner reads them with its own account', async () => {
    const tenant = tenantName('amqp');
    const c = await register(tenant);
    const { conn, ch } = await publisher(c);
    const bad: Array<[Buffer, string | undefined, RegExp]> = [
      [Buffer.from('{not json'), 'b-1', /not JSON/],
      [shipment(2, { status: 'LOST' }), 'b-2', /violates its schema/],
      [Buffer.from(JSON.stringify({ type: 'commerce.order.created.v1', data: {} })), 'b-3', /may send/],
      [shipment(3), undefined, /message-id is required/],
    ];
    for (const [body, id] of bad) await publish(ch, c, body, id);
    await publish(ch, c, shipment(4), 'b-ok');
    const reasons = new Map<string, string>();
    const reader = await conn.createChannel();
    await reader.consume(c.partner.deadLetterQueue, (m) => {
      if (!m) return;
      reasons.set(m.properties.messageId ?? '(none)', String(m.properties.headers?.['x-dead-reason']));
      reader.ack(m);
    });
    await eventually(() => assert.equal(reasons.size, 4), { timeoutMs: 15_000 });
    assert.match(reasons.get('b-1') ?? '', /not JSON/);
    assert.match(reasons.get('b-2') ?? '', /INVALID_EVENT: .*violates its schema/);
    assert.match(reasons.get('b-3') ?? '', /may send/);
    assert.match(reasons.get('(none)') ?? '', /message-id is required/);
    await eventually(() => assert.equal(kafka.events.filter((e) => e.tenant === tenant).length, 1), {
      timeoutMs: 10_000,
    });
  });

  it('a partner over its rate is slowed without slowing another partner', async () => {
    const [ta, tb] = [tenantName('amqp'), tenantName('amqp')];
    const slow = await register(ta, { ratePerSecond: 20 });
    const fast = await register(tb, { ratePerSecond: 5000 });
    const [ps, pf] = [await publisher(slow), await publisher(fast)];
    await eventually(() => assert.ok(p.handle.runtime.amqpBridge.partners().includes(fast.partner.id)), {
      timeoutMs: 5000,
    });
    const t0 = Date.now();
    await Promise.all([
      ...Array.from({ length: 60 }, (_, i) => publish(ps.ch, slow, shipment(i), `s-${i}`)),
      ...Array.from({ length: 60 }, (_, i) => publish(pf.ch, fast, shipment(i), `f-${i}`)),
    ]);
    await eventually(() => assert.equal(kafka.events.filter((e) => e.tenant === tb).length, 60), { timeoutMs: 10_000 });
    const fastMs = Date.now() - t0;
    await eventually(() => assert.equal(kafka.events.filter((e) => e.tenant === ta).length, 60), { timeoutMs: 15_000 });
    const slowMs = Date.now() - t0;
    assert.ok(slowMs >= 1800, `60 at 20/s (a burst of 20, then 40 paced) take ~2 s, took ${slowMs} ms`);
    assert.ok(fastMs < slowMs - 1000, `the other partner was not held up (${fastMs} ms vs ${slowMs} ms)`);
  });

  it('disabling a partner closes its connection and refuses it; what it had queued still drains', async () => {
    const tenant = tenantName('amqp');
    const c = await register(tenant);
    const { conn, ch } = await publisher(c);
    await publish(ch, c, shipment(9), 'last');
    const closed = new Promise<void>((resolve) => conn.once('close', () => resolve()));
    const res = await p.call<{ disableLegacyPartner: { status: string } }>(
      tenant,
      'mutation($id: ID!) { disableLegacyPartner(id: $id) { status } }',
      {
        id: c.partner.id,
      },
    );
    assert.equal(res.data?.disableLegacyPartner.status, 'DISABLED');
    await closed;
    await assert.rejects(publisher(c), /ACCESS_REFUSED|403/);
    await eventually(() => assert.equal(kafka.events.filter((e) => e.tenant === tenant).length, 1), {
      timeoutMs: 10_000,
    });
    const otherTenant = await p.call(
      tenantName('amqp'),
      'mutation($id: ID!) { disableLegacyPartner(id: $id) { status } }',
      { id: c.partner.id },
    );
    assert.equal(otherTenant.errors?.[0]?.extensions?.code, 'NOT_FOUND');
    void randomUUID;
  });
});
