/**
 * What one delivery attempt's result means (Standard Webhooks, "Delivery success and failure"):
 * "A webhook delivery is considered successful if it was responded to with a `2xx` status code
 * (status codes 200-299), and it is considered a failure in any other scenario"; "`3xx`: Failure.
 * Following redirects causes unnecessary load"; "`410 Gone`: ... Sender should disable the
 * webhook endpoint, and stop sending it messages."
 */
import { nextDelay, parseRetryAfter, type RetrySchedule } from './retry.ts';

/** What the sender saw: an HTTP answer (within the timeout) or no usable answer at all. */
export type SendResult =
  | {
      readonly kind: 'response';
      readonly status: number;
      readonly retryAfter?: string | null;
      /** The start of the body, up to the sender's cap. */
      readonly body?: string;
      readonly latencyMs: number;
    }
  | { readonly kind: 'error'; readonly error: string; readonly latencyMs: number };

export type DeliveryStatus = 'PENDING' | 'DELIVERED' | 'FAILED';

/** The consequence of one attempt. */
export interface AttemptVerdict {
  readonly success: boolean;
  /** The endpoint said 410 Gone: disable it. */
  readonly gone: boolean;
  readonly status: DeliveryStatus;
  /** When the next attempt is due (ms from now), if there is one. */
  readonly retryInMs?: number;
  /** The last attempt failed: the message is failed, kept for replay. */
  readonly exhausted: boolean;
}

export function isSuccess(result: SendResult): boolean {
  return result.kind === 'response' && result.status >= 200 && result.status <= 299;
}

/** The verdict on attempt `made` (1-based) of the schedule. */
export function judgeAttempt(
  schedule: RetrySchedule,
  made: number,
  result: SendResult,
  now: number,
  random: () => number,
): AttemptVerdict {
  if (isSuccess(result)) return { success: true, gone: false, status: 'DELIVERED', exhausted: false };
  if (result.kind === 'response' && result.status === 410) {
    return { success: false, gone: true, status: 'FAILED', exhausted: false };
  }
  const retryAfter = result.kind === 'response' ? parseRetryAfter(result.retryAfter, now) : undefined;
  const retryInMs = nextDelay(schedule, made, retryAfter, random);
  if (retryInMs === undefined) return { success: false, gone: false, status: 'FAILED', exhausted: true };
  return { success: false, gone: false, status: 'PENDING', retryInMs, exhausted: false };
}
