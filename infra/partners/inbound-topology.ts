/**
 * The AMQP inbound topology in a region's vhost: one topic exchange partners publish to, and per
 * partner a bounded queue bound to `<partner id>.#` plus a dead-letter queue the bridge fills
 * with what it refused (and why). Declared when a partner is registered and again by the bridge
 * (declarations are idempotent).
 */
import type { LegacyPartner } from '../../domains/partners/legacy-partner.ts';
import type { AmqpDependency } from '../adapters/amqp.ts';

export interface InboundTopology {
  readonly exchange: string;
  queue(partnerId: string): string;
  deadQueue(partnerId: string): string;
  /** Declares the exchange. */
  declareExchange(amqp: AmqpDependency): Promise<void>;
  /** Declares the exchange, the partner's queue (bounded, refusing publishes when full) and its dead-letter queue. */
  declarePartner(amqp: AmqpDependency, partner: Pick<LegacyPartner, 'id' | 'maxQueued'>): Promise<void>;
}

export function inboundTopology(exchange: string): InboundTopology {
  const queue = (id: string) => `${exchange}.${id}`;
  const deadQueue = (id: string) => `${exchange}.${id}.dead`;
  async function withChannel(
    amqp: AmqpDependency,
    work: (ch: Awaited<ReturnType<AmqpDependency['confirmChannel']>>) => Promise<void>,
  ) {
    const ch = await amqp.confirmChannel();
    ch.on('error', () => {});
    try {
      await work(ch);
    } finally {
      await ch.close().catch(() => {});
    }
  }
  return {
    exchange,
    queue,
    deadQueue,
    declareExchange: (amqp) =>
      withChannel(amqp, async (ch) => void (await ch.assertExchange(exchange, 'topic', { durable: true }))),
    declarePartner: (amqp, partner) =>
      withChannel(amqp, async (ch) => {
        await ch.assertExchange(exchange, 'topic', { durable: true });
        await ch.assertQueue(queue(partner.id), {
          durable: true,
          // Backpressure to the partner: a full queue nacks its publishes rather than dropping old messages.
          arguments: { 'x-max-length': partner.maxQueued, 'x-overflow': 'reject-publish' },
        });
        await ch.bindQueue(queue(partner.id), exchange, `${partner.id}.#`);
        await ch.assertQueue(deadQueue(partner.id), { durable: true });
      }),
  };
}
