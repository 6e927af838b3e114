/**
 * The AMQP inbound bridge: legacy partners' messages (their queue in the region's vhost) → the
 * event schemas → Kafka. Each partner's queue is consumed on its own channel (prefetch window),
 * paced by the partner's rate; valid messages are produced to Kafka in batches (idempotent
 * producer, acks from all in-sync replicas) and acknowledged to RabbitMQ only after Kafka
 * acknowledged them — so a bridge that dies at any point loses nothing: RabbitMQ hands the unacked
 * messages to the next bridge, which produces them again under the same event id (derived from
 * the partner and its message id), and consumers drop the duplicate. Invalid messages go to the
 * partner's dead-letter queue with the reason, then are acked.
 *
 * AMQP 0-9-1, basic.ack: "This method acknowledges one or more messages delivered via the Deliver
 * or Get-Ok methods"; basic.qos prefetch-count: "the client ... can send messages in advance up to
 * this window" — the unacked window per channel.
 */
import { createHash } from 'node:crypto';
import type { Channel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import type { Message, Producer } from 'kafkajs';
import { inboundEvent } from '../../domains/partners/inbound.ts';
import type { LegacyPartner } from '../../domains/partners/legacy-partner.ts';
import type { LegacyPartnerStore } from '../../domains/partners/ports.ts';
import { isDomainError } from '../../domains/shared/errors.ts';
import type { AmqpDependency } from '../../infra/adapters/amqp.ts';
import type { KafkaDependency } from '../../infra/adapters/kafka.ts';
import { envelope } from '../../infra/events/envelope.ts';
import { toKafkaMessage } from '../../infra/events/kafka-codec.ts';
import { type EventRegistry, eventRegistry } from '../../infra/events/registry.ts';
import type { InboundTopology } from '../../infra/partners/inbound-topology.ts';
import { type TokenBucket, tokenBucket } from './rate-limit.ts';

export interface AmqpBridgeConfig {
  readonly region: 'east' | 'west';
  /** Unacked messages per partner channel. */
  readonly prefetch: number;
  /** Largest Kafka batch; a batch also goes after `lingerMs`. */
  readonly batchMax: number;
  readonly lingerMs: number;
  /** Kafka batches in flight at once. */
  readonly maxInFlight: number;
  /** How often new partners are looked for. */
  readonly refreshMs: number;
}

export interface AmqpBridgeDeps {
  readonly amqp: AmqpDependency;
  readonly kafka: KafkaDependency;
  readonly partners: Pick<LegacyPartnerStore, 'all'>;
  readonly topology: InboundTopology;
  readonly registry?: EventRegistry;
  readonly log?: (line: string) => void;
}

export interface AmqpBridge {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Partners being consumed. */
  partners(): string[];
  readonly stats: { produced: number; deadLettered: number; batches: number; kafkaRetries: number };
}

/** A UUID (v8 layout) from the idempotency key: the same partner message is always the same event. */
export function eventIdOf(key: string): string {
  const b = createHash('sha256').update(key).digest().subarray(0, 16);
  b[6] = ((b[6] as number) & 0x0f) | 0x80;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

interface Pending {
  readonly topic: string;
  readonly message: Message;
  readonly ch: Channel;
  readonly msg: ConsumeMessage;
}

function header(msg: ConsumeMessage, name: string): string | undefined {
  const v = msg.properties.headers?.[name];
  return typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString() : undefined;
}

export function createAmqpBridge(config: AmqpBridgeConfig, deps: AmqpBridgeDeps): AmqpBridge {
  const registry = deps.registry ?? eventRegistry();
  const log = deps.log ?? (() => {});
  const stats = { produced: 0, deadLettered: 0, batches: 0, kafkaRetries: 0 };
  const consumers = new Map<string, { ch: Channel; tag: string }>();
  const buckets = new Map<string, TokenBucket>();
  const inFlight = new Set<Promise<void>>();
  let producer: Producer | undefined;
  let deadLetters: Promise<ConfirmChannel> | undefined;
  let batch: Pending[] = [];
  let lingerTimer: NodeJS.Timeout | undefined;
  let sending = 0;
  const waitingForSlot: Array<() => void> = [];
  let refreshTimer: NodeJS.Timeout | undefined;
  let refreshing: Promise<void> | undefined;
  let stopping = false;

  const track = <T>(p: Promise<T>): Promise<T> => {
    const done = p.then(
      () => {},
      () => {},
    );
    inFlight.add(done);
    void done.finally(() => inFlight.delete(done));
    return p;
  };

  function deadLetterChannel(): Promise<ConfirmChannel> {
    deadLetters ??= deps.amqp.confirmChannel().then((ch) => {
      ch.on('error', () => {});
      ch.on('close', () => {
        deadLetters = undefined;
      });
      return ch;
    });
    return deadLetters;
  }

  async function deadLetter(partner: LegacyPartner, ch: Channel, msg: ConsumeMessage, reason: string): Promise<void> {
    const dlq = await deadLetterChannel();
    await new Promise<void>((resolve, reject) =>
      dlq.sendToQueue(
        deps.topology.deadQueue(partner.id),
        msg.content,
        {
          persistent: true,
          contentType: msg.properties.contentType,
          messageId: msg.properties.messageId,
          headers: {
            'x-dead-reason': reason.slice(0, 1000),
            'x-original-routing-key': msg.fields.routingKey,
            'x-dead-at': new Date().toISOString(),
          },
        },
        (err: unknown) => (err ? reject(err) : resolve()),
      ),
    );
    ch.ack(msg);
    stats.deadLettered++;
  }

  async function send(items: Pending[]): Promise<void> {
    const byTopic = new Map<string, Message[]>();
    for (const p of items) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.message]);
    producer ??= await deps.kafka.producer();
    for (let attempt = 0; ; attempt++) {
      try {
        await producer.sendBatch({
          acks: -1,
          topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
        });
        break;
      } catch (err) {
        if (stopping) {
          // Not in Kafka: back to RabbitMQ for the next bridge.
          for (const p of items) p.ch.nack(p.msg, false, true);
          return;
        }
        stats.kafkaRetries++;
        log(`amqp bridge: kafka send failed (retrying): ${(err as Error)?.message ?? err}`);
        await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** attempt)));
      }
    }
    // Only now, with Kafka's ack: acknowledge to RabbitMQ.
    for (const p of items) p.ch.ack(p.msg);
    stats.produced += items.length;
    stats.batches++;
  }

  function flush(): void {
    clearTimeout(lingerTimer);
    lingerTimer = undefined;
    if (batch.length === 0) return;
    const items = batch;
    batch = [];
    const run = async () => {
      while (sending >= config.maxInFlight) await new Promise<void>((r) => waitingForSlot.push(r));
      sending++;
      try {
        await send(items);
      } finally {
        sending--;
        waitingForSlot.shift()?.();
      }
    };
    void track(run());
  }

  function enqueue(p: Pending): void {
    batch.push(p);
    if (batch.length >= config.batchMax) flush();
    else lingerTimer ??= setTimeout(flush, config.lingerMs);
  }

  async function onMessage(partner: LegacyPartner, ch: Channel, msg: ConsumeMessage): Promise<void> {
    await buckets.get(partner.id)?.take();
    let kafkaMessage: Message;
    let topic: string;
    try {
      const { event, key } = inboundEvent(partner, {
        routingKey: msg.fields.routingKey,
        body: msg.content.toString('utf8'),
        messageId: msg.properties.messageId,
        userId: msg.properties.userId,
      });
      const e = envelope(event, {
        region: config.region,
        service: 'amqp-bridge',
        traceparent: header(msg, 'traceparent') ?? null,
        uuid: () => eventIdOf(key),
      });
      kafkaMessage = toKafkaMessage(e, registry);
      topic = e.type;
    } catch (err) {
      if (!isDomainError(err)) throw err;
      await deadLetter(partner, ch, msg, `${err.code}: ${err.message}`);
      return;
    }
    enqueue({ topic, message: kafkaMessage, ch, msg });
  }

  async function subscribe(partner: LegacyPartner): Promise<void> {
    await deps.topology.declarePartner(deps.amqp, partner);
    const conn = await deps.amqp.connection();
    const ch = await conn.createChannel();
    ch.on('error', () => {});
    ch.on('close', () => {
      // Unacked messages go back to the queue; the next refresh subscribes again.
      if (consumers.get(partner.id)?.ch === ch) consumers.delete(partner.id);
    });
    await ch.prefetch(config.prefetch);
    buckets.set(partner.id, buckets.get(partner.id) ?? tokenBucket(partner.ratePerSecond));
    const { consumerTag } = await ch.consume(
      deps.topology.queue(partner.id),
      (msg) => {
        if (!msg) return;
        void track(
          onMessage(partner, ch, msg).catch((err: unknown) => {
            log(`amqp bridge: ${partner.id}: ${(err as Error)?.message ?? err}`);
            ch.nack(msg, false, true);
          }),
        );
      },
      { noAck: false },
    );
    consumers.set(partner.id, { ch, tag: consumerTag });
  }

  async function refresh(): Promise<void> {
    try {
      for (const partner of await deps.partners.all()) {
        if (stopping || consumers.has(partner.id)) continue;
        await subscribe(partner).catch((err: unknown) =>
          log(`amqp bridge: cannot consume ${partner.id}: ${(err as Error)?.message ?? err}`),
        );
      }
    } catch (err) {
      log(`amqp bridge: listing partners failed: ${(err as Error)?.message ?? err}`);
    }
  }

  return {
    stats,
    partners: () => [...consumers.keys()],
    async start() {
      await deps.topology.declareExchange(deps.amqp);
      producer = await deps.kafka.producer();
      await refresh();
      refreshTimer = setInterval(() => {
        refreshing ??= refresh().finally(() => {
          refreshing = undefined;
        });
      }, config.refreshMs);
    },
    async stop() {
      stopping = true;
      clearInterval(refreshTimer);
      await refreshing;
      // No new messages; what was taken is finished (produced and acked, or handed back).
      await Promise.all([...consumers.values()].map((c) => c.ch.cancel(c.tag).catch(() => {})));
      while (inFlight.size > 0 || batch.length > 0) {
        flush();
        await Promise.allSettled([...inFlight]);
      }
      await Promise.all([...consumers.values()].map((c) => c.ch.close().catch(() => {})));
      consumers.clear();
      const dlq = deadLetters;
      deadLetters = undefined;
      await (await dlq?.catch(() => undefined))?.close().catch(() => {});
      await producer?.disconnect().catch(() => {});
    },
  };
}
