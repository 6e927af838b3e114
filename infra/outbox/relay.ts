/**
 * The transactional-outbox relay: publishes `outbox` rows to Kafka, each event exactly once,
 * one aggregate's events in `seq` order.
 *
 * - Ownership: rows are split into lanes by aggregate (laneOf). A relay publishes a lane only
 *   while it holds the session advisory lock `pg_try_advisory_lock(LANE_LOCK_NAMESPACE, lane)` on
 *   a connection of its own, so one lane has one publisher and a dead relay's lanes free up as
 *   soon as Postgres sees its connection close. Live relays count each other through a second
 *   lock namespace and take an equal share of the lanes.
 * - Crash safety: before a batch is sent, its event ids and the end offset of every partition
 *   of its topics are committed as the lane's in-flight record; after the ack, the rows are
 *   marked published and the record cleared in one transaction. A record that is still there
 *   (crash, failed send, lost ack) is reconciled before anything else is sent: the partitions
 *   are read from the recorded offsets to their end, the `ce_id` headers found there are
 *   marked published, and only the rest is sent again.
 * - Order: a batch goes out in waves so that an aggregate's event is sent only after its
 *   previous event is acked (within one wave an aggregate's events share one topic-partition,
 *   whose record batch Kafka appends atomically). A failed send therefore leaves a per-aggregate
 *   prefix in Kafka, never a gap.
 * - Kafka down: nothing is marked, the relay backs off exponentially and starts over with a
 *   fresh idempotent producer (a kafkajs idempotent producer that ran out of retries may hold
 *   sequence numbers the broker no longer accepts).
 * - Limits: reconciliation trusts that whatever the previous attempt sent is in the log by the
 *   time it reads; a produce request the broker appends only after its sender gave up (a stall
 *   beyond the request timeout) or a sender whose lock connection was cut mid-send could still
 *   be read too early and the event sent twice. Consumers stay idempotent on `ce_id` regardless.
 * - A row whose envelope fails its schema blocks its lane (reported through onError every
 *   retry) rather than being skipped: dropping an event silently would break exactly-once.
 * - Waking: a relay LISTENs on OUTBOX_CHANNEL, which every outbox write NOTIFYs in its own
 *   transaction, so a committed row wakes it at once instead of at its next poll. A wake only
 *   starts a pass sooner; the pass is the same, so the guarantees above do not depend on it.
 *   A pass that emptied the lanes it drained is not followed by one that would only find
 *   nothing: rows committed after it notify (one that left rows, a full batch, is followed at once).
 *   While listening it still polls, rarely (listenIdleMs), for rows written without a notify and
 *   to keep its share of lanes; when the listening connection drops it polls every idleMs
 *   as it did before LISTEN, and reconnects with backoff (one pass right after, for anything
 *   written while nobody listened).
 */
import { randomInt, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, Consumer, Kafka, KafkaMessage, Message, Producer, TopicMessages } from 'kafkajs';
import type pg from 'pg';
import { withTimeout } from '../adapters/dependency.ts';
import type { Envelope } from '../events/envelope.ts';
import { kafkaHeader, toKafkaMessage } from '../events/kafka-codec.ts';
import { OUTBOX_CHANNEL, OUTBOX_LANES } from '../events/outbox.ts';
import { type EventRegistry, eventRegistry } from '../events/registry.ts';
import { withSendSpan } from '../telemetry/context.ts';

/** First key of the lane locks: `pg_try_advisory_lock(LANE_LOCK_NAMESPACE, lane)`. */
export const LANE_LOCK_NAMESPACE = 4_100_010;
/** First key of the membership locks, one per live relay, used to share lanes fairly. */
export const MEMBER_LOCK_NAMESPACE = 4_100_011;

/** How often a relay recounts its peers and gives up or takes lanes. */
const REBALANCE_MS = 1000;
/** First backoff step; doubles per consecutive failure up to maxBackoffMs. */
const BASE_BACKOFF_MS = 100;
/** Upper bound for reading an in-flight record's partitions back. */
const RECONCILE_TIMEOUT_MS = 30_000;
/** How long end offsets read for in-flight records are reused (see recentEndOffsets). */
const ENDS_MAX_AGE_MS = 10_000;
/** Disconnecting from an unreachable broker must not hold up recovery or shutdown. */
const DISCONNECT_TIMEOUT_MS = 3000;

