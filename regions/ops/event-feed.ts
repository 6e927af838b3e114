/**
 * The console's live event stream: every event written in each watched region, read from that
 * region's Kafka (local event topics only, `<domain>.<context>.<event>.v<N>`; the mirrored
 * `<peer>.…` copies are the other region's own events, shown once from there). An ephemeral
 * group per region (from the end, no commits but its own place kept across re-joins, deleted on
 * stop) and a short ring of recent events so a page that opens sees the last few at once.
 * Operators see the envelope's routing facts (type, tenant, subject, id, time, trace), never the
 * payload.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Consumer } from 'kafkajs';
import { createKafka, type KafkaDependency } from '../../infra/adapters/kafka.ts';
import { FeedPositions, noteEnds } from '../../infra/events/consumer.ts';
import type { Service } from '../host/services.ts';

/** A local event topic: `<domain>.<context>.<event>.v<N>` (not a mirror, DLQ or internal topic). */
export const EVENT_TOPIC = /^[a-z][a-z0-9-]*\.[a-z][a-z0-9-]*\.[a-z][a-z0-9-]*\.v\d+$/;

/** What the console shows of one event. */
export interface FeedEvent {
  readonly region: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly id?: string;
  readonly type?: string;
  readonly tenant?: string;
  readonly subject?: string;
  readonly time?: string;
  readonly traceparent?: string;
}

/** The feed: recent events and live listeners. */
export interface EventFeed extends Service {
  recent(): readonly FeedEvent[];
  /** Calls `listener` for each new event until the returned function is called. */
  listen(listener: (event: FeedEvent) => void): () => void;
}

/** Only the envelope's routing facts, whatever else the value holds. */
export function feedEvent(
  region: string,
  topic: string,
  partition: number,
  offset: string,
  value: Buffer | null,
): FeedEvent {
  let e: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(value?.toString('utf8') ?? 'null') as unknown;
    if (parsed && typeof parsed === 'object') e = parsed as Record<string, unknown>;
  } catch {
    // Not JSON: shown with its topic and offset only.
  }
  const str = (k: string) => (typeof e[k] === 'string' ? (e[k] as string).slice(0, 200) : undefined);
  return {
    region,
    topic,
    partition,
    offset,
    id: str('id'),
    type: str('type'),
    tenant: str('tenant'),
    subject: str('subject'),
    time: str('time'),
    traceparent: str('traceparent'),
  };
}

/** A feed over the given regions' brokers (`host:port` lists). */
export function createEventFeed(
  regions: ReadonlyArray<{ readonly name: string; readonly brokers: readonly string[] }>,
  opts: { readonly keep?: number; readonly log?: (line: string) => void } = {},
): EventFeed {
  const keep = opts.keep ?? 100;
  const recent: FeedEvent[] = [];
  const listeners = new Set<(event: FeedEvent) => void>();
  const running: Array<{ kafka: KafkaDependency; consumer: Consumer; groupId: string }> = [];

  function push(event: FeedEvent): void {
    recent.push(event);
    if (recent.length > keep) recent.splice(0, recent.length - keep);
    for (const l of listeners) l(event);
  }

  return {
    name: 'event-feed',
    recent: () => [...recent],
    listen(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async start() {
      for (const region of regions) {
        const kafka = createKafka({ brokers: region.brokers, clientId: `ops-console-${region.name}` });
        const groupId = `ops-console-${region.name}-${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
        const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 250 });
        running.push({ kafka, consumer, groupId });
        try {
          // The group commits nothing, so every re-join would start its partitions at the end again
          // and skip what came meanwhile: it keeps its own place (as the region's live feeds do).
          const positions = new FeedPositions();
          const admin = await kafka.admin();
          // A pattern is matched against the topics that exist now: the platform creates its event topics at region start.
          const topics = (await admin.listTopics()).filter((t) => EVENT_TOPIC.test(t));
          const ends = noteEnds(admin, topics, positions);
          ends.catch(() => {});
          consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
            for (const seek of positions.seeksFor(payload.memberAssignment)) consumer.seek(seek);
          });
          await consumer.connect();
          await consumer.subscribe({ topics: [EVENT_TOPIC], fromBeginning: false });
          await consumer.run({
            autoCommit: false,
            eachMessage: async ({ topic, partition, message }) => {
              push(feedEvent(region.name, topic, partition, message.offset, message.value));
              positions.handled(topic, partition, message.offset);
            },
          });
          await ends;
        } catch (err) {
          opts.log?.(`event feed ${region.name}: ${(err as Error)?.message ?? err}`);
        }
      }
    },
    async stop() {
      listeners.clear();
      await Promise.all(
        running.map(async ({ kafka, consumer, groupId }) => {
          await consumer.disconnect().catch(() => {});
          const admin = await kafka.admin().catch(() => undefined);
          await admin?.deleteGroups([groupId]).catch(() => {});
          await kafka.close();
        }),
      );
      running.length = 0;
    },
  };
}
