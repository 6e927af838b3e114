/**
 * Server-Sent Events transport for the hub: `GET /v1/stream?topics=a,b`.
 *
 * Wire format per the WHATWG HTML Standard, "Server-sent events: Interpreting
 * an event stream". Each message is one event block:
 *   id: <message id>        — "If the field name is "id": If the field value does not contain
 *                              U+0000 NULL, then set the last event ID buffer to the field value."
 *   event: <message event>  — "set the event type buffer to the field value"
 *   data: <JSON>            — JSON.stringify never emits a raw CR or LF, so one data line is the
 *                              whole value ("If the field name is "data": Append the field value
 *                              to the data buffer, then append a single U+000A LINE FEED").
 *   (blank line)            — "If the line is empty (a blank line): Dispatch the event".
 * Heartbeats are comments — "If the line starts with a U+003A COLON character (:): Ignore the
 * line." — so proxies see traffic but clients see no event. The stream opens with
 * `retry: 2000` ("If the field value consists of only ASCII digits, then interpret the field
 * value as an integer in base ten, and set the event stream's reconnection time").
 * The browser resends the last id as `Last-Event-ID` when it reconnects; the hub replays after it.
 */
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { Actor } from '../../domains/shared/actor.ts';
import { isDomainError } from '../../domains/shared/errors.ts';
import { problem } from '../host/problem.ts';
import type { Delivery, Hub } from './hub.ts';
import { streamActor } from './stream-auth.ts';
import { TOPIC, type TopicResolver } from './topics.ts';

/** Options of sseRoutes. */
export interface SseOptions {
  readonly hub: Pick<Hub, 'subscribe'>;
  /** Turns the Authorization header value into an Actor, or throws a DomainError. */
  readonly verify: (authorization: string | null | undefined) => Promise<Actor>;
  /** The hub key of a topic the actor may follow (scoped to the actor's tenant), or undefined. */
  readonly topics: TopicResolver;
  /** Comment heartbeat interval; 15 s keeps idle connections through proxies that cut at 30-60 s. */
  readonly heartbeatMs?: number;
  /** Topics per connection; 20 by default. */
  readonly maxTopics?: number;
}

const RECONNECT_MS = 2000;

/** A stream that tells the client to refetch: it could not be resumed from its Last-Event-ID. */
const RESET_FRAME = `event: reset\ndata: ${JSON.stringify({ reason: 'resume-not-possible' })}\n\n`;

/** Builds the SSE routes over a hub, with bearer auth and per-topic authorization. */
export function sseRoutes(opts: SseOptions): Hono {
  const { hub, verify, topics: resolveTopic, heartbeatMs = 15_000, maxTopics = 20 } = opts;
  // Every subscriber of a topic gets the same Delivery object: encode it once, not per client.
  const frames = new WeakMap<Delivery, string>();

  function frameOf(d: Delivery): string | undefined {
    let frame = frames.get(d);
    if (frame === undefined) {
      let data: string | undefined;
      try {
        data = JSON.stringify(d.data);
      } catch (err) {
        console.error(`sse: message ${d.id} on ${d.topic} is not JSON-serialisable; skipped`, err);
        return undefined;
      }
      frame = `id: ${d.id}\nevent: ${d.event}\ndata: ${data ?? 'null'}\n\n`;
      frames.set(d, frame);
    }
    return frame;
  }

  const app = new Hono();

  app.get('/v1/stream', async function streamTopics(c) {
    const actor = await streamActor(c, verify);
    if (actor instanceof Response) return actor;

    const raw = c.req.query('topics');
    if (raw === undefined || raw === '') {
      return problem(c, 400, 'Bad Request', 'topics: at least one topic is required, e.g. ?topics=a,b');
    }
    const topics = [...new Set(raw.split(','))];
    if (topics.length > maxTopics) {
      return problem(c, 400, 'Bad Request', `topics: at most ${maxTopics} per connection, got ${topics.length}`);
    }
    const malformed = topics.find((t) => !TOPIC.test(t));
    if (malformed !== undefined) {
      return problem(c, 400, 'Bad Request', `topics: "${malformed.slice(0, 64)}" does not match ${TOPIC.source}`);
    }

    let keys: Array<string | undefined>;
    try {
      keys = await Promise.all(topics.map((t) => resolveTopic(actor, t)));
    } catch (err) {
      if (isDomainError(err) && err.retryable) return problem(c, 503, 'Service Unavailable', err.message);
      throw err;
    }
    const denied = topics.filter((_, i) => keys[i] === undefined);
    if (denied.length > 0) return problem(c, 403, 'Forbidden', `not allowed to subscribe to ${denied.join(', ')}`);

    // An id the hub never issued (too long, garbage) is simply unknown: the client gets a reset.
    const lastEventId = c.req.header('last-event-id') || c.req.query('lastEventId') || undefined;
    const subscription = hub.subscribe(keys as string[], lastEventId);
    // nginx (and others honouring it) would otherwise buffer the stream and delay every event.
    c.header('X-Accel-Buffering', 'no');
    c.header('Cache-Control', 'no-cache');
    return streamSSE(c, async function pump(stream) {
      const release = () => subscription.close();
      stream.onAbort(release);
      c.req.raw.signal.addEventListener('abort', release, { once: true });
      const heartbeat = setInterval(() => void stream.write(': ping\n\n'), heartbeatMs);
      try {
        await stream.write(`retry: ${RECONNECT_MS}\n\n`);
        if (subscription.reset) await stream.write(RESET_FRAME);
        // Ends when the client goes (abort → close), or the hub cuts a client that fell behind;
        // then the stream closes and EventSource reconnects with its Last-Event-ID.
        for await (const delivery of subscription) {
          const frame = frameOf(delivery);
          if (frame !== undefined) await stream.write(frame);
          if (stream.aborted) break;
        }
      } finally {
        clearInterval(heartbeat);
        c.req.raw.signal.removeEventListener('abort', release);
        subscription.close();
      }
    });
  });

  app.onError(function sseError(err, c) {
    console.error('sse: unexpected error', err);
    return problem(c, 500, 'Internal Server Error', 'the stream could not be opened');
  });

  return app;
}
