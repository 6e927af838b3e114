/**
 * The webhook dispatcher: the delivery queue → signed HTTP POSTs. Takes `prefetch` tasks from
 * RabbitMQ at a time and runs each one's attempt (domains/partners/deliver.ts), at most
 * `endpointConcurrency` at once per endpoint. A few more of an endpoint's tasks wait here
 * (`endpointBacklog`); beyond that a task is parked — put back on the broker to return about when
 * the endpoint will have room (its backlog over its observed rate, at most `maxParkMs`) — so one
 * busy or slow endpoint never fills the prefetch window the other endpoints share, and a fast one
 * is fed just in time rather than in bursts. A sweeper re-queues deliveries whose task was lost
 * (due and not attempted for `sweepGraceMs`). A crash loses nothing: the broker hands an unacked
 * task to another dispatcher, and the attempt is recorded once.
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
  /** Tasks of one endpoint waiting here beyond those; more are parked on the broker. */
  readonly endpointBacklog: number;
  /** The longest a parked task stays away. */
  readonly maxParkMs: number;
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
  readonly stats: Record<AttemptResult | 'parked' | 'errors' | 'swept', number>;
}

/** One endpoint's share of this dispatcher. */
interface Lane {
  active: number;
  readonly waiting: Array<() => void>;
  /** Tasks parked by this process and not back yet. */
  parked: number;
  /** Moving average of one attempt's duration (ms). */
  avgMs: number;
}

/** How long to park a task behind `ahead` others at `concurrency` requests of `avgMs` each. */
export function parkDelay(ahead: number, concurrency: number, avgMs: number, maxMs: number): number {
  return Math.round(Math.min(maxMs, Math.max(50, (ahead * Math.max(avgMs, 1)) / concurrency)));
}

export function createWebhookDispatcher(config: DispatcherConfig, deps: DispatcherDeps): WebhookDispatcher {
  const stats: WebhookDispatcher['stats'] = {
    stale: 0,
    resumed: 0,
    delivered: 0,
    retrying: 0,
    failed: 0,
    raced: 0,
    parked: 0,
    errors: 0,
    swept: 0,
  };
  const lanes = new Map<string, Lane>();
  let consumer: TaskConsumer | undefined;
  let sweeper: NodeJS.Timeout | undefined;
  let sweeping: Promise<void> | undefined;
  const log = deps.log ?? (() => {});

  function release(endpointId: string, lane: Lane): void {
    const next = lane.waiting.shift();
    if (next) {
      next(); // the slot passes straight to the next waiting task
      return;
    }
    lane.active--;
    if (lane.active === 0 && lane.parked === 0) lanes.delete(endpointId);
  }

  async function onTask(task: DeliveryTask): Promise<void> {
    const lane = lanes.get(task.endpointId) ?? { active: 0, waiting: [], parked: 0, avgMs: 0 };
    lanes.set(task.endpointId, lane);
    if (task.parked) lane.parked = Math.max(0, lane.parked - 1);
    if (lane.active < config.endpointConcurrency) lane.active++;
    else if (lane.waiting.length < config.endpointBacklog)
      await new Promise<void>((resolve) => lane.waiting.push(resolve));
    else {
      const ahead = lane.waiting.length + lane.parked + 1;
      const delay = parkDelay(ahead, config.endpointConcurrency, lane.avgMs, config.maxParkMs);
      lane.parked++;
      stats.parked++;
      try {
        await deps.queue.enqueue([{ ...task, parked: true, notBefore: Date.now() + delay }]);
      } catch (err) {
        lane.parked--;
        throw err;
      }
      return;
    }
    const t0 = performance.now();
    try {
      stats[await attemptDelivery(deps.attempt, task)]++;
    } catch (err) {
      stats.errors++;
      log(`webhook dispatcher: ${task.messageId} → ${task.endpointId}: ${(err as Error)?.message ?? err}`);
      throw err; // the queue puts the task back
    } finally {
      const took = performance.now() - t0;
      lane.avgMs = lane.avgMs === 0 ? took : lane.avgMs * 0.8 + took * 0.2;
      release(task.endpointId, lane);
    }
  }
  async function sweep(): Promise<void> {
    try {
      // Batches until none is left: after a broker outage the backlog is re-queued in one sweep.
      for (;;) {
        const tasks = await deps.deliveries.overdue(new Date().toISOString(), config.sweepGraceMs, 500);
        if (tasks.length === 0) break;
        await deps.queue.enqueue(tasks);
        stats.swept += tasks.length;
        log(`webhook dispatcher: re-queued ${tasks.length} overdue deliveries`);
        if (tasks.length < 500) break;
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
      await deps.queue.settle();
    },
  };
}