/** Codes of OutboxRelayError. */
export const RELAY_ERROR_CODES = ['LANE_LOST', 'SEND_FAILED', 'RECONCILE_FAILED', 'STOPPED'] as const;
/** One of RELAY_ERROR_CODES. */
export type RelayErrorCode = (typeof RELAY_ERROR_CODES)[number];

/** A relay failure with a code; every one of them is retried after a backoff except STOPPED. */
export class OutboxRelayError extends Error {
  readonly code: RelayErrorCode;
  readonly retryable: boolean;
  constructor(code: RelayErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'OutboxRelayError';
    this.code = code;
    this.retryable = code !== 'STOPPED';
  }
}

/** The part of the Kafka adapter the relay uses (a KafkaDependency fits). */
export interface RelayKafka {
  readonly kafka: Pick<Kafka, 'producer' | 'admin' | 'consumer'>;
}

/** What reconciling one lane's in-flight record found. */
export interface ReconcileReport {
  readonly lane: number;
  /** In-flight events found in Kafka, now marked published without being sent again. */
  readonly inKafka: number;
  /** Events the in-flight record listed. */
  readonly total: number;
}

/** Options of createOutboxRelay. */
export interface OutboxRelayOptions {
  readonly pool: pg.Pool;
  readonly kafka: RelayKafka;
  /** Identifies this relay in in-flight records, client ids and group ids. */
  readonly name: string;
  /** Lanes 0..lanes-1 are served (OUTBOX_LANES). */
  readonly lanes?: number;
  /** Rows per lane per send (200). */
  readonly batchSize?: number;
  /**
   * Envelope bytes per lane per send (512 KiB; a batch always takes at least one row). A broker
   * refuses a record batch over its `message.max.bytes` (1 MiB by default), and one send puts
   * a lane's rows for one partition in one record batch: 200 rows of 16 kB would never go out.
   */
  readonly maxBatchBytes?: number;
  /** Poll interval when there is nothing to publish and no LISTEN connection (50 ms). */
  readonly idleMs?: number;
  /** Poll interval when there is nothing to publish while notifications wake the relay (1000 ms). */
  readonly listenIdleMs?: number;
  /** LISTEN for outbox writes on a connection of its own (true); false: poll only. */
  readonly listen?: boolean;
  /** Cap of the exponential backoff after failures (5000 ms). */
  readonly maxBackoffMs?: number;
  /** Rows marked published (sent now, or found in Kafka by reconciliation). */
  readonly onPublished?: (count: number) => void;
  readonly onReconciled?: (report: ReconcileReport) => void;
  /** A failed drain; the relay backs off and retries. Defaults to console.error. */
  readonly onError?: (err: unknown) => void;
  /** Schemas every envelope is checked against before it is sent (the repo's by default). */
  readonly registry?: EventRegistry;
}

/** A relay service: start()/stop() for a process, drainOnce() for tests and scripts. */
export interface OutboxRelay {
  /** Runs the relay loop in the background until stop(). */
  start(): void;
  /** Finishes the current batch, releases the lanes and disconnects. */
  stop(): Promise<void>;
  /** One pass over the owned lanes (one batch each); resolves with the rows marked published. */
  drainOnce(): Promise<number>;
  /** Whether a LISTEN connection is up (notifications wake the relay). */
  listening(): boolean;
}

/** An outbox row as the relay reads it. */
export interface OutboxRow {
  readonly seq: string;
  readonly eventId: string;
  readonly topic: string;
  readonly aggregateId: string;
  readonly envelope: Envelope;
}

/** End offsets per topic and partition: `{ topic: { partition: offset } }`. */
export type TopicOffsets = Record<string, Record<string, string>>;

/** The lane's in-flight record (outbox_lanes.inflight). */
export interface InflightRecord {
  readonly owner: string;
  readonly startedAt: string;
  readonly eventIds: readonly string[];
  readonly offsets: TopicOffsets;
}

/** One partition to read back, from `from` (inclusive) to `to` (exclusive). */
export interface PartitionRange {
  readonly topic: string;
  readonly partition: number;
  readonly from: string;
  readonly to: string;
}

/**
 * Splits a lane batch (in seq order) into sends: an aggregate stays in the current wave while
 * it keeps to one topic and moves to the next wave when it changes topic, so each of its
 * events is acked before the next one is sent.
 */
