/**
 * Outbox relay against the real east Postgres and Kafka. Postgres side: a scratch database per
 * run (migrated like any other), because lane locks are per database: no relay of a running
 * region, nor the e2e crash test's relays, can take these tests' lanes, so the fault injection
 * below is deterministic, and no test row is left in the region's outbox. Kafka side: the
 * made-up `testing.thing.*` topics (infra/events/testing.ts), so no domain's consumer sees these
 * events; each test reads them from the offsets captured before it wrote and keeps only the
 * event ids it produced.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, afterEach, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, KafkaMessage, Producer } from 'kafkajs';
import pg from 'pg';
import type { DomainEvent } from '../../domains/shared/events.ts';
import { withTimeout } from '../adapters/dependency.ts';
import { createKafka, type KafkaDependency } from '../adapters/kafka.ts';
import { createPostgres, type Postgres } from '../adapters/postgres.ts';
import { eventually, uniqueName } from '../adapters/testing.ts';
import { resolveEndpoints } from '../config/endpoints.ts';
import { type Envelope, envelope } from '../events/envelope.ts';
import { kafkaHeader, toKafkaMessage } from '../events/kafka-codec.ts';
import { appendToOutbox, laneOf, OUTBOX_CHANNEL, OUTBOX_LANES } from '../events/outbox.ts';
import { TESTING_EVENTS, testingRegistry, thingEvent } from '../events/testing.ts';
import { migrate } from '../postgres/migrate.ts';
import {
  backoffDelay,
  createOutboxRelay,
  type InflightRecord,
  LANE_LOCK_NAMESPACE,
  OutboxRelayError,
  type OutboxRelayOptions,
  planWaves,
  type ReconcileReport,
  type RelayKafka,
  rangesToRead,
  type TopicOffsets,
} from './relay.ts';

const TENANT = 'relay-test';
const REGISTRY = testingRegistry();
const CTX = { region: 'east', service: 'outbox-relay-test' };

// ── test data ───────────────────────────────────────────────────────────────────────────

/** A thing id whose events land in `lane` (or any lane). */
function thingId(lane?: number): string {
  for (;;) {
    const id = randomUUID();
    if (lane === undefined || laneOf(id) === lane) return id;
  }
}

/** The life of one aggregate, one event per step, across three topics (runs of one topic and switches). */
function thingLife(id: string): DomainEvent[] {
  const { created, changed, noted } = TESTING_EVENTS;
  return [created, changed, changed, noted, noted, changed].map((type, step) => thingEvent(type, id, TENANT, step));
}

/** created → changed, the shortest life across two topics. */
function createdThenChanged(id: string): DomainEvent[] {
  const life = thingLife(id);
  return [life[0], life[5]].filter((e) => e !== undefined);
}

const ALL_TOPICS = [...new Set(thingLife(randomUUID()).map((e) => e.type))];

async function append(pool: pg.Pool, events: readonly DomainEvent[]): Promise<Envelope[]> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const envelopes = await appendToOutbox(client, events, CTX, REGISTRY);
    await client.query('COMMIT');
    return envelopes;
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  } finally {
    client.release();
  }
}

/** Appends every step of every order, one transaction per event, step by step across orders. */
async function appendInSteps(pool: pg.Pool, lives: readonly DomainEvent[][], concurrency = 8): Promise<Envelope[]> {
  const written: Envelope[] = [];
  const steps = Math.max(...lives.map((l) => l.length));
  for (let step = 0; step < steps; step++) {
    const due = lives.flatMap((l) => l.slice(step, step + 1));
    for (let i = 0; i < due.length; i += concurrency) {
      const chunk = due.slice(i, i + concurrency);
      for (const envs of await Promise.all(chunk.map((e) => append(pool, [e])))) written.push(...envs);
    }
  }
  return written;
}

// ── reading Kafka back (independently of the relay's own reader) ────────────────────────

interface Seen {
  readonly id: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  readonly timestamp: number;
  readonly key: string;
  readonly headers: Record<string, string>;
  readonly envelope: Envelope;
  readonly producerId: string | undefined;
}

