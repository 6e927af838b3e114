/**
 * The DeliveryQueue on RabbitMQ, in the region's vhost: a durable work queue, and delayed
 * delivery with what RabbitMQ 3.10 has without plugins — per-queue TTL and dead-lettering.
 * A task due later is published to a delay queue `<prefix>.delay.<ms>` whose messages expire
 * after exactly that long and are dead-lettered into the work queue; a delay between buckets
 * takes the largest bucket not past it and, when the task comes back early, the next bucket for
 * the rest (a timing wheel of queues). Every bucket holds one TTL, so expiry order is arrival
 * order and nothing waits behind a longer message.
 *
 * RabbitMQ docs, "Time-To-Live and Expiration": "Setting the TTL of messages in a queue using the
 * x-message-ttl argument"; "expired messages ... will be dead-lettered" when the queue has a
 * dead-letter exchange; "only when expired messages reach the head of a queue will they actually
 * be discarded (or dead-lettered)" — why a bucket never mixes TTLs. Publishes are persistent and
 * confirmed: `enqueue` resolves once the broker has them on disk.
 */
import type { Channel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import type { DeliveryTask } from '../../domains/partners/message.ts';
import type { DeliveryQueue } from '../../domains/partners/ports.ts';
import { DomainError } from '../../domains/shared/errors.ts';
import type { AmqpDependency } from '../adapters/amqp.ts';
import { resolvesWithin } from '../adapters/dependency.ts';

/** Buckets every queue has besides the schedule's own delays. */
export const DEFAULT_BUCKETS_MS = [100, 1000, 5000, 30_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000];
/** A task due within this is run now (after a short local wait) rather than delayed by the broker. */
const NOW_MS = 100;

export interface AmqpDeliveryQueueOptions {
  readonly amqp: AmqpDependency;
  /** Names the queues, e.g. `partners.webhooks` (tests give each run its own). */
  readonly prefix: string;
  /** Delays (ms) with a bucket of their own, e.g. the retry schedule's; DEFAULT_BUCKETS_MS are always there. */
  readonly delaysMs?: readonly number[];
}

/** A consumer of the work queue. */
export interface TaskConsumer {
  stop(): Promise<void>;
}

export interface AmqpDeliveryQueue extends DeliveryQueue {
  readonly workQueue: string;
  /** The bucket queues, by delay. */
  readonly buckets: readonly number[];
  /** Declares the work queue and every bucket (idempotent). */
  setup(): Promise<void>;
  /**
   * Hands each task to `handle` once it is due, `prefetch` at a time, and acks it when `handle`
   * resolves. A rejected `handle` puts the task back a second later. Re-subscribes after a lost
   * connection; unacked tasks of a dead consumer go back to the queue (at least once).
   */
  consume(handle: (task: DeliveryTask) => Promise<void>, opts: { prefetch: number }): Promise<TaskConsumer>;
  /** Waits (at most `timeoutMs`) until the broker confirmed or refused every offered task (a clean stop). */
  settle(timeoutMs?: number): Promise<void>;
  /** Messages waiting in the work queue and in each bucket (ops, tests). */
  depth(): Promise<{ work: number; delayed: number }>;
}

function parseTask(content: Buffer): DeliveryTask | undefined {
  try {
    const t = JSON.parse(content.toString('utf8')) as Partial<DeliveryTask>;
    const ints = [t.round, t.attempt, t.notBefore].every((n) => Number.isSafeInteger(n));
    return typeof t.endpointId === 'string' && typeof t.messageId === 'string' && ints
      ? (t as DeliveryTask)
      : undefined;
  } catch {
    return undefined;
  }
}

export function createAmqpDeliveryQueue(opts: AmqpDeliveryQueueOptions): AmqpDeliveryQueue {
  const workQueue = `${opts.prefix}.work`;
  const buckets = [...new Set([...DEFAULT_BUCKETS_MS, ...(opts.delaysMs ?? []).filter((d) => d >= NOW_MS)])].sort(
    (a, b) => a - b,
  );
  const bucketQueue = (ms: number) => `${opts.prefix}.delay.${ms}ms`;
  let publisher: Promise<ConfirmChannel> | undefined;

  function channel(): Promise<ConfirmChannel> {
    publisher ??= opts.amqp.confirmChannel().then(
      (ch) => {
        const forget = () => {
          publisher = undefined;
        };
        ch.on('close', forget);
        ch.on('error', forget);
        return ch;
      },
      (err: unknown) => {
        publisher = undefined;
        throw err;
      },
    );
    return publisher;
  }

  /** Where a task due in `waitMs` goes: the work queue, or the largest bucket not past its due time. */
  function route(waitMs: number): string {
    if (waitMs <= NOW_MS) return workQueue;
    const fits = buckets.filter((b) => b <= waitMs);
    return bucketQueue(fits[fits.length - 1] ?? (buckets[0] as number));
  }

  async function enqueue(tasks: readonly DeliveryTask[]): Promise<void> {
    if (tasks.length === 0) return;
    try {
      const ch = await channel();
      const now = Date.now();
      await Promise.all(
        tasks.map(
          (t) =>
            new Promise<void>((resolve, reject) => {
              ch.sendToQueue(
                route(t.notBefore - now),
                Buffer.from(JSON.stringify(t)),
                {
                  persistent: true,
                  contentType: 'application/json',
                  messageId: `${t.messageId}:${t.endpointId}:${t.round}:${t.attempt}`,
                },
                (err: unknown) => (err ? reject(err) : resolve()),
              );
            }),
        ),
      );
    } catch (err) {
      throw new DomainError('DEPENDENCY_UNAVAILABLE', `delivery queue: ${(err as Error)?.message ?? err}`, {
        retryable: true,
        cause: err,
      });
    }
  }

  let offered = 0;
  const drained: Array<() => void> = [];
  async function offer(tasks: readonly DeliveryTask[]): Promise<void> {
    if (tasks.length === 0) return;
    let ch: ConfirmChannel;
    try {
      ch = await channel();
    } catch {
      return; // the broker is away: the sweeper re-queues these once it is back
    }
    const now = Date.now();
    for (const t of tasks) {
      offered++;
      try {
        ch.sendToQueue(
          route(t.notBefore - now),
          Buffer.from(JSON.stringify(t)),
          {
            persistent: true,
            contentType: 'application/json',
            messageId: `${t.messageId}:${t.endpointId}:${t.round}:${t.attempt}`,
          },
          () => {
            if (--offered === 0) for (const done of drained.splice(0)) done();
          },
        );
      } catch {
        if (--offered === 0) for (const done of drained.splice(0)) done();
      }
    }
  }

  async function consume(
    handle: (task: DeliveryTask) => Promise<void>,
    o: { prefetch: number },
  ): Promise<TaskConsumer> {
    let stopped = false;
    let current: { ch: Channel; tag: string } | undefined;
    let retryTimer: NodeJS.Timeout | undefined;
    const inFlight = new Set<Promise<void>>();

    async function onMessage(ch: Channel, msg: ConsumeMessage): Promise<void> {
      const task = parseTask(msg.content);
      if (!task) {
        // Not ours to understand: dropping it is all a retry could ever do.
        ch.ack(msg);
        return;
      }
      try {
        const wait = task.notBefore - Date.now();
        if (wait > NOW_MS) {
          await enqueue([task]); // back to the wheel for the rest of its delay
        } else {
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          await handle(task);
        }
        ch.ack(msg);
      } catch {
        try {
          await enqueue([{ ...task, notBefore: Date.now() + 1000 }]);
          ch.ack(msg);
        } catch {
          ch.nack(msg, false, true);
        }
      }
    }

    async function subscribe(): Promise<void> {
      const conn = await opts.amqp.connection();
      const ch = await conn.createChannel();
      await ch.prefetch(o.prefetch);
      ch.on('error', () => {});
      ch.on('close', () => {
        current = undefined;
        if (!stopped) retryTimer = setTimeout(() => void resubscribe(), 500);
      });
      const { consumerTag } = await ch.consume(
        workQueue,
        (msg) => {
          if (!msg) return; // cancelled by the broker; 'close' or a re-subscribe follows
          const p = onMessage(ch, msg).catch(() => {});
          inFlight.add(p);
          void p.finally(() => inFlight.delete(p));
        },
        { noAck: false },
      );
      current = { ch, tag: consumerTag };
    }

    async function resubscribe(): Promise<void> {
      if (stopped || current) return;
      try {
        await subscribe();
      } catch {
        if (!stopped) retryTimer = setTimeout(() => void resubscribe(), 1000);
      }
    }

    await subscribe();
    return {
      async stop() {
        stopped = true;
        clearTimeout(retryTimer);
        const c = current;
        await c?.ch.cancel(c.tag).catch(() => {});
        await Promise.allSettled([...inFlight]);
        await c?.ch.close().catch(() => {});
      },
    };
  }

  return {
    workQueue,
    buckets,
    enqueue,
    offer,
    consume,
    async settle(timeoutMs = 5000) {
      if (offered === 0) return;
      await resolvesWithin(new Promise<void>((r) => drained.push(r)), timeoutMs);
    },
    async setup() {
      const ch = await channel();
      await ch.assertQueue(workQueue, { durable: true });
      for (const b of buckets) {
        await ch.assertQueue(bucketQueue(b), {
          durable: true,
          arguments: { 'x-message-ttl': b, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': workQueue },
        });
      }
    },
    async depth() {
      const ch = await channel();
      const work = (await ch.checkQueue(workQueue)).messageCount;
      let delayed = 0;
      for (const b of buckets) delayed += (await ch.checkQueue(bucketQueue(b))).messageCount;
      return { work, delayed };
    },
  };
}

/** Deletes a prefix's queues (tests clean up after themselves). */
export async function deleteDeliveryQueues(amqp: AmqpDependency, queue: AmqpDeliveryQueue): Promise<void> {
  const conn = await amqp.connection();
  const ch = await conn.createChannel();
  ch.on('error', () => {});
  try {
    for (const q of [
      queue.workQueue,
      ...queue.buckets.map((b) => `${queue.workQueue.replace(/\.work$/, '')}.delay.${b}ms`),
    ]) {
      await ch.deleteQueue(q).catch(() => {});
    }
  } finally {
    await ch.close().catch(() => {});
  }
}