export function planWaves<R extends Pick<OutboxRow, 'topic' | 'aggregateId'>>(rows: readonly R[]): R[][] {
  const waves: R[][] = [];
  const last = new Map<string, { topic: string; wave: number }>();
  for (const row of rows) {
    const prev = last.get(row.aggregateId);
    const wave = prev === undefined ? 0 : prev.topic === row.topic ? prev.wave : prev.wave + 1;
    let target = waves[wave];
    if (target === undefined) {
      target = [];
      waves[wave] = target;
    }
    target.push(row);
    last.set(row.aggregateId, { topic: row.topic, wave });
  }
  return waves;
}

/** Exponential backoff with jitter (between half and all of the step), capped at maxMs. */
export function backoffDelay(failures: number, maxMs: number, random: () => number = Math.random): number {
  const step = Math.min(maxMs, BASE_BACKOFF_MS * 2 ** Math.max(0, failures - 1));
  return Math.round(step / 2 + (random() * step) / 2);
}

/** The partitions to read back for an in-flight record, given the current end offsets. */
export function rangesToRead(recorded: TopicOffsets, current: TopicOffsets, low: TopicOffsets): PartitionRange[] {
  const ranges: PartitionRange[] = [];
  for (const [topic, ends] of Object.entries(current)) {
    for (const [partition, to] of Object.entries(ends)) {
      // A partition added after the record was written could hold the batch too: read it whole.
      const from = recorded[topic]?.[partition] ?? low[topic]?.[partition] ?? '0';
      if (BigInt(to) > BigInt(from)) ranges.push({ topic, partition: Number(partition), from, to });
    }
  }
  return ranges;
}

/** One wave as a sendBatch request: messages grouped by topic, in seq order within each. */
function topicMessages(wave: readonly OutboxRow[], registry: EventRegistry): TopicMessages[] {
  const byTopic = new Map<string, Message[]>();
  for (const row of wave) {
    const list = byTopic.get(row.topic) ?? [];
    // Key = aggregate id: the lane and the partition follow the same id.
    list.push({ ...toKafkaMessage(row.envelope, registry), key: row.aggregateId });
    byTopic.set(row.topic, list);
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}

/** A lane batch as its sends, one per wave; throws INVALID_EVENT for an envelope without a valid schema. */
function encodeWaves(rows: readonly OutboxRow[], registry: EventRegistry): TopicMessages[][] {
  return planWaves(rows).map((wave) => topicMessages(wave, registry));
}

/**
 * Reads the given partition ranges with a short-lived consumer (a group of its own that never
 * commits) and calls `onMessage` for each record in range; resolves once every range is read.
 */
export async function readPartitionRanges(
  kafka: Pick<Kafka, 'consumer'>,
  groupId: string,
  ranges: readonly PartitionRange[],
  onMessage: (topic: string, message: KafkaMessage, partition: number) => void,
  timeoutMs = RECONCILE_TIMEOUT_MS,
): Promise<void> {
  const pending = new Map(ranges.map((r) => [`${r.topic}:${r.partition}`, r]));
  if (pending.size === 0) return;
  const consumer: Consumer = kafka.consumer({
    groupId,
    maxWaitTimeInMs: 100,
    allowAutoTopicCreation: false,
    // A crash fails the read (below); kafkajs must not start the consumer again after its disconnect.
    retry: { restartOnFailure: async () => false },
  });
  let finish: () => void = () => {};
  let fail: (err: unknown) => void = () => {};
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  done.catch(() => {}); // observed by the race below; this only keeps a late crash from going unhandled
  consumer.on(consumer.events.CRASH, (e) => fail(e.payload.error));
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [...new Set(ranges.map((r) => r.topic))] });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const key = `${batch.topic}:${batch.partition}`;
        const range = pending.get(key);
        if (range === undefined) return;
        const to = BigInt(range.to);
        for (const m of batch.messages) {
          const offset = BigInt(m.offset);
          if (offset >= BigInt(range.from) && offset < to) onMessage(batch.topic, m, batch.partition);
        }
        if (BigInt(batch.lastOffset()) >= to - 1n) {
          pending.delete(key);
          if (pending.size === 0) finish();
        }
      },
    });
    // Applied when the partitions are assigned; partitions outside the ranges are ignored.
    for (const r of ranges) consumer.seek({ topic: r.topic, partition: r.partition, offset: r.from });
    await withTimeout(done, timeoutMs, `reading ${ranges.length} partition range(s) back`);
  } finally {
    await withTimeout(consumer.disconnect(), DISCONNECT_TIMEOUT_MS, 'consumer disconnect').catch(() => {});
  }
}