async function offsetsNow(admin: Admin, topics: readonly string[]): Promise<TopicOffsets> {
  const existing = new Set(await admin.listTopics());
  const out: TopicOffsets = {};
  for (const topic of topics) {
    out[topic] = existing.has(topic)
      ? Object.fromEntries((await admin.fetchTopicOffsets(topic)).map((p) => [String(p.partition), p.high]))
      : {};
  }
  return out;
}

/**
 * One `drainOnce()` taken as the relay's own loop takes it: a retryable failure (on a freshly
 * started stack a partition created a moment ago answers NOT_LEADER_FOR_PARTITION for a while)
 * published nothing this time, and the next pass tries again after a pause.
 */
async function drainPass(r: { drainOnce(): Promise<number> }): Promise<number> {
  try {
    return await r.drainOnce();
  } catch (err) {
    if (!(err instanceof OutboxRelayError) || !err.retryable) throw err;
    await new Promise((resolve) => setTimeout(resolve, 200));
    return 0;
  }
}

function textHeaders(message: KafkaMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(message.headers ?? {})) {
    const v = kafkaHeader(message.headers, name);
    if (v !== undefined) out[name] = v;
  }
  return out;
}

/** Every record of `ids` written to `since`'s topics after `since`, read to the current end. */
async function readBack(
  kafka: KafkaDependency,
  admin: Admin,
  since: TopicOffsets,
  ids: ReadonlySet<string>,
): Promise<Seen[]> {
  const ends = await offsetsNow(admin, Object.keys(since));
  const remaining = new Map<string, bigint>();
  const starts: Array<{ topic: string; partition: number; offset: string }> = [];
  for (const [topic, partitions] of Object.entries(ends)) {
    for (const [partition, end] of Object.entries(partitions)) {
      const start = since[topic]?.[partition] ?? '0';
      if (BigInt(end) > BigInt(start)) {
        remaining.set(`${topic}/${partition}`, BigInt(end));
        starts.push({ topic, partition: Number(partition), offset: start });
      }
    }
  }
  const seen: Seen[] = [];
  if (remaining.size === 0) return seen;
  const groupId = uniqueName('relay-test-reader');
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [...new Set(starts.map((s) => s.topic))] });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        const headers = textHeaders(message);
        const id = headers.ce_id;
        if (id !== undefined && ids.has(id)) {
          seen.push({
            id,
            topic,
            partition,
            offset: BigInt(message.offset),
            timestamp: Number(message.timestamp),
            key: message.key?.toString() ?? '',
            headers,
            envelope: JSON.parse(message.value?.toString() ?? 'null') as Envelope,
            producerId: (message as { batchContext?: { producerId?: string } }).batchContext?.producerId,
          });
        }
        const end = remaining.get(`${topic}/${partition}`);
        if (end !== undefined && BigInt(message.offset) >= end - 1n) {
          remaining.delete(`${topic}/${partition}`);
          if (remaining.size === 0) done();
        }
      },
    });
    for (const s of starts) consumer.seek(s);
    await withTimeout(finished, 30_000, `reading back ${[...remaining.keys()]}`);
    return seen;
  } finally {
    await consumer.disconnect();
    await admin.deleteGroups([groupId]).catch(() => {});
  }
}

/** Each id exactly once. */
function assertExactlyOnce(seen: readonly Seen[], expected: readonly Envelope[]): void {
  const count = new Map<string, number>();
  for (const s of seen) count.set(s.id, (count.get(s.id) ?? 0) + 1);
  const missing = expected.filter((e) => !count.has(e.id)).map((e) => e.id);
  const duplicated = [...count].filter(([, n]) => n > 1).map(([id]) => id);
  assert.deepEqual({ missing, duplicated }, { missing: [], duplicated: [] });
  assert.equal(seen.length, expected.length);
}

/**
 * Per aggregate, in seq order: within one topic-partition offsets increase, and across topics no
 * event carries an earlier producer timestamp than the one before it (it was sent after that ack).
 */
