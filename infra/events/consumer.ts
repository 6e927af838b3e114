/**
 * Runs an idempotent event consumer: decode and validate each record, handle it inside
 * its trace, retry retryable failures with backoff (the partition waits: order holds),
 * and send invalid or poison records to the dead-letter topic `<topic>.dlq` with the
 * reason, so they never block the partition. Offsets are committed only after a
 * record is handled or dead-lettered: nothing acknowledged is lost.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Admin, Consumer, KafkaMessage, Producer } from 'kafkajs';
import { DomainError, isDomainError } from '../../domains/shared/errors.ts';
import { resolvesWithin } from '../adapters/dependency.ts';
import type { KafkaDependency } from '../adapters/kafka.ts';
import { REGIONS } from '../config/endpoints.ts';
import { consumedTraceparent, withMessagesSpan, withTelemetry } from '../telemetry/context.ts';
import type { Envelope } from './envelope.ts';
import { fromKafkaMessage, kafkaHeader } from './kafka-codec.ts';
import type { EventRegistry } from './registry.ts';

export interface ConsumedMeta {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

export interface EventConsumerOptions {
  readonly kafka: KafkaDependency;
  readonly groupId: string;
  /** Exact topics or patterns (e.g. /^(west\.)?orders\.order\.created\.v1$/). */
  readonly topics: ReadonlyArray<string | RegExp>;
  readonly handle: (event: Envelope, meta: ConsumedMeta) => Promise<void>;
  readonly fromBeginning?: boolean;
  readonly maxBackoffMs?: number;
  readonly onError?: (err: unknown, meta: ConsumedMeta) => void;
  /**
   * The consumer crashed (kafkajs stops fetching, leaves the group and starts again): `restarting`
   * says whether kafkajs restarts it itself; when it will not (an error it deems fatal), this
   * consumer starts a new one after RELAUNCH_MS. Either way the group is joined again.
   */
  readonly onCrash?: (err: Error, restarting: boolean) => void;
  /** How long start() waits for the group join and first fetch. */
  readonly startTimeoutMs?: number;
  /**
   * A live feed of this process alone (hub fan-out, edge purges): reads from the end as start()
   * finds it and keeps its place across rejoins (FeedPositions), commits no offsets and deletes
   * its group on stop. A group left behind by a killed process holds no
   * offsets either, so the broker removes it at its next offsets-retention check; groups never
   * pile up however often processes restart. Give each process its own groupId.
   */
  readonly ephemeral?: boolean;
  /** Longest wait of one fetch on an idle topic; 500 ms by default. */
  readonly maxWaitMs?: number;
  /**
   * For a consumer nobody waits on (a webhook fan-out, say): each fetch waits this long for
   * records to gather (Kafka's fetch.min.bytes with fetch.max.wait.ms) instead of returning with
   * the first one, so the events of a burst cost one wake-up, one walk of the fetch response and
   * one offset commit, not one each. Events wait up to this long more. Unset or 0: each record is
   * taken at once.
   */
  readonly gatherMs?: number;
  /**
   * Partitions handled at once (kafkajs `partitionsConsumedConcurrently`); 3 by default, the
   * partitions of an event topic, so one slow record (a provider call, a retry) does not hold
   * up other partitions' keys. Order holds within a partition (one aggregate's events).
   */
  readonly partitionsConcurrently?: number;
  /**
   * Records of one partition handled at once, in no particular order (default 1: one at a time,
   * in order). Only for handlers whose events are independent of each other's order.
   */
  readonly unorderedConcurrency?: number;
  /**
   * For throughput (a projection of a busy topic): handles consecutive records of one partition in
   * one call (one transaction, say), in the partition's order; idempotent per event, like `handle`.
   * A fetched batch goes in runs of at most RUN_MAX records; a record that does not decode is
   * dead-lettered alone first. A retryable error retries the run with backoff; any other error
   * hands the run to `handle`, record by record, so that only a poison record is dead-lettered.
   * With it, `unorderedConcurrency` is not used.
   */
  readonly handleBatch?: (events: readonly Envelope[], metas: readonly ConsumedMeta[]) => Promise<void>;
  /** The schemas records are validated against; the repo's event schemas by default. */
  readonly registry?: EventRegistry;
}

