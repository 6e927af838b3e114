/**
 * Dispatch, the two steps of every webhook: fan-out (one event → a stored message and a delivery
 * per subscribed endpoint of its tenant → their first tasks queued) and one attempt (a task → a
 * signed POST → the attempt recorded → the next attempt queued, or the message delivered or
 * failed). Every step is safe to run again: a task seen twice, or after its attempt was recorded,
 * changes nothing twice — so a worker may die anywhere and the queue hands its task to another.
 */
import { judgeAttempt, type SendResult } from './attempt.ts';
import { disabled, endpointDisabledEvent, failingTooLong, signingSecrets, type WebhookEndpoint } from './endpoint.ts';
import { type DeliveryExhaustedData, PARTNERS_EVENTS, partnersEvent } from './events.ts';
import { type Attempt, type DeliveryTask, messageIdOf, webhookPayload } from './message.ts';
import type { AttemptOutcome, Clock, DeliveryQueue, DeliveryStore, WebhookSender } from './ports.ts';
import type { RetrySchedule } from './retry.ts';

/** An event as endpoints may see it (its data already what its domain offers outside). */
export interface OfferedEvent {
  readonly id: string;
  readonly type: string;
  readonly tenant: string;
  readonly time: string;
  readonly data: unknown;
}

export interface FanOutDeps {
  readonly deliveries: Pick<DeliveryStore, 'addMessage'>;
  readonly queue: DeliveryQueue;
  readonly clock: Clock;
}

/**
 * Stores the event as a message of its tenant with a delivery for each endpoint that takes it
 * (the store applies `subscribes` and the endpoint's creation time, atomically), and offers their
 * first attempts to the queue. Returns how many were offered.
 */
export async function fanOut(deps: FanOutDeps, event: OfferedEvent): Promise<number> {
  const message = {
    id: messageIdOf(event.id),
    tenant: event.tenant,
    eventId: event.id,
    eventType: event.type,
    occurredAt: event.time,
    payload: webhookPayload(event.type, event.time, event.data),
  };
  const tasks = await deps.deliveries.addMessage(message, deps.clock.now());
  // The deliveries are committed as due: the queue only wakes a dispatcher (the sweeper would too).
  if (tasks.length > 0) await deps.queue.offer(tasks);
  return tasks.length;
}

export interface AttemptDeps {
  readonly deliveries: Pick<DeliveryStore, 'state' | 'recordAttempt'>;
  readonly queue: DeliveryQueue;
  readonly sender: WebhookSender;
  readonly clock: Clock;
  readonly schedule: RetrySchedule;
  /** An endpoint failing without a break for this long is disabled. */
  readonly disableAfterMs: number;
  readonly random: () => number;
}

/** What became of a task. */
export type AttemptResult =
  /** The task is out of date (a later round, a finished delivery, an attempt already made). */
  | 'stale'
  /** Its attempt had been recorded but the next one maybe never queued: queued now. */
  | 'resumed'
  | 'delivered'
  | 'retrying'
  /** Failed for good: the last attempt failed, the endpoint is gone, or disabled. */
  | 'failed'
  /** Another worker recorded the same attempt first. */
  | 'raced';

const NOT_SENT: SendResult = { kind: 'error', error: 'not sent: the endpoint is disabled', latencyMs: 0 };

/** Makes the task's attempt, if it is still owed. */
export async function attemptDelivery(deps: AttemptDeps, task: DeliveryTask): Promise<AttemptResult> {
  const state = await deps.deliveries.state(task.endpointId, task.messageId);
  if (!state) return 'stale';
  const { delivery, endpoint, message } = state;
  if (delivery.round !== task.round || delivery.status !== 'PENDING') return 'stale';
  if (delivery.attempts === task.attempt) {
    const due = delivery.nextAttemptAt ? Date.parse(delivery.nextAttemptAt) : Date.parse(deps.clock.now());
    await deps.queue.enqueue([{ ...task, attempt: task.attempt + 1, notBefore: due }]);
    return 'resumed';
  }
  if (delivery.attempts !== task.attempt - 1) return 'stale';

  const at = deps.clock.now();
  const now = Date.parse(at);
  const live = endpoint.status === 'ENABLED';
  const result = live
    ? await deps.sender.send({
        url: endpoint.url,
        messageId: message.id,
        payload: message.payload,
        secrets: signingSecrets(endpoint, at),
        at: now,
      })
    : NOT_SENT;
  const verdict = live
    ? judgeAttempt(deps.schedule, task.attempt, result, now, deps.random)
    : { success: false, gone: false, status: 'FAILED' as const, exhausted: false };
  const attempt: Attempt = {
    endpointId: endpoint.id,
    messageId: message.id,
    round: task.round,
    attempt: task.attempt,
    at,
    latencyMs: Math.round(result.latencyMs),
    success: verdict.success,
    ...(result.kind === 'response'
      ? { statusCode: result.status, ...(result.body ? { responseBody: result.body } : {}) }
      : { error: result.error }),
  };
  const exhausted: DeliveryExhaustedData = {
    endpointId: endpoint.id,
    messageId: message.id,
    eventType: message.eventType,
    attempts: task.attempt,
    ...(attempt.statusCode !== undefined ? { lastStatusCode: attempt.statusCode } : {}),
    ...(attempt.error !== undefined ? { lastError: attempt.error.slice(0, 500) } : {}),
  };
  const outcome: AttemptOutcome = {
    attempt,
    status: verdict.status,
    ...(verdict.retryInMs !== undefined ? { nextAttemptAt: new Date(now + verdict.retryInMs).toISOString() } : {}),
    events: verdict.exhausted
      ? [partnersEvent(PARTNERS_EVENTS.deliveryExhausted, message.id, message.tenant, exhausted)]
      : [],
    endpointEffect(current: WebhookEndpoint) {
      if (!live || verdict.success) return { events: [] };
      const reason = verdict.gone
        ? ('GONE' as const)
        : failingTooLong(current.failingSince, at, deps.disableAfterMs)
          ? ('FAILING' as const)
          : undefined;
      if (!reason || current.status !== 'ENABLED') return { events: [] };
      const next = disabled(current, reason, at);
      return { endpoint: next, events: [endpointDisabledEvent(next, at)] };
    },
  };
  if (!(await deps.deliveries.recordAttempt(outcome))) return 'raced';
  if (verdict.retryInMs !== undefined) {
    await deps.queue.enqueue([{ ...task, attempt: task.attempt + 1, notBefore: now + verdict.retryInMs }]);
    return 'retrying';
  }
  return verdict.success ? 'delivered' : 'failed';
}
