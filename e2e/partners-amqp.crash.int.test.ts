/**
 * Crash test of the AMQP inbound bridge, east, real processes: a legacy partner publishes 3,000
 * messages with publisher confirms while `regions/amqp-bridge/main.ts` children move them to
 * Kafka; the test SIGKILLs a child mid-stream (twice) and starts another. Afterwards every message
 * RabbitMQ confirmed is in Kafka, under the event id its message id stands for.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import { eventIdOf } from '../bridges/amqp/bridge.ts';
import { eventually } from '../infra/adapters/testing.ts';
import { resolveEndpoints } from '../infra/config/endpoints.ts';
import { type Collector, collectFromNow } from './support/kafka-collector.ts';
import { eventProducer, type PartnersRegion, startPartnersRegion, tenantName } from './support/partners.ts';
import { roleFleet } from './support/role-process.ts';

const MAIN = fileURLToPath(new URL('../regions/amqp-bridge/main.ts', import.meta.url));
const MESSAGES = 3000;
const WAVE = 100;
const KILL_WAVE = 1000;
const TOPIC = 'partners.shipment.updated.v1';

describe('AMQP bridge processes under SIGKILL (east)', () => {
  let p: PartnersRegion;
  let kafka: Collector;
  const producer = eventProducer();
  const tenant = tenantName('amqpcrash');
  const output: string[] = [];
  const roles = roleFleet(MAIN, ['east'], () => p.env, output);
  const startBridge = roles.start;
  const kill = roles.kill;

  before(async () => {
    p = await startPartnersRegion('partners_amqp_crash', { AMQP_BRIDGE: 'external', AMQP_REFRESH: '200ms' });
    kafka = await collectFromNow(producer.kafka, [TOPIC], (e) => e.tenant === tenant);
  });
  after(async () => {
    await roles.killAll();
    await kafka?.stop();
    await producer.close();
    await p?.stop();
  });

  it('every message RabbitMQ confirmed reaches Kafka', async () => {
    assert.equal(p.region.services.names().includes('partners.amqp-bridge'), false, 'the host runs no bridge');
    const res = await p.call<{
      registerLegacyPartner: { username: string; password: string; partner: { id: string; amqpExchange: string } };
    }>(
      tenant,
      `mutation { registerLegacyPartner(input: { name: "crash", ratePerSecond: 100000, maxQueued: 100000 }) {
         username password partner { id amqpExchange } } }`,
    );
    const c = res.data?.registerLegacyPartner ?? assert.fail(JSON.stringify(res.errors));
    const { amqpUrl } = resolveEndpoints('east', process.env);
    const conn = await amqp.connect(
      amqpUrl.replace('meridian:meridian', `${c.username}:${encodeURIComponent(c.password)}`),
    );
    const ch = await conn.createConfirmChannel();

    let bridge = await startBridge();
    const confirmed = new Set<string>();
    let kills = 0;
    const midStream: boolean[] = [];
    for (let first = 0; first < MESSAGES; ) {
      // A kill comes while a wave of KILL_WAVE is on its way through the bridge: big enough that
      // the bridge is still at it when its first records show up in Kafka (a wave of 100 could
      // be all through before the kill, and the kill would then prove nothing).
      const killHere = first === 1000 || first === 2000;
      const size = killHere ? KILL_WAVE : WAVE;
      const wave = Promise.all(
        Array.from({ length: size }, (_, k) => {
          const id = `m-${first + k}`;
          const body = JSON.stringify({
            type: TOPIC,
            subject: `sh-${first + k}`,
            data: { shipmentId: `sh-${first + k}`, status: 'IN_TRANSIT' },
          });
          return new Promise<void>((resolve) =>
            ch.publish(
              c.partner.amqpExchange,
              `${c.partner.id}.s`,
              Buffer.from(body),
              { persistent: true, messageId: id },
              (err) => {
                if (!err) confirmed.add(id);
                resolve();
              },
            ),
          );
        }),
      );
      if (killHere) {
        // Mid-stream: the wave just published is on its way through the bridge.
        const deadline = Date.now() + 60_000;
        while (kafka.events.length <= first && Date.now() < deadline) await sleep(2);
        await kill(bridge);
        midStream.push(kafka.events.length < first + size);
        kills++;
        await sleep(200);
        bridge = await startBridge();
      }
      await wave;
      first += size;
    }
    assert.ok(midStream.some(Boolean), 'at least one kill came while messages were in flight');
    assert.equal(confirmed.size, MESSAGES, 'RabbitMQ confirmed every publish');
    await eventually(
      () => {
        const ids = new Set(kafka.events.map((e) => e.id));
        const missing = [...confirmed].filter((id) => !ids.has(eventIdOf(`${c.partner.id}/${id}`)));
        assert.equal(missing.length, 0, `${missing.length} confirmed messages not in Kafka yet`);
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    assert.equal(kills, 2);
    const distinct = new Set(kafka.events.map((e) => e.id)).size;
    console.log(
      `amqp crash: ${MESSAGES} confirmed, ${kafka.events.length} records in Kafka (${kafka.events.length - distinct} duplicates), ${kills} kills`,
    );
    await conn.close();
  });
});