function assertAggregateOrder(seen: readonly Seen[], seqOf: ReadonlyMap<string, bigint>): number {
  const byAggregate = new Map<string, Seen[]>();
  for (const s of seen) byAggregate.set(s.key, [...(byAggregate.get(s.key) ?? []), s]);
  let pairs = 0;
  for (const [aggregate, events] of byAggregate) {
    const ordered = [...events].sort((a, b) => Number((seqOf.get(a.id) ?? 0n) - (seqOf.get(b.id) ?? 0n)));
    for (let i = 1; i < ordered.length; i++) {
      const [prev, next] = [ordered[i - 1], ordered[i]];
      if (prev === undefined || next === undefined) continue;
      if (prev.topic === next.topic && prev.partition === next.partition) {
        pairs++;
        assert.ok(next.offset > prev.offset, `${aggregate}: ${next.id} precedes ${prev.id} in ${next.topic}`);
      }
      assert.ok(next.timestamp >= prev.timestamp, `${aggregate}: ${next.id} was sent before ${prev.id} was acked`);
    }
  }
  return pairs;
}

// ── a Kafka that fails on demand ────────────────────────────────────────────────────────

interface Faults {
  mode: 'up' | 'down' | 'lose-ack';
  delayMs: number;
  producers: number;
  sendTimes: number[];
  failedSends: number;
}

/**
 * The real Kafka, with injected send failures: `down` fails before anything is sent (a broker
 * outage), `lose-ack` lets one send land and then fails it (ack lost on the way back).
 */
function faultyKafka(real: KafkaDependency): { kafka: RelayKafka; faults: Faults } {
  const faults: Faults = { mode: 'up', delayMs: 0, producers: 0, sendTimes: [], failedSends: 0 };
  const wrap = (p: Producer): Producer => ({
    ...p,
    async sendBatch(batch) {
      faults.sendTimes.push(Date.now());
      if (faults.delayMs > 0) await sleep(faults.delayMs);
      if (faults.mode === 'down') {
        faults.failedSends++;
        throw new Error('injected: broker unreachable');
      }
      const result = await p.sendBatch(batch);
      if (faults.mode === 'lose-ack') {
        faults.mode = 'up';
        faults.failedSends++;
        throw new Error('injected: ack lost after the write');
      }
      return result;
    },
  });
  const kafka: RelayKafka['kafka'] = {
    admin: (config) => real.kafka.admin(config),
    consumer: (config) => real.kafka.consumer(config),
    producer: (config) => {
      faults.producers++;
      return wrap(real.kafka.producer(config));
    },
  };
  return { kafka: { kafka }, faults };
}

// ── pure parts ──────────────────────────────────────────────────────────────────────────

describe('outbox relay planning', () => {
  it('planWaves keeps an aggregate in one wave per topic run and sends its next topic after the ack', () => {
    const rows = [
      { aggregateId: 'a', topic: 't1' },
      { aggregateId: 'b', topic: 't2' },
      { aggregateId: 'a', topic: 't1' },
      { aggregateId: 'a', topic: 't2' },
      { aggregateId: 'b', topic: 't1' },
      { aggregateId: 'a', topic: 't1' },
    ];
    const waves = planWaves(rows).map((w) => w.map((r) => `${r.aggregateId}:${r.topic}`));
    assert.deepEqual(waves, [['a:t1', 'b:t2', 'a:t1'], ['a:t2', 'b:t1'], ['a:t1']]);
  });

  it('backoffDelay doubles per failure, with jitter, up to the cap', () => {
    const low = () => 0;
    const high = () => 1;
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(n, 5000, high)),
      [100, 200, 400, 800, 1600, 3200, 5000],
    );
    assert.deepEqual(
      [1, 2, 10].map((n) => backoffDelay(n, 5000, low)),
      [50, 100, 2500],
    );
  });

  it('rangesToRead reads from the recorded offsets, whole new partitions or topics, and skips idle ones', () => {
    const recorded = { t1: { '0': '10', '1': '5' }, t2: {} };
    const current = { t1: { '0': '12', '1': '5', '2': '3' }, t2: { '0': '4' } };
    const low = { t1: { '0': '0', '1': '0', '2': '1' }, t2: { '0': '0' } };
    assert.deepEqual(rangesToRead(recorded, current, low), [
      { topic: 't1', partition: 0, from: '10', to: '12' },
      { topic: 't1', partition: 2, from: '1', to: '3' },
      { topic: 't2', partition: 0, from: '0', to: '4' },
    ]);
  });
});

