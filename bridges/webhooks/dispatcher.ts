/**
 * The webhook dispatcher: the delivery queue → signed HTTP POSTs. Takes `prefetch` tasks from
 * RabbitMQ at a time and runs each one's attempt (domains/partners/deliver.ts), at most
 * `endpointConcurrency` at once per endpoint: a slow partner holds at most that many requests, a
 * few more tasks wait, and the rest go back to the broker for `deferMs` — so its backlog never
 * fills the prefetch window the other endpoints share. A sweeper re-queues deliveries whose task
 * was lost (due and not attempted for `sweepGraceMs`). A crash loses nothing: the broker hands an
 * unacked task to another dispatcher, and the attempt is recorded once.
 */
import { type AttemptDeps, type AttemptResult, attemptDelivery } from '../../domains/partners/deliver.ts';
import type { DeliveryTask } from '../../domains/partners/message.ts';
import type { DeliveryStore } from '../../domains/partners/ports.ts';
import type { AmqpDeliveryQueue, TaskConsumer } from '../../infra/partners/delivery-queue.amqp.ts';

export interface DispatcherConfig {
  /** Tasks taken from the broker at once. */
  readonly prefetch: number;
  /** Requests in progress to one endpoint at most. */
  readonly endpointConcurrency: number;
  /** Tasks of one endpoint waiting here beyond those; more go back to the broker. */
  readonly endpointBacklog: number;
  /** How long a task put back for a busy endpoint waits. */
  readonly deferMs: number;
  readonly sweepIntervalMs: number;
  readonly sweepGraceMs: number;
}

export interface DispatcherDeps {
  readonly queue: AmqpDeliveryQueue;
  readonly attempt: AttemptDeps;
  readonly deliveries: Pick<DeliveryStore, 'overdue'>;
  readonly log?: (line: string) => void;
}

export interface WebhookDispatcher {
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly stats: Record<AttemptResult | 'deferred' | 'errors' | 'swept', number>;
}

/** Per-endpoint slots: `acquire` resolves when one is free; false when too many already wait. */
function endpointLimiter(concurrency: number, backlog: number) {
  const active = new Map<string, number>();
  const waiting = new Map<string, Array<() => void>>();
  return {
    tryAcquire(endpoint: string): Promise<void> | undefined {
      const n = active.get(endpoint) ?? 0;
      if (n < concurrency) {
        active.set(endpoint, n + 1);
        return Promise.resolve();
      }
      const queue = waiting.get(endpoint) ?? [];
      if (queue.length >= backlog) return undefined;
      waiting.set(endpoint, queue);
      return new Promise<void>((resolve) => queue.push(resolve));
    },
    release(endpoint: string) {
      const next = waiting.get(endpoint)?.shift();
      if (next) return next(); // the slot passes straight to the next waiting task
      const n = (active.get(endpoint) ?? 1) - 1;
      if (n === 0) active.delete(endpoint);
      else active.set(endpoint, n);
      if (waiting.get(endpoint)?.length === 0) waiting.delete(endpoint);
    },
  };
}

export function createWebhookDispatcher(config: DispatcherConfig, deps: DispatcherDeps): WebhookDispatcher {
  const stats: WebhookDispatcher['stats'] = {
    stale: 0,
    resumed: 0,
    delivered: 0,
    retrying: 0,
    failed: 0,
    raced: 0,
    deferred: 0,
    errors: 0,
    swept: 0,
  };
  const limiter = endpointLimiter(config.endpointConcurrency, config.endpointBacklog);
  let consumer: TaskConsumer | undefined;
  let sweeper: NodeJS.Timeout | undefined;
  let sweeping: Promise<void> | undefined;
  const log = deps.log ?? (() => {});

  async function onTask(task: DeliveryTask): Promise<void> {
    const slot = limiter.tryAcquire(task.endpointId);
    if (!slot) {
      stats.deferred++;
      await deps.queue.enqueue([{ ...task, notBefore: Date.now() + config.deferMs }]);
      return;
    }
    await slot;
    try {
      stats[await attemptDelivery(deps.attempt, task)]++;
    } catch (err) {
      stats.errors++;
      log(`webhook dispatcher: ${task.messageId} → ${task.endpointId}: ${(err as Error)?.message ?? err}`);
      throw err; // the queue puts the task back
    } finally {
      limiter.release(task.endpointId);
    }
  }

  async function sweep(): Promise<void> {
    try {
      const tasks = await deps.deliveries.overdue(new Date().toISOString(), config.sweepGraceMs, 500);
      if (tasks.length > 0) {
        await deps.queue.enqueue(tasks);
        stats.swept += tasks.length;
        log(`webhook dispatcher: re-queued ${tasks.length} overdue deliveries`);
      }
    } catch (err) {
      log(`webhook dispatcher: sweep failed: ${(err as Error)?.message ?? err}`);
    }
  }

  return {
    stats,
    async start() {
      await deps.queue.setup();
      consumer = await deps.queue.consume(onTask, { prefetch: config.prefetch });
      sweeper = setInterval(() => {
        sweeping ??= sweep().finally(() => {
          sweeping = undefined;
        });
      }, config.sweepIntervalMs);
    },
    async stop() {
      clearInterval(sweeper);
      await sweeping;
      await consumer?.stop();
    },
  };
}