interface LockSession {
  readonly client: pg.PoolClient;
  pid: number;
  broken: boolean;
}

/** Creates a relay; nothing connects until start() or drainOnce(). */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { pool, name } = options;
  const kafka = options.kafka.kafka;
  const lanes = options.lanes ?? OUTBOX_LANES;
  const batchSize = options.batchSize ?? 200;
  const maxBatchBytes = options.maxBatchBytes ?? 512 * 1024;
  const idleMs = options.idleMs ?? 50;
  const listenIdleMs = options.listenIdleMs ?? 1000;
  const registry = options.registry ?? eventRegistry();
  const maxBackoffMs = options.maxBackoffMs ?? 5000;
  const onError = options.onError ?? ((err: unknown) => console.error(`outbox relay ${name}:`, err));

  const owned = new Set<number>();
  const knownTopics = new Set<string>();
  const recentEnds = new Map<string, { at: number; high: Record<string, string> }>();
  let session: LockSession | undefined;
  let lastRebalance = 0;
  let producer: Producer | undefined;
  let admin: Admin | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  let loop: Promise<void> | undefined;
  let stopping = false;
  let stopped: Promise<void> | undefined;
  /** Aborted by stop(): ends every wait. */
  const wake = new AbortController();
  /** A notification (or a new LISTEN) asked for a pass since the current one started. */
  let wakeRequested = false;
  let endIdle: (() => void) | undefined;
  let listener: pg.PoolClient | undefined;
  let listenLoop: Promise<void> | undefined;

  // ── lane ownership ──────────────────────────────────────────────────────────────────────

  function dropSession(s: LockSession, err?: Error): void {
    if (s.broken) return;
    s.broken = true;
    // Without the connection the locks are gone (or going): stop publishing every lane at once.
    if (session === s) {
      session = undefined;
      owned.clear();
    }
    s.client.release(err ?? true);
  }

  async function lockSession(): Promise<LockSession> {
    if (session !== undefined) return session;
    const s: LockSession = { client: await pool.connect(), pid: 0, broken: false };
    // A checked-out client that loses its server emits 'error'; unhandled, that would end the process.
    s.client.on('error', (err) => dropSession(s, err));
    try {
      const { rows } = await s.client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      s.pid = rows[0]?.pid ?? 0;
      // Membership: one lock per live relay, released by Postgres when this connection ends.
      while (!(await tryLock(s.client, MEMBER_LOCK_NAMESPACE, randomInt(0, 2 ** 31 - 1)))) {}
    } catch (err) {
      dropSession(s, err as Error);
      throw err;
    }
    session = s;
    lastRebalance = 0;
    return s;
  }

  async function tryLock(client: pg.ClientBase, namespace: number, key: number): Promise<boolean> {
    const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::int4, $2::int4) AS ok', [
      namespace,
      key,
    ]);
    return rows[0]?.ok === true;
  }

  async function liveRelays(client: pg.ClientBase): Promise<number> {
    const { rows } = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_locks
       WHERE locktype = 'advisory' AND classid = $1::int4::oid AND objsubid = 2 AND granted
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      [MEMBER_LOCK_NAMESPACE],
    );
    return Math.max(1, rows[0]?.n ?? 1);
  }

  /** Keeps this relay's lanes at its fair share: gives extras back, takes free ones. */
  async function rebalance(): Promise<void> {
    if (Date.now() - lastRebalance < REBALANCE_MS && session !== undefined) return;
    const s = await lockSession();
    try {
      const share = Math.ceil(lanes / (await liveRelays(s.client)));
      for (const lane of [...owned].sort((a, b) => b - a)) {
        if (owned.size <= share) break;
        await s.client.query('SELECT pg_advisory_unlock($1::int4, $2::int4)', [LANE_LOCK_NAMESPACE, lane]);
        owned.delete(lane);
      }
      // Start at a random lane so relays starting together do not all contend for lane 0.
      const first = randomInt(0, lanes);
      for (let i = 0; i < lanes && owned.size < share; i++) {
        const lane = (first + i) % lanes;
        if (!owned.has(lane) && (await tryLock(s.client, LANE_LOCK_NAMESPACE, lane))) owned.add(lane);
      }
      lastRebalance = Date.now();
    } catch (err) {
      dropSession(s, err as Error);
      throw err;
    }
  }

  async function releaseLanes(): Promise<void> {
    const s = session;
    if (s === undefined) return;
    try {
      await s.client.query('SELECT pg_advisory_unlock_all()');
      owned.clear();
      session = undefined;
      s.broken = true;
      s.client.release();
    } catch (err) {
      dropSession(s, err as Error);
    }
  }

  /**
   * Runs `work` in a transaction that first checks the lane's lock is still held by this
   * relay's session: a relay whose lock connection died must not write for a lane another
   * relay may already own.
   */
  async function inLaneTransaction<T>(lane: number, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const pid = session?.pid;
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const { rowCount } = await client.query(
        `SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = $1::int4::oid AND objid = $2::int4::oid
           AND objsubid = 2 AND pid = $3 AND granted`,
        [LANE_LOCK_NAMESPACE, lane, pid ?? -1],
      );
      if (rowCount !== 1) {
        owned.delete(lane);
        throw new OutboxRelayError('LANE_LOST', `relay ${name} no longer holds lane ${lane}`);
      }
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      // A connection that cannot even roll back is dead: destroy it rather than pool it.
      await client.query('ROLLBACK').catch(() => {
        broken = err as Error;
      });
      throw err;
    } finally {
      client.release(broken);
    }
  }

  // ── Kafka clients ──────────────────────────────────────────────────────────────────────

  /** Connects a new client; one that fails to connect is disconnected, not leaked. */
  async function connected<C extends { connect(): Promise<void>; disconnect(): Promise<void> }>(c: C): Promise<C> {
    try {
      await c.connect();
      return c;
    } catch (err) {
      await withTimeout(c.disconnect(), DISCONNECT_TIMEOUT_MS, 'kafka disconnect').catch(() => {});
      throw err;
    }
  }

  async function kafkaAdmin(): Promise<Admin> {
    admin ??= await connected(kafka.admin());
    return admin;
  }

  async function kafkaProducer(): Promise<Producer> {
    // acks=all is passed on every send; one request in flight keeps the sequence simple.
    producer ??= await connected(kafka.producer({ idempotent: true, maxInFlightRequests: 1 }));
    return producer;
  }

  /** Drops both clients so the next attempt starts with fresh connections and a new producer id. */
  async function resetKafka(): Promise<void> {
    const clients = [producer, admin].filter((c) => c !== undefined);
    producer = undefined;
    admin = undefined;
    knownTopics.clear();
    recentEnds.clear();
    await Promise.allSettled(
      clients.map((c) => withTimeout(c.disconnect(), DISCONNECT_TIMEOUT_MS, 'kafka disconnect')),
    );
  }

  /**
   * End offsets for an in-flight record, read at most every ENDS_MAX_AGE_MS per topic. The record
   * needs a point at or before where the batch will land; an earlier one only makes reconciling
   * read more (offsets never go back, and ids not in the record are ignored), so a recent read is
   * as safe as one made just before the send, and saves a broker round trip per batch.
   */
  async function recentEndOffsets(topics: readonly string[]): Promise<TopicOffsets> {
    const now = Date.now();
    const stale = topics.filter((t) => {
      const known = recentEnds.get(t);
      return known === undefined || now - known.at >= ENDS_MAX_AGE_MS;
    });
    if (stale.length > 0) {
      const { high } = await endOffsets(stale);
      for (const t of stale) {
        // A topic not created yet has no partitions: read again next time rather than remember that.
        if (Object.keys(high[t] ?? {}).length > 0) recentEnds.set(t, { at: now, high: high[t] ?? {} });
        else recentEnds.delete(t);
      }
      return Object.fromEntries(topics.map((t) => [t, recentEnds.get(t)?.high ?? high[t] ?? {}]));
    }
    return Object.fromEntries(topics.map((t) => [t, recentEnds.get(t)?.high ?? {}]));
  }

  /**
   * End (and start) offsets of every partition of `topics`. A topic that does not exist yet gets
   * an empty map: the send will create it, and reading it back then starts at its beginning.
   */
  async function endOffsets(topics: readonly string[]): Promise<{ high: TopicOffsets; low: TopicOffsets }> {
    const a = await kafkaAdmin();
    if (topics.some((t) => !knownTopics.has(t))) {
      for (const t of await a.listTopics()) knownTopics.add(t);
    }
    const high: TopicOffsets = {};
    const low: TopicOffsets = {};
    await Promise.all(
      topics.map(async (topic) => {
        high[topic] = {};
        low[topic] = {};
        if (!knownTopics.has(topic)) return;
        const partitions = await a.fetchTopicOffsets(topic);
        high[topic] = Object.fromEntries(partitions.map((p) => [String(p.partition), p.high]));
        low[topic] = Object.fromEntries(partitions.map((p) => [String(p.partition), p.low]));
      }),
    );
    return { high, low };
  }

  // ── one lane ───────────────────────────────────────────────────────────────────────────

  async function inflightOf(lane: number): Promise<InflightRecord | undefined> {
    const { rows } = await pool.query<{ inflight: InflightRecord | null }>(
      'SELECT inflight FROM outbox_lanes WHERE lane = $1',
      [lane],
    );
    return rows[0]?.inflight ?? undefined;
  }

  /** Marks the in-flight events that made it to Kafka published and clears the record. */
  async function reconcile(lane: number, record: InflightRecord): Promise<number> {
    const wanted = new Set(record.eventIds);
    const found = new Set<string>();
    try {
      const current = await endOffsets(Object.keys(record.offsets));
      const ranges = rangesToRead(record.offsets, current.high, current.low);
      const groupId = `${name}.reconcile.${randomUUID()}`;
      await readPartitionRanges(kafka, groupId, ranges, (_topic, m) => {
        const id = kafkaHeader(m.headers, 'ce_id');
        if (id !== undefined && wanted.has(id)) found.add(id);
      });
      if (ranges.length > 0) await (await kafkaAdmin()).deleteGroups([groupId]).catch(() => {});
    } catch (err) {
      await resetKafka();
      throw new OutboxRelayError('RECONCILE_FAILED', `lane ${lane}: reading the in-flight batch back failed`, {
        cause: err,
      });
    }
    const marked = await inLaneTransaction(lane, async (client) => {
      const res = await client.query(
        `UPDATE outbox SET published_at = now()
         WHERE lane = $1 AND event_id = ANY($2::uuid[]) AND published_at IS NULL`,
        [lane, [...found]],
      );
      await client.query('UPDATE outbox_lanes SET inflight = NULL, owner = $2, updated_at = now() WHERE lane = $1', [
        lane,
        name,
      ]);
      return res.rowCount ?? 0;
    });
    options.onReconciled?.({ lane, inKafka: found.size, total: wanted.size });
    return marked;
  }

  /** The lane's next batch, and whether rows are left behind it (a full batch). */
  async function nextBatch(lane: number): Promise<{ rows: OutboxRow[]; more: boolean }> {
    // ORDER BY the column, not the text alias `seq`: as text, '10' sorts before '9'.
    const { rows } = await pool.query<OutboxRow & { bytes: number }>(
      `SELECT seq::text AS seq, event_id::text AS "eventId", topic, aggregate_id AS "aggregateId", envelope,
              octet_length(envelope::text) AS bytes
       FROM outbox WHERE lane = $1 AND published_at IS NULL
       ORDER BY outbox.seq LIMIT $2`,
      [lane, batchSize],
    );
    // A prefix in seq order: the rest go in the next batch, so order per aggregate holds.
    const batch: OutboxRow[] = [];
    let bytes = 0;
    for (const { bytes: size, ...row } of rows) {
      if (batch.length > 0 && bytes + size > maxBatchBytes) break;
      batch.push(row);
      bytes += size;
    }
    return { rows: batch, more: rows.length >= batchSize || batch.length < rows.length };
  }

  /** The lane lock held by this relay's session, as a condition inside one statement. */
  const LANE_HELD = `EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = ${LANE_LOCK_NAMESPACE}::int4::oid
    AND objid = $1::int4::oid AND objsubid = 2 AND pid = $2 AND granted)`;

  /**
   * Records the batch about to be sent, in one statement that first checks this relay still holds
   * the lane (as inLaneTransaction does, without the round trips of a transaction around it).
   */
  async function writeInflight(lane: number, record: InflightRecord): Promise<void> {
    const { rowCount } = await pool.query(
      `INSERT INTO outbox_lanes (lane, inflight, owner, updated_at)
       SELECT $1::int4, $3::jsonb, $4::text, now() WHERE ${LANE_HELD}
       ON CONFLICT (lane) DO UPDATE SET inflight = EXCLUDED.inflight, owner = EXCLUDED.owner, updated_at = now()`,
      [lane, session?.pid ?? -1, JSON.stringify(record), name],
    );
    if (rowCount !== 1) {
      owned.delete(lane);
      throw new OutboxRelayError('LANE_LOST', `relay ${name} no longer holds lane ${lane}`);
    }
  }

  /** Marks the sent rows published and clears the in-flight record: one statement, under the same lane check. */
  async function markPublished(lane: number, rows: readonly OutboxRow[]): Promise<void> {
    // Data-modifying CTEs run exactly once whether or not the outer query reads them.
    const { rows: result } = await pool.query<{ held: boolean }>(
      `WITH held AS (SELECT ${LANE_HELD} AS ok),
       marked AS (UPDATE outbox SET published_at = now() WHERE seq = ANY($3::bigint[]) AND (SELECT ok FROM held)),
       cleared AS (UPDATE outbox_lanes SET inflight = NULL, updated_at = now() WHERE lane = $1::int4 AND (SELECT ok FROM held))
       SELECT ok AS held FROM held`,
      [lane, session?.pid ?? -1, rows.map((r) => r.seq)],
    );
    if (result[0]?.held !== true) {
      owned.delete(lane);
      throw new OutboxRelayError('LANE_LOST', `relay ${name} no longer holds lane ${lane}`);
    }
  }

  async function send(waves: readonly TopicMessages[][], count: number): Promise<void> {
    try {
      const p = await kafkaProducer();
      for (const wave of waves) {
        const messages = wave.flatMap((t) => t.messages);
        const topics = wave.map((t) => t.topic);
        await withSendSpan(
          messages.map((m) => kafkaHeader(m.headers, 'traceparent')),
          { system: 'kafka', destination: topics.length === 1 ? (topics[0] as string) : 'outbox' },
          () => p.sendBatch({ acks: -1, topicMessages: wave }),
        );
      }
    } catch (err) {
      await resetKafka();
      throw new OutboxRelayError('SEND_FAILED', `sending ${count} event(s) failed`, { cause: err });
    }
  }

  /**
   * Reconciles the lane's in-flight record if there is one, then publishes one batch: how many
   * events went out, and whether rows are left in the lane.
   */
  async function drainLane(lane: number, mayHaveInflight = true): Promise<{ published: number; more: boolean }> {
    const record = mayHaveInflight ? await inflightOf(lane) : undefined;
    const reconciled = record === undefined ? 0 : await reconcile(lane, record);
    if (reconciled > 0) options.onPublished?.(reconciled);
    const { rows, more } = await nextBatch(lane);
    if (rows.length === 0) return { published: reconciled, more };
    // Encoding validates every envelope: a row that fails must fail before anything is recorded.
    const waves = encodeWaves(rows, registry);
    const topics = [...new Set(rows.map((r) => r.topic))];
    let offsets: TopicOffsets;
    try {
      offsets = await recentEndOffsets(topics);
    } catch (err) {
      await resetKafka();
      throw new OutboxRelayError('SEND_FAILED', `lane ${lane}: reading end offsets failed`, { cause: err });
    }
    await writeInflight(lane, {
      owner: name,
      startedAt: new Date().toISOString(),
      eventIds: rows.map((r) => r.eventId),
      offsets,
    });
    await send(waves, rows.length);
    await markPublished(lane, rows);
    options.onPublished?.(rows.length);
    return { published: reconciled + rows.length, more };
  }

  /** Owned lanes with rows to publish or an in-flight record to reconcile (which only this owner writes). */
  async function lanesWithWork(): Promise<Array<{ lane: number; inflight: boolean }>> {
    if (owned.size === 0) return [];
    // One index probe per lane (a DISTINCT over a large backlog would read all of it).
    const { rows } = await pool.query<{ lane: number; inflight: boolean }>(
      `SELECT l AS lane, EXISTS (SELECT 1 FROM outbox_lanes WHERE lane = l AND inflight IS NOT NULL) AS inflight
       FROM unnest($1::smallint[]) AS l
       WHERE EXISTS (SELECT 1 FROM outbox WHERE lane = l AND published_at IS NULL)
          OR EXISTS (SELECT 1 FROM outbox_lanes WHERE lane = l AND inflight IS NOT NULL)
       ORDER BY l`,
      [[...owned]],
    );
    return rows;
  }

  /** One pass over the owned lanes: how many events went out, and whether a drained lane kept rows. */
  async function drainPass(): Promise<{ published: number; leftRows: boolean }> {
    if (stopped !== undefined) throw new OutboxRelayError('STOPPED', `relay ${name} is stopped`);
    await rebalance();
    let published = 0;
    let leftRows = false;
    let firstError: unknown;
    for (const { lane, inflight } of await lanesWithWork()) {
      // stop() waits for the batch in progress, not for a whole pass over the lanes.
      if (stopping) break;
      if (!owned.has(lane)) continue;
      try {
        const drained = await drainLane(lane, inflight);
        published += drained.published;
        leftRows ||= drained.more;
      } catch (err) {
        // One lane's failure (a poison row, a lost lock) must not hold up the others.
        firstError ??= err;
      }
    }
    if (firstError !== undefined) throw firstError;
    return { published, leftRows };
  }

  function queuedPass(): Promise<{ published: number; leftRows: boolean }> {
    // Serialised: the loop and direct callers never work on one lane at the same time.
    const run = queue.then(drainPass, drainPass);
    queue = run.catch(() => {});
    return run;
  }

  function drainOnce(): Promise<number> {
    return queuedPass().then((pass) => pass.published);
  }

  function report(err: unknown): void {
    try {
      onError(err);
    } catch {
      // A throwing error hook must not end the loop.
    }
  }

  // ── waking ─────────────────────────────────────────────────────────────────────────────

  function wakeUp(): void {
    wakeRequested = true;
    endIdle?.();
  }

  /** Waits `ms`, or less when a notification arrives or stop() is called. */
  function idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        wake.signal.removeEventListener('abort', done);
        endIdle = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      wake.signal.addEventListener('abort', done, { once: true });
      endIdle = done;
    });
  }

  /** Holds a LISTEN connection while the relay runs; reconnects with backoff when it drops. */
  async function listenForWrites(): Promise<void> {
    let failures = 0;
    while (!stopping) {
      let client: pg.PoolClient | undefined;
      try {
        client = await pool.connect();
        const c = client;
        const lost = new Promise<Error>((resolve) => {
          c.on('error', resolve);
          c.on('end', () => resolve(new Error('LISTEN connection ended')));
        });
        c.on('notification', (message) => {
          if (message.channel === OUTBOX_CHANNEL) wakeUp();
        });
        await c.query(`LISTEN ${OUTBOX_CHANNEL}`);
        listener = c;
        failures = 0;
        // Rows committed while nobody listened sent their notifications to no one.
        wakeUp();
        const stoppedNow = wake.signal.aborted
          ? Promise.resolve(undefined)
          : new Promise<undefined>((resolve) =>
              wake.signal.addEventListener('abort', () => resolve(undefined), { once: true }),
            );
        const err = await Promise.race([lost, stoppedNow]);
        listener = undefined;
        if (err === undefined) {
          // Closed, not pooled: the connection carries this relay's LISTEN and listeners.
          c.release(true);
          return;
        }
        c.release(err);
        client = undefined;
        throw err;
      } catch (err) {
        listener = undefined;
        client?.release(err as Error);
        if (stopping) return;
        failures++;
        report(
          new Error(`outbox relay ${name}: LISTEN ${OUTBOX_CHANNEL} lost, polling every ${idleMs} ms`, { cause: err }),
        );
        await sleep(backoffDelay(failures, maxBackoffMs), undefined, { signal: wake.signal }).catch(() => {});
      }
    }
  }

  async function runLoop(): Promise<void> {
    let failures = 0;
    while (!stopping) {
      let delay = 0;
      wakeRequested = false;
      try {
        const pass = await queuedPass();
        failures = 0;
        if (pass.published === 0) delay = listener !== undefined ? listenIdleMs : idleMs;
        // Listening, with every drained lane emptied: whatever is committed from here on notifies
        // (and a commit during the pass already has), so a pass that would only find nothing is skipped.
        else if (listener !== undefined && !pass.leftRows) delay = listenIdleMs;
      } catch (err) {
        failures++;
        if (!stopping) report(err);
        delay = backoffDelay(failures, maxBackoffMs);
      }
      if (delay <= 0 || stopping) continue;
      // A failure backs off whatever arrives; an idle relay wakes for a notification.
      if (failures > 0) await sleep(delay, undefined, { signal: wake.signal }).catch(() => {});
      else if (!wakeRequested) await idle(delay);
    }
  }

  return {
    start() {
      if (loop !== undefined || stopped !== undefined) return;
      if (options.listen ?? true) listenLoop = listenForWrites();
      loop = runLoop();
    },
    listening: () => listener !== undefined,
    stop() {
      stopped ??= (async () => {
        stopping = true;
        wake.abort();
        await loop;
        await listenLoop;
        await queue;
        await releaseLanes();
        await resetKafka();
      })();
      return stopped;
    },
    drainOnce,
  };
}