// ── against the real stack ──────────────────────────────────────────────────────────────

describe('outbox relay (east: real Postgres and Kafka)', () => {
  const endpoints = resolveEndpoints('east', process.env);
  const database = uniqueName('relay_test', '_');
  let postgres: Postgres;
  let kafka: KafkaDependency;
  let admin: Admin;
  const relays: Array<{ stop(): Promise<void> }> = [];

  async function serverQuery(sql: string): Promise<void> {
    const client = new pg.Client({ connectionString: endpoints.postgresUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  }

  before(async () => {
    await serverQuery(`CREATE DATABASE ${database}`);
    const url = new URL(endpoints.postgresUrl);
    url.pathname = `/${database}`;
    postgres = createPostgres({ url: url.toString(), maxConnections: 20, applicationName: 'outbox-relay-test' });
    await migrate(postgres.pool);
    kafka = createKafka({ brokers: endpoints.kafkaBrokers, clientId: uniqueName('outbox-relay-test') });
    admin = await kafka.admin();
  });

  // A failed test must not leave a relay holding lanes the next test needs.
  afterEach(async () => {
    await Promise.allSettled(relays.splice(0).map((r) => r.stop()));
  });

  after(async () => {
    await kafka?.close();
    await postgres?.close();
    await serverQuery(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  });

  function relay(overrides: Partial<OutboxRelayOptions> = {}) {
    const r = createOutboxRelay({
      pool: postgres.pool,
      kafka,
      name: uniqueName('relay-test'),
      registry: REGISTRY,
      ...overrides,
    });
    relays.push(r);
    return r;
  }

  async function unpublished(ids: readonly string[]): Promise<number> {
    const { rows } = await postgres.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM outbox WHERE event_id = ANY($1::uuid[]) AND published_at IS NULL',
      [ids],
    );
    return rows[0]?.n ?? -1;
  }

  async function seqs(ids: readonly string[]): Promise<Map<string, bigint>> {
    const { rows } = await postgres.pool.query<{ id: string; seq: string }>(
      'SELECT event_id::text AS id, seq::text AS seq FROM outbox WHERE event_id = ANY($1::uuid[])',
      [ids],
    );
    return new Map(rows.map((r) => [r.id, BigInt(r.seq)]));
  }

  async function inflightLanes(): Promise<number[]> {
    const { rows } = await postgres.pool.query<{ lane: number }>(
      'SELECT lane FROM outbox_lanes WHERE inflight IS NOT NULL ORDER BY lane',
    );
    return rows.map((r) => r.lane);
  }

  async function laneLockHolders(): Promise<Map<number, number>> {
    const { rows } = await postgres.pool.query<{ pid: number; n: number }>(
      `SELECT pid, count(*)::int AS n FROM pg_locks
       WHERE locktype = 'advisory' AND classid = $1::int4::oid AND objsubid = 2 AND granted
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
       GROUP BY pid`,
      [LANE_LOCK_NAMESPACE],
    );
    return new Map(rows.map((r) => [r.pid, r.n]));
  }

  it('publishes a batch once, keyed by aggregate, with ce_id/ce_type/traceparent headers, and marks the rows', async () => {
    const since = await offsetsNow(admin, ALL_TOPICS);
    const written: Envelope[] = [];
    for (let i = 0; i < 10; i++) written.push(...(await append(postgres.pool, createdThenChanged(thingId()))));
    const ids = written.map((e) => e.id);

    let reported = 0;
    const r = relay({ onPublished: (n) => (reported += n) });
    let drained = 0;
    for (let pass = 0; pass < 20 && (await unpublished(ids)) > 0; pass++) drained += await drainPass(r);
    assert.equal(await unpublished(ids), 0, 'every row is marked published');
    assert.equal(drained, written.length);
    assert.equal(reported, written.length);
    assert.equal(await r.drainOnce(), 0, 'nothing left to publish');
    assert.deepEqual(await inflightLanes(), [], 'no batch left in flight');

    const seen = await readBack(kafka, admin, since, new Set(ids));
    assertExactlyOnce(seen, written);
    const byId = new Map(written.map((e) => [e.id, e]));
    for (const s of seen) {
      const e = byId.get(s.id);
      assert.ok(e);
      assert.equal(s.topic, e.type);
      assert.equal(s.key, e.subject, 'key = aggregate id');
      assert.equal(s.headers.ce_id, e.id);
      assert.equal(s.headers.ce_type, e.type);
      assert.equal(s.headers.traceparent, e.traceparent);
      assert.match(s.headers['content-type'] ?? '', /^application\/cloudevents\+json/);
      assert.deepEqual(s.envelope, e);
      assert.ok(s.producerId !== undefined && s.producerId !== '-1', `idempotent producer, got ${s.producerId}`);
    }
    assertAggregateOrder(seen, await seqs(ids));

    await r.stop();
    assert.equal((await laneLockHolders()).size, 0, 'stop() released every lane lock');
    await assert.rejects(r.drainOnce(), (err) => err instanceof OutboxRelayError && err.code === 'STOPPED');
  });

  it('publishes events too big to go 200 at a time (a broker refuses a record batch over 1 MiB), in order', async () => {
    const since = await offsetsNow(admin, ALL_TOPICS);
    const id = thingId();
    // One aggregate, one partition: 120 events of ~16 kB would be one ~2 MB record batch.
    const big = Array.from({ length: 120 }, (_, step) =>
      thingEvent(TESTING_EVENTS.noted, id, TENANT, step, 'x'.repeat(16_000)),
    );
    const written = await append(postgres.pool, big);
    const ids = written.map((e) => e.id);
    const r = relay();
    let batches = 0;
    for (let pass = 0; pass < 40 && (await unpublished(ids)) > 0; pass++) if ((await drainPass(r)) > 0) batches++;
    assert.equal(await unpublished(ids), 0, 'every row is marked published');
    assert.ok(batches >= 4, `sent in batches under the byte limit (${batches})`);
    const seen = await readBack(kafka, admin, since, new Set(ids));
    assertExactlyOnce(seen, written);
    assertAggregateOrder(seen, await seqs(ids));
  });

  it('3 relays draining together publish 600 events of 100 aggregates once each, in seq order per aggregate', async () => {
    const since = await offsetsNow(admin, ALL_TOPICS);
    const published = [0, 0, 0];
    const trio = published.map((_, i) =>
      relay({ batchSize: 25, idleMs: 20, onPublished: (n) => (published[i] = (published[i] ?? 0) + n) }),
    );
    for (const r of trio) r.start();
    // Let them settle on a share each (3 + 3 + 2 lanes) before the rows arrive.
    await eventually(
      async () => {
        const holders = await laneLockHolders();
        assert.equal(holders.size, 3);
        assert.equal(
          [...holders.values()].reduce((a, b) => a + b, 0),
          OUTBOX_LANES,
        );
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );

    const written = await appendInSteps(
      postgres.pool,
      Array.from({ length: 100 }, () => thingLife(thingId())),
    );
    assert.equal(written.length, 600);
    const ids = written.map((e) => e.id);
    await eventually(async () => assert.equal(await unpublished(ids), 0), { timeoutMs: 30_000, intervalMs: 100 });

    const seen = await readBack(kafka, admin, since, new Set(ids));
    assertExactlyOnce(seen, written);
    const samePartitionPairs = assertAggregateOrder(seen, await seqs(ids));
    assert.equal(
      samePartitionPairs,
      200,
      "each aggregate's two same-topic runs (changed, changed; noted, noted) are checked by offset",
    );
    assert.equal(
      published.reduce((a, b) => a + b, 0),
      600,
    );
    assert.ok(
      published.every((n) => n > 0),
      `every relay published a share: ${published}`,
    );
    await Promise.all(trio.map((r) => r.stop()));
    assert.deepEqual(await inflightLanes(), []);
  });

  it('reconciles the in-flight batch a killed relay left: ids already in Kafka are not sent again, the rest are', async () => {
    const lane = 3;
    const since = await offsetsNow(admin, ALL_TOPICS);
    const written: Envelope[] = [];
    for (let i = 0; i < 3; i++) written.push(...(await append(postgres.pool, createdThenChanged(thingId(lane)))));
    // The state a SIGKILL between the Kafka ack and the DB commit leaves: the record of the whole
    // batch is committed, its first wave (the three `created`) is in Kafka, nothing is marked.
    const record: InflightRecord = {
      owner: 'relay-killed-mid-batch',
      startedAt: new Date().toISOString(),
      eventIds: written.map((e) => e.id),
      offsets: await offsetsNow(admin, [...new Set(written.map((e) => e.type))]),
    };
    const producer = await kafka.producer();
    const created = written.filter((e) => e.type === TESTING_EVENTS.created);
    await producer.send({
      topic: TESTING_EVENTS.created,
      acks: -1,
      messages: created.map((e) => toKafkaMessage(e, REGISTRY)),
    });
    await postgres.pool.query(
      `INSERT INTO outbox_lanes (lane, inflight, owner) VALUES ($1, $2, $3)
       ON CONFLICT (lane) DO UPDATE SET inflight = EXCLUDED.inflight, owner = EXCLUDED.owner`,
      [lane, JSON.stringify(record), record.owner],
    );

    const reports: ReconcileReport[] = [];
    const r = relay({ onReconciled: (report) => reports.push(report) });
    for (let pass = 0; pass < 20 && (await unpublished(record.eventIds)) > 0; pass++) await drainPass(r);
    assert.deepEqual(reports, [{ lane, inKafka: 3, total: 6 }]);
    assert.equal(await unpublished(record.eventIds), 0);
    assert.deepEqual(await inflightLanes(), []);

    const seen = await readBack(kafka, admin, since, new Set(record.eventIds));
    assertExactlyOnce(seen, written);
    assertAggregateOrder(seen, await seqs(record.eventIds));
    await r.stop();
  });

  it('rides out a Kafka outage: marks nothing, backs off with a fresh producer per failure, reconciles a lost ack', async (t) => {
    const lane = 5;
    const since = await offsetsNow(admin, ALL_TOPICS);
    const { kafka: flaky, faults } = faultyKafka(kafka);
    const errors: unknown[] = [];
    const reports: ReconcileReport[] = [];
    const r = relay({
      kafka: flaky,
      idleMs: 20,
      maxBackoffMs: 400,
      onError: (err) => errors.push(err),
      onReconciled: (report) => reports.push(report),
    });
    // Stopped even when an assertion fails: a relay left running would hold lanes the next test needs.
    t.after(() => r.stop());
    faults.mode = 'down';
    const written: Envelope[] = [];
    for (let i = 0; i < 3; i++) written.push(...(await append(postgres.pool, createdThenChanged(thingId(lane)))));
    const ids = written.map((e) => e.id);
    r.start();
    // Four failed attempts, however long a loaded machine takes to make them.
    await eventually(
      async () => {
        assert.ok(faults.sendTimes.length >= 4, `attempts so far: ${faults.sendTimes.length}`);
        assert.deepEqual(await inflightLanes(), [lane], 'the attempted batch stays recorded as in flight');
      },
      { timeoutMs: 20_000, intervalMs: 50 },
    );
    assert.equal(await unpublished(ids), 6, 'a failed send marks nothing');
    // Backoff after the 1st, 2nd, 3rd failure: half to all of 100, 200, 400 ms (the cap), so at
    // least 50, 100, 200 ms apart. Without it (idle 20 ms) attempts would follow each other in
    // tens of milliseconds.
    const gaps = faults.sendTimes.slice(1, 4).map((at, i) => at - (faults.sendTimes[i] ?? at));
    assert.ok(
      (gaps[0] ?? 0) >= 45 && (gaps[1] ?? 0) >= 95 && (gaps[2] ?? 0) >= 195,
      `backing off between attempts: ${gaps}`,
    );
    assert.ok(
      gaps.every((g) => g <= 400 + 1000),
      `at most the 400 ms cap (plus the pass itself) between attempts: ${gaps}`,
    );
    assert.ok(faults.producers >= faults.failedSends, `a fresh producer after every failure: ${faults.producers}`);
    assert.ok(
      errors.every((e) => e instanceof OutboxRelayError && e.code === 'SEND_FAILED'),
      String(errors),
    );

    // Kafka is back, but the ack of the next send is lost: its wave is in Kafka, the relay does not know.
    faults.mode = 'lose-ack';
    await eventually(async () => assert.equal(await unpublished(ids), 0), { timeoutMs: 15_000, intervalMs: 50 });
    assert.equal(faults.mode, 'up', 'the lost ack happened');
    assert.ok(
      reports.some((rep) => rep.lane === lane && rep.inKafka === 3 && rep.total === 6),
      `the landed wave was found, not re-sent: ${JSON.stringify(reports)}`,
    );
    const seen = await readBack(kafka, admin, since, new Set(ids));
    assertExactlyOnce(seen, written);
    assertAggregateOrder(seen, await seqs(ids));
    await r.stop();
    assert.deepEqual(await inflightLanes(), []);
  });

  it('stop() lets the batch in flight finish, then releases every lane lock', async (t) => {
    const lane = 6;
    const { kafka: slow, faults } = faultyKafka(kafka);
    faults.delayMs = 400;
    const r = relay({ kafka: slow });
    t.after(() => r.stop());
    const written: Envelope[] = [];
    for (let i = 0; i < 2; i++) written.push(...(await append(postgres.pool, createdThenChanged(thingId(lane)))));
    r.start();
    await eventually(() => assert.ok(faults.sendTimes.length >= 1), { timeoutMs: 10_000, intervalMs: 10 });
    const t0 = Date.now();
    await r.stop();
    assert.ok(Date.now() - t0 >= 300, 'stop waited for the send in progress');
    assert.equal(await unpublished(written.map((e) => e.id)), 0, 'the batch in flight was completed');
    assert.deepEqual(await inflightLanes(), []);
    assert.equal((await laneLockHolders()).size, 0);
  });

  describe('woken by LISTEN/NOTIFY', () => {
    it('appendToOutbox keeps the given order in seq and notifies once, at commit, naming the lanes', async () => {
      const url = new URL(endpoints.postgresUrl);
      url.pathname = `/${database}`;
      const listener = new pg.Client({ connectionString: url.toString() });
      await listener.connect();
      const heard: string[] = [];
      listener.on('notification', (m) => {
        if (m.channel === OUTBOX_CHANNEL) heard.push(m.payload ?? '');
      });
      await listener.query(`LISTEN ${OUTBOX_CHANNEL}`);
      try {
        const a = thingId(2);
        const b = thingId(5);
        const events = [...thingLife(a), ...createdThenChanged(b)];
        const client = await postgres.pool.connect();
        let written: Envelope[];
        try {
          await client.query('BEGIN');
          written = await appendToOutbox(client, events, CTX, REGISTRY);
          await sleep(300);
          assert.deepEqual(heard, [], 'nothing is heard before the commit');
          await client.query('COMMIT');
        } finally {
          client.release();
        }
        await eventually(() => assert.deepEqual(heard, ['2,5']), { timeoutMs: 5000, intervalMs: 10 });
        const order = await seqs(written.map((e) => e.id));
        const bySeq = [...written].sort((x, y) => Number((order.get(x.id) ?? 0n) - (order.get(y.id) ?? 0n)));
        assert.deepEqual(
          bySeq.map((e) => e.id),
          written.map((e) => e.id),
          'seq follows the order the events were given',
        );
      } finally {
        await listener.end();
      }
    });

    /** Backends of this test database listening for outbox writes. */
    async function listeners(): Promise<number[]> {
      const { rows } = await postgres.pool.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid() AND query = 'LISTEN ${OUTBOX_CHANNEL}'`,
      );
      return rows.map((r) => r.pid);
    }

    it('a committed outbox write wakes an idle relay: published long before its next poll', async () => {
      // Polls an hour apart: only a notification can explain a publish within the test.
      const r = relay({ idleMs: 3_600_000, listenIdleMs: 3_600_000 });
      r.start();
      await eventually(() => assert.ok(r.listening()), { timeoutMs: 10_000, intervalMs: 10 });
      await sleep(200); // the pass that follows LISTEN is over: the relay is asleep
      for (let round = 0; round < 3; round++) {
        const written = await append(postgres.pool, createdThenChanged(thingId()));
        const ids = written.map((e) => e.id);
        await eventually(async () => assert.equal(await unpublished(ids), 0), { timeoutMs: 10_000, intervalMs: 10 });
      }
    });

    it('one notification for more rows than a batch: the passes follow at once until the lane is empty', async () => {
      // A productive pass that emptied its lanes waits for the next notification; one that left rows
      // (a full batch) must not, or the rest would wait for the hourly poll.
      const r = relay({ idleMs: 3_600_000, listenIdleMs: 3_600_000, batchSize: 2 });
      r.start();
      await eventually(() => assert.ok(r.listening()), { timeoutMs: 10_000, intervalMs: 10 });
      await sleep(200);
      const written = await append(postgres.pool, thingLife(thingId(4)));
      assert.equal(written.length, 6, 'three batches in one lane, one notification');
      const ids = written.map((e) => e.id);
      await eventually(async () => assert.equal(await unpublished(ids), 0), { timeoutMs: 10_000, intervalMs: 10 });
    });

    it('a write rolled back notifies nobody and publishes nothing', async () => {
      let published = 0;
      const counting = relay({ idleMs: 3_600_000, listenIdleMs: 3_600_000, onPublished: (n) => (published += n) });
      counting.start();
      await eventually(() => assert.ok(counting.listening()), { timeoutMs: 10_000, intervalMs: 10 });
      await sleep(200);
      const before = published;
      const client = await postgres.pool.connect();
      try {
        await client.query('BEGIN');
        await appendToOutbox(client, createdThenChanged(thingId()), CTX, REGISTRY);
        await client.query('ROLLBACK');
      } finally {
        client.release();
      }
      await sleep(500);
      assert.equal(published, before);
    });

    it('rows written without a notification are still found, by the slow poll', async () => {
      const r = relay({ idleMs: 3_600_000, listenIdleMs: 200 });
      r.start();
      await eventually(() => assert.ok(r.listening()), { timeoutMs: 10_000, intervalMs: 10 });
      await sleep(200);
      // Written by hand, as a writer that does not notify would: no pg_notify.
      const silent = envelope(createdThenChanged(thingId())[0] as DomainEvent, CTX);
      const id = silent.id;
      await postgres.pool.query(
        'INSERT INTO outbox (event_id, topic, aggregate_id, lane, envelope) VALUES ($1, $2, $3, $4, $5)',
        [id, silent.type, silent.subject, laneOf(silent.subject), JSON.stringify(silent)],
      );
      await eventually(async () => assert.equal(await unpublished([id]), 0), { timeoutMs: 10_000, intervalMs: 20 });
    });

    it('a cut LISTEN connection: the relay polls meanwhile, listens again, and is woken again', async () => {
      const errors: unknown[] = [];
      const r = relay({ idleMs: 20, listenIdleMs: 3_600_000, maxBackoffMs: 200, onError: (err) => errors.push(err) });
      r.start();
      await eventually(() => assert.ok(r.listening()), { timeoutMs: 10_000, intervalMs: 10 });
      const [first] = await listeners();
      assert.ok(first, 'the relay has a LISTEN connection');
      await postgres.pool.query('SELECT pg_terminate_backend($1)', [first]);
      await eventually(() => assert.match(String((errors[0] as Error)?.message), /LISTEN meridian_outbox lost/), {
        timeoutMs: 10_000,
        intervalMs: 10,
      });
      const during = await append(postgres.pool, createdThenChanged(thingId()));
      await eventually(async () => assert.equal(await unpublished(during.map((e) => e.id)), 0), {
        timeoutMs: 10_000,
        intervalMs: 10,
      });
      await eventually(
        async () => {
          assert.ok(r.listening());
          const now = await listeners();
          assert.equal(now.length, 1);
          assert.notEqual(now[0], first);
        },
        { timeoutMs: 10_000, intervalMs: 20 },
      );
      await sleep(200);
      const after = await append(postgres.pool, createdThenChanged(thingId()));
      await eventually(async () => assert.equal(await unpublished(after.map((e) => e.id)), 0), {
        timeoutMs: 10_000,
        intervalMs: 10,
      });
      await r.stop();
      // The server's backend ends a moment after the client closed its socket.
      await eventually(async () => assert.deepEqual(await listeners(), [], 'stop() closes the LISTEN connection'), {
        timeoutMs: 5_000,
      });
    });
  });
});
