/**
 * kafkajs 2.2.4's per-connection request queue, fixed where it spins (kafkajs issues 1556 and 1704;
 * pull requests 1667 and 1768 are unmerged and kafkajs has had no release since 2023).
 *
 * After its first response a connection's queue re-arms `setTimeout(check, throttledUntil - now)`
 * on every check, whether or not anything waits. With no throttle in force that delay is negative,
 * which Node runs after 1 ms (and Node 24 warns: TimeoutNegativeWarning): every broker connection of
 * every client then runs a timer a thousand times a second that does nothing. A region process
 * holds dozens of connections (each consumer has two, producers and the admin one each), so the
 * idle process spent a good part of a core on these timers, and they ran between the requests
 * and records it was serving.
 *
 * Fixed here: a check is scheduled only while a request waits (every 10 ms, or when the throttle
 * ends, as before) or while a throttle is in force. A queue with nothing waiting is checked again
 * when a request is pushed, answered or timed out, as kafkajs already does; those are the only
 * ways a request can start waiting or stop blocking another.
 *
 * Applied once, to the class's prototype, when this module is first imported (by the Kafka adapter,
 * so by every process that talks to Kafka through it).
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface RequestQueueInternals {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: ReturnType<typeof setTimeout> | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

/** kafkajs' own interval between checks while requests wait. */
const CHECK_PENDING_REQUESTS_INTERVAL = 10;

/** kafkajs' RequestQueue class (CommonJS, not part of its public API: pinned with kafkajs 2.2.4). */
export const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as {
  new (
    opts: Record<string, unknown>,
  ): RequestQueueInternals & {
    push(request: unknown): void;
    fulfillRequest(response: { correlationId: number; payload: unknown; size: number }): void;
    maybeThrottle(ms: number | null): void;
    destroy(): void;
  };
  prototype: RequestQueueInternals;
};

function scheduleCheckPendingRequests(this: RequestQueueInternals): void {
  if (this.throttleCheckTimeoutId) return;
  const untilUnthrottled = this.throttledUntil - Date.now();
  // Nothing waits and nothing holds requests back: the next push, answer or timeout checks again.
  if (this.pending.length === 0 && untilUnthrottled <= 0) return;
  const delay = untilUnthrottled > 0 ? untilUnthrottled : CHECK_PENDING_REQUESTS_INTERVAL;
  this.throttleCheckTimeoutId = setTimeout(() => {
    this.throttleCheckTimeoutId = null;
    this.checkPendingRequests();
  }, delay);
}

// The fix replaces kafkajs 2.2.4's method as written there; another version's is left alone.
if (String(RequestQueue.prototype.scheduleCheckPendingRequests).includes('this.throttledUntil - Date.now()')) {
  RequestQueue.prototype.scheduleCheckPendingRequests = scheduleCheckPendingRequests;
}

/** Whether the fix is in force (false: the installed kafkajs is not the one it was written for). */
export const requestQueueFixed = RequestQueue.prototype.scheduleCheckPendingRequests === scheduleCheckPendingRequests;
