/**
 * A webhook message: one domain event as a tenant's endpoints receive it, stored once per tenant
 * and event, its body fixed at that moment (a resend sends the very same bytes under the same
 * `webhook-id`). A delivery is one message to one endpoint; each resend or replay starts a new
 * round of attempts.
 *
 * Standard Webhooks, "Payload structure": `type` ("a full-stop delimited type associated with
 * the event"), `timestamp` ("the timestamp of when the event occurred (not necessarily the same
 * of when it was delivered)") and `data`. And "Webhook metadata": the unique identifier "remains
 * the same no matter how many times a webhook that has failed is retried".
 */
import type { DeliveryStatus } from './attempt.ts';

export interface WebhookMessage {
  /** `msg_` + the event id's 32 hex digits: the `webhook-id` of every attempt. */
  readonly id: string;
  readonly tenant: string;
  readonly eventId: string;
  readonly eventType: string;
  /** When the event happened (its envelope time). */
  readonly occurredAt: string;
  /** The exact JSON body every attempt sends. */
  readonly payload: string;
}

/** One message to one endpoint. */
export interface Delivery {
  readonly endpointId: string;
  readonly messageId: string;
  readonly status: DeliveryStatus;
  /** 1 for the first sending; each resend or replay starts the next round. */
  readonly round: number;
  /** Attempts made in this round. */
  readonly attempts: number;
  readonly nextAttemptAt?: string;
  readonly lastStatusCode?: number;
  readonly lastError?: string;
  readonly updatedAt: string;
}

/** One attempt as recorded: what was sent when, and what came back. */
export interface Attempt {
  readonly endpointId: string;
  readonly messageId: string;
  readonly round: number;
  readonly attempt: number;
  readonly at: string;
  readonly statusCode?: number;
  readonly latencyMs: number;
  readonly success: boolean;
  readonly error?: string;
  /** The start of the response body (capped). */
  readonly responseBody?: string;
}

/** A unit of work on the delivery queue: make attempt `attempt` of round `round`, not before `notBefore`. */
export interface DeliveryTask {
  readonly endpointId: string;
  readonly messageId: string;
  readonly round: number;
  readonly attempt: number;
  /** Epoch ms. */
  readonly notBefore: number;
  /** Put back by a dispatcher because its endpoint was busy (not an attempt; counted on return). */
  readonly parked?: boolean;
}

export const MESSAGE_ID = /^msg_[0-9a-f]{32}$/;

/** The message id of an event: stable, so a redelivered event is the same message. */
export function messageIdOf(eventId: string): string {
  return `msg_${eventId.replaceAll('-', '').toLowerCase()}`;
}

/** The body every attempt of the message sends (minified JSON, as signed). */
export function webhookPayload(type: string, occurredAt: string, data: unknown): string {
  return JSON.stringify({ type, timestamp: occurredAt, data });
}

/** The first task of a delivery round. */
export function firstTask(endpointId: string, messageId: string, round: number, now: number): DeliveryTask {
  return { endpointId, messageId, round, attempt: 1, notBefore: now };
}