export interface EventConsumer {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** `batches`: fetched batches that held records (a partition's records of one fetch, each a wake-up). */
  readonly stats: { handled: number; deadLettered: number; retries: number; batches: number };
}

const MIRRORED_PREFIX = new RegExp(`^(${REGIONS.join('|')})\\.`);

/**
 * The dead-letter topic of a consumed topic: `<topic>.dlq`, in this region. A record of a
 * mirrored topic (`west.x.v1`) is parked in this region's `x.v1.dlq`: `west.x.v1.dlq` is where
 * MirrorMaker 2 copies the other region's own dead letters, and the two must not mix.
 */
export function dlqTopic(topic: string): string {
  return `${localTopic(topic)}.dlq`;
}

/** The local name of a topic: without the `<region>.` prefix MirrorMaker 2 gives remote copies. */
export function localTopic(topic: string): string {
  return topic.replace(MIRRORED_PREFIX, '');
}

/** The topic names of an event type here: its local topic and the peer's copy. */
export function withMirrored(types: readonly string[], peer: string): string[] {
  return types.flatMap((t) => [t, `${peer}.${t}`]);
}

/** A consumer group id of its own for one process's ephemeral feed. */
export function ephemeralGroupId(prefix: string): string {
  return `${prefix}-${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
}

function reasonOf(err: unknown): string {
  return isDomainError(err) ? `${err.code}: ${err.message}` : (err as Error)?.message || String(err);
}

/**
 * A durable group commits what it has handled at least this often while working through a batch.
 * kafkajs otherwise commits only when a whole fetched batch is done: a group working through a
 * backlog showed no progress for tens of seconds (its lag stood still while it worked), and a
 * member that died mid-batch handed all of it to the next owner to do again.
 */
const COMMIT_INTERVAL_MS = 1000;

/** Most records of one `handleBatch` call. */
const RUN_MAX = 500;

/** How long after a crash kafkajs would not recover from a new consumer is started. */
const RELAUNCH_MS = 1000;

/** What a gathering fetch (`gatherMs`) waits for at most: more than a burst of events holds. */
const GATHER_MIN_BYTES = 1024 * 1024;

/**
 * Where an ephemeral feed is in each partition: the next offset to read, kept across the group's
 * generations, from the end of the partition when the feed started until it handles a record. An
 * ephemeral group commits nothing, so without this every rejoin would start its partitions again
 * from the end, and what was written between the last fetch and the rejoin would never reach the
 * feed. kafkajs rejoins more often than one would think: a crash and restart, a rebalance, and
 * every fetch that meets stale metadata (a partition that has just been created answers
 * UNKNOWN_TOPIC_OR_PARTITION or NOT_LEADER for a moment: seen here five times in a second).
 */
export class FeedPositions {
  /** Per partition: the offset to start at, or (once a record is handled) the last one handled. */
  readonly #at = new Map<string, { topic: string; partition: number; offset: string; handled: boolean }>();

  /** The feed starts `topic`/`partition` at `offset` unless it already is somewhere in it. */
  startAt(topic: string, partition: number, offset: string): void {
    const key = `${partition}:${topic}`;
    if (!this.#at.has(key)) this.#at.set(key, { topic, partition, offset, handled: false });
  }

  /** `offset` of `topic`/`partition` is done (called for every record: no arithmetic here). */
  handled(topic: string, partition: number, offset: string): void {
    const key = `${partition}:${topic}`;
    const at = this.#at.get(key);
    if (at === undefined) this.#at.set(key, { topic, partition, offset, handled: true });
    else {
      at.offset = offset;
      at.handled = true;
    }
  }

  /** The seeks that put a new assignment (kafkajs' `memberAssignment`) back where this feed was. */
  seeksFor(
    assignment: Readonly<Record<string, readonly number[]>>,
  ): Array<{ topic: string; partition: number; offset: string }> {
    return Object.entries(assignment).flatMap(([topic, partitions]) =>
      partitions.flatMap((partition) => {
        const at = this.#at.get(`${partition}:${topic}`);
        if (at === undefined) return [];
        return [{ topic, partition, offset: at.handled ? (BigInt(at.offset) + 1n).toString() : at.offset }];
      }),
    );
  }
}

/**
 * Where each partition of `topic` ends. A partition created a moment ago answers
 * NOT_LEADER_FOR_PARTITION for a while on a freshly started broker (longer than kafkajs' own
 * retries): asked again until END_OFFSETS_WAIT_MS, then the error is the caller's.
 */
async function endsOf(admin: Admin, topic: string): Promise<Array<{ partition: number; offset: string }>> {
  const deadline = Date.now() + END_OFFSETS_WAIT_MS;
  for (;;) {
    try {
      return await admin.fetchTopicOffsets(topic);
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`where ${topic} ends could not be read`, { cause: err });
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

const END_OFFSETS_WAIT_MS = 20_000;

/** Notes in `into` where each partition of `topics` ends now: a feed's starting place. */
export async function noteEnds(admin: Admin, topics: readonly string[], into: FeedPositions): Promise<void> {
  await Promise.all(
    topics.map(async (topic) => {
      for (const { partition, offset } of await endsOf(admin, topic)) into.startAt(topic, partition, offset);
    }),
  );
}

export function createEventConsumer(opts: EventConsumerOptions): EventConsumer {
  const maxBackoff = opts.maxBackoffMs ?? 5000;
  const stats = { handled: 0, deadLettered: 0, retries: 0, batches: 0 };
  const gatherMs = opts.gatherMs !== undefined && opts.gatherMs > 0 ? opts.gatherMs : undefined;
  let consumer: Consumer | undefined;
  let producer: Producer | undefined;
  let stopping = false;

  async function deadLetter(message: KafkaMessage, meta: ConsumedMeta, err: unknown): Promise<void> {
    producer ??= await opts.kafka.producer();
    await producer.send({
      topic: dlqTopic(meta.topic),
      acks: -1,
      messages: [
        {
          key: message.key,
          value: message.value,
          headers: {
            ...message.headers,
            'dlq-reason': reasonOf(err).slice(0, 1000),
            'dlq-consumer': opts.groupId,
            'dlq-original-topic': meta.topic,
            'dlq-original-partition': String(meta.partition),
            'dlq-original-offset': meta.offset,
            'dlq-time': new Date().toISOString(),
          },
        },
      ],
    });
    stats.deadLettered++;
  }

  /** Waits before retry `attempt` of a retryable failure (exponential, jittered), then heartbeats. */
  async function backOff(attempt: number, heartbeat: () => Promise<void>): Promise<void> {
    stats.retries++;
    const delay = Math.min(maxBackoff, 100 * 2 ** Math.min(attempt, 10));
    await new Promise((r) => setTimeout(r, delay * (0.5 + Math.random() / 2)));
    await heartbeat();
  }

  async function handleWithRetry(
    event: Envelope,
    meta: ConsumedMeta,
    heartbeat: () => Promise<void>,
    transportTraceparent?: string,
  ) {
    const parent = consumedTraceparent(event.traceparent, transportTraceparent);
    for (let attempt = 0; ; attempt++) {
      try {
        // The processing span continues the producer's trace (OTel messaging conventions).
        await withTelemetry({ traceparent: parent, correlationId: event.id }, () => opts.handle(event, meta), {
          name: `process ${meta.topic}`,
          kind: 'consumer',
          preferTraceparent: true,
          attributes: {
            'messaging.system': 'kafka',
            'messaging.operation.type': 'process',
            'messaging.destination.name': meta.topic,
            'messaging.consumer.group.name': opts.groupId,
            'messaging.message.id': event.id,
            'messaging.destination.partition.id': String(meta.partition),
            'messaging.kafka.offset': Number(meta.offset),
            'cloudevents.event_type': event.type,
          },
        });
        return;
      } catch (err) {
        const retryable = isDomainError(err) ? err.retryable : false;
        if (!retryable || stopping) throw err;
        opts.onError?.(err, meta);
        await backOff(attempt, heartbeat);
      }
    }
  }

  /** One record: decoded, handled (with retries) or dead-lettered with the reason. */
  async function processOne(
    topic: string,
    partition: number,
    message: KafkaMessage,
    heartbeat: () => Promise<void>,
  ): Promise<void> {
    const meta = { topic, partition, offset: message.offset };
    let event: Envelope;
    try {
      event = fromKafkaMessage(message, opts.registry);
    } catch (err) {
      opts.onError?.(err, meta);
      await deadLetter(message, meta, err);
      return;
    }
    try {
      await handleWithRetry(event, meta, heartbeat, kafkaHeader(message.headers, 'traceparent'));
      stats.handled++;
    } catch (err) {
      if (stopping && isDomainError(err) && err.retryable) {
        // Shutting down mid-retry: leave the offset uncommitted; the next owner retries.
        throw err;
      }
      opts.onError?.(err, meta);
      await deadLetter(message, meta, err instanceof Error ? err : new DomainError('INTERNAL', String(err)));
    }
  }

  /** Consecutive records of one partition through `handleBatch` (see the option). */
  async function processRun(
    handleBatch: NonNullable<EventConsumerOptions['handleBatch']>,
    topic: string,
    partition: number,
    messages: readonly KafkaMessage[],
    heartbeat: () => Promise<void>,
  ): Promise<void> {
    const events: Envelope[] = [];
    const metas: ConsumedMeta[] = [];
    const decoded: KafkaMessage[] = [];
    const parents: Array<string | undefined> = [];
    for (const message of messages) {
      const meta = { topic, partition, offset: message.offset };
      try {
        const event = fromKafkaMessage(message, opts.registry);
        events.push(event);
        metas.push(meta);
        decoded.push(message);
        parents.push(consumedTraceparent(event.traceparent, kafkaHeader(message.headers, 'traceparent')));
      } catch (err) {
        opts.onError?.(err, meta);
        await deadLetter(message, meta, err);
      }
    }
    if (events.length === 0) return;
    for (let attempt = 0; ; attempt++) {
      try {
        // One processing span for the run: a child of its first record's trace, linked to the others'.
        await withMessagesSpan(parents, () => handleBatch(events, metas), {
          name: `process ${topic}`,
          kind: 'consumer',
          attributes: {
            'messaging.system': 'kafka',
            'messaging.operation.type': 'process',
            'messaging.destination.name': topic,
            'messaging.consumer.group.name': opts.groupId,
            'messaging.destination.partition.id': String(partition),
            'messaging.batch.message_count': events.length,
          },
        });
        stats.handled += events.length;
        return;
      } catch (err) {
        const retryable = isDomainError(err) ? err.retryable : false;
        if (retryable && stopping) throw err; // the next owner retries the run
        opts.onError?.(err, metas[0] as ConsumedMeta);
        if (!retryable) {
          // Which record is to blame is not known: each alone, where a poison one is dead-lettered.
          for (const message of decoded) await processOne(topic, partition, message, heartbeat);
          return;
        }
        await backOff(attempt, heartbeat);
      }
    }
  }

  /**
   * A consumer that starts "from now on" keeps its own place: an ephemeral feed (which commits
   * nothing) and a durable group that starts at the end (`fromBeginning: false`), whose partitions
   * have no committed offset until it handles a record in them.
   */
  const fromNow = opts.ephemeral === true || opts.fromBeginning === false;
  const positions = fromNow ? new FeedPositions() : undefined;
  /** Settles once the consumer knows where each of its partitions ended when it started. */
  let ends: Promise<void> | undefined;

  async function endsOfAll(into: FeedPositions): Promise<void> {
    const named = opts.topics.filter((t): t is string => typeof t === 'string');
    await noteEnds(await opts.kafka.admin(), named, into);
  }
  let relaunchTimer: NodeJS.Timeout | undefined;

  /** Bumped by every join: a join's anchoring resumes its partitions only if no later join came. */
  let joins = 0;

  /**
   * Gives every assigned partition of a durable "from now on" group a committed offset. Without
   * one, kafkajs starts such a partition at its end again in every generation, so what was written
   * there while nobody read it (a rebalance, a member killed before it handled a record) was
   * skipped for good: webhooks a partner was owed, cache invalidations. The partitions are paused
   * while the group's offsets are read; those without one get this process's place in them (the
   * end when it started, or one past the last record it handled), committed and sought to.
   */
  function anchor(c: Consumer, assignment: Readonly<Record<string, readonly number[]>>, at: FeedPositions): void {
    const assigned = Object.entries(assignment)
      .filter(([, partitions]) => partitions.length > 0)
      .map(([topic, partitions]) => ({ topic, partitions: [...partitions] }));
    if (assigned.length === 0) return;
    const join = ++joins;
    c.pause(assigned);
    void (async () => {
      try {
        await ends;
        const admin = await opts.kafka.admin();
        const committed = await admin.fetchOffsets({ groupId: opts.groupId, topics: assigned.map((a) => a.topic) });
        const missing: Record<string, number[]> = {};
        for (const { topic, partitions } of committed) {
          const mine = new Set(assignment[topic] ?? []);
          missing[topic] = partitions.filter((p) => p.offset === '-1' && mine.has(p.partition)).map((p) => p.partition);
        }
        const seeks = at.seeksFor(missing);
        if (seeks.length === 0) return;
        await c.commitOffsets(seeks);
        for (const seek of seeks) c.seek(seek);
      } catch (err) {
        // A rebalance meanwhile: the next join anchors again.
        const what = new Error(`giving new partitions a committed offset failed: ${(err as Error)?.message ?? err}`);
        if (!stopping)
          opts.onError?.(what, { topic: assigned.map((a) => a.topic).join(','), partition: -1, offset: '-1' });
      } finally {
        if (join === joins && !stopping) c.resume(assigned);
      }
    })();
  }

  /**
   * Makes, connects and runs a consumer; resolves with a promise of its first fetch (the group is
   * joined and its starting offsets are resolved then).
   */
  async function launch(): Promise<{ firstFetch: Promise<void> }> {
    const c = opts.kafka.consumer({
      groupId: opts.groupId,
      allowAutoTopicCreation: true,
      // How long a fetch waits on an idle topic. Records are returned as soon as they arrive
      // either way; this bounds how long start() (which waits for the first fetch) and stop()
      // (which waits for the fetch in flight) take. kafkajs' default is 5 s.
      maxWaitTimeInMs: gatherMs ?? opts.maxWaitMs ?? 500,
      // Gathering: the broker answers when this much has gathered or maxWaitTimeInMs has passed.
      ...(gatherMs !== undefined ? { minBytes: GATHER_MIN_BYTES } : {}),
      // A member that died without leaving (SIGKILL) holds its partitions until the session
      // times out, and every join waits for it: 10 s rather than kafkajs' 30 s. (6 s, the broker's
      // least, was tried on 2 Dec: a region restarting under a drill's load, its ~30 consumers
      // joining on a starved CPU, took 19-54 s to be ready instead of 14-27 s.)
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
      // kafkajs restarts a consumer that crashed (a broker restart can do that) after a backoff,
      // even when it was disconnected meanwhile: a stopped consumer must stay stopped.
      retry: { restartOnFailure: async () => !stopping },
    });
    consumer = c;
    c.on(c.events.START_BATCH_PROCESS, ({ payload }) => {
      if (payload.batchSize > 0) stats.batches++;
    });
    c.on(c.events.CRASH, ({ payload }) => {
      if (stopping) return;
      opts.onCrash?.(payload.error, payload.restart);
      // kafkajs gives up on errors it deems fatal and leaves the consumer stopped for good: a
      // feed or processor that silently stops is worse than one started afresh.
      if (!payload.restart) relaunchTimer = setTimeout(relaunch, RELAUNCH_MS);
    });
    if (positions) {
      // Where "from now on" begins: the end of each partition as start() found it, read while the
      // group is joined (in parallel: reading ~70 topics' ends takes about a second here).
      if (ends === undefined) {
        ends = endsOfAll(positions);
        // start() awaits it; this only keeps a failure while launch() is still busy from being "unhandled".
        ends.catch(() => {});
      }
      if (opts.ephemeral) {
        // Each generation starts an ephemeral group's partitions from the end unless told where:
        // back to where this feed was, so nothing written during the rejoin is skipped.
        c.on(c.events.GROUP_JOIN, ({ payload }) => {
          for (const seek of positions.seeksFor(payload.memberAssignment)) c.seek(seek);
        });
      } else {
        c.on(c.events.GROUP_JOIN, ({ payload }) => anchor(c, payload.memberAssignment, positions));
      }
    }
    await c.connect();
    await c.subscribe({
      topics: [...opts.topics],
      fromBeginning: opts.ephemeral ? false : (opts.fromBeginning ?? true),
    });
    // start() resolves once the group is joined and a first fetch has resolved the
    // starting offsets: a consumer reading "from now on" must not miss what is
    // produced right after it says it is running.
    const firstFetch = new Promise<void>((resolve) => {
      const remove = c.on(c.events.FETCH, () => {
        remove();
        resolve();
      });
    });
    const committing = {
      autoCommit: !opts.ephemeral,
      autoCommitInterval: COMMIT_INTERVAL_MS,
      partitionsConsumedConcurrently: opts.partitionsConcurrently ?? 3,
    };
    /**
     * A fetched batch in groups of at most `size` records, each group `work`ed on as one; the
     * offset moves past a group only when all of it is done, so a crash redelivers (never skips)
     * what was in flight.
     */
    const inGroups = (
      size: number,
      work: (topic: string, partition: number, group: KafkaMessage[], heartbeat: () => Promise<void>) => Promise<void>,
    ) =>
      c.run({
        ...committing,
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }) => {
          for (let i = 0; i < batch.messages.length; i += size) {
            if (!isRunning() || isStale()) break;
            const group = batch.messages.slice(i, i + size);
            await work(batch.topic, batch.partition, group, heartbeat);
            const last = (group[group.length - 1] as KafkaMessage).offset;
            resolveOffset(last);
            positions?.handled(batch.topic, batch.partition, last);
            await heartbeat();
            if (!opts.ephemeral) await commitOffsetsIfNecessary();
          }
        },
      });
    const unordered = opts.unorderedConcurrency ?? 1;
    const handleBatch = opts.handleBatch;
    if (handleBatch) {
      // Runs of up to RUN_MAX records, each in one call.
      await inGroups(RUN_MAX, (topic, partition, run, heartbeat) =>
        processRun(handleBatch, topic, partition, run, heartbeat),
      );
    } else if (unordered > 1) {
      // Up to `unordered` records at once.
      await inGroups(unordered, async (topic, partition, group, heartbeat) => {
        await Promise.all(group.map((m) => processOne(topic, partition, m, heartbeat)));
      });
    } else {
      await c.run({
        ...committing,
        eachMessage: async ({ topic, partition, message, heartbeat }) => {
          await processOne(topic, partition, message, heartbeat);
          positions?.handled(topic, partition, message.offset);
        },
      });
    }
    return { firstFetch };
  }

  function relaunch(): void {
    relaunchTimer = undefined;
    if (stopping) return;
    const crashed = consumer;
    void (async () => {
      await crashed?.disconnect().catch(() => {});
      if (stopping) return;
      try {
        await launch();
      } catch (err) {
        opts.onCrash?.(err as Error, false);
        if (!stopping) relaunchTimer = setTimeout(relaunch, RELAUNCH_MS);
      }
    })();
  }

  return {
    stats,
    async start() {
      const { firstFetch } = await launch();
      await Promise.all([resolvesWithin(firstFetch, opts.startTimeoutMs ?? 30_000), ends]);
    },
    async stop() {
      stopping = true;
      clearTimeout(relaunchTimer);
      await consumer?.disconnect().catch(() => {});
      await producer?.disconnect().catch(() => {});
      if (opts.ephemeral && consumer) {
        // Gone at once rather than at the broker's next retention check.
        const admin = await opts.kafka.admin().catch(() => undefined);
        await admin?.deleteGroups([opts.groupId]).catch(() => {});
      }
    },
  };
}
