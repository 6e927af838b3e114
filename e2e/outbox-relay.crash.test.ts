/**
 * Crash test of the outbox relay, east region, real processes: two `regions/outbox-relay/main.ts`
 * children drain the region's outbox while 1,000 orders are written (two or three events each,
 * one transaction per event, many orders at a time) and the test SIGKILLs and restarts the
 * children at random moments. At the end every event is in Kafka exactly once and each order's
 * events are in seq order. Any other relay running against the region (a started region host)
 * simply joins in: the guarantees are the same whoever publishes.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomInt, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Admin } from 'kafkajs';
import { COMMERCE_EVENTS, type DomainEvent, domainEvent } from '../domains/commerce/events.ts';
import { createKafka, type KafkaDependency } from '../infra/adapters/kafka.ts';
import { createPostgres, type Postgres } from '../infra/adapters/postgres.ts';
import { eventually, uniqueName } from '../infra/adapters/testing.ts';
import { resolveEndpoints } from '../infra/config/endpoints.ts';
import type { Envelope } from '../infra/events/envelope.ts';
import { kafkaHeader } from '../infra/events/kafka-codec.ts';
import { appendToOutbox } from '../infra/events/outbox.ts';
import { type PartitionRange, readPartitionRanges, type TopicOffsets } from '../infra/outbox/relay.ts';
import { migrate } from '../infra/postgres/migrate.ts';

const RELAY_MAIN = fileURLToPath(new URL('../regions/outbox-relay/main.ts', import.meta.url));
const ORDERS = 1000;
/** Orders written at once; each of their steps is its own transaction. */
const WAVE = 50;
const PAUSE_BETWEEN_WAVES_MS = 250;
const MIN_KILLS = 4;
const TENANT = 'relay-crash-test';
const CTX = { region: 'east', service: 'outbox-relay-crash-test' };
const TOPICS = [
  COMMERCE_EVENTS.orderCreated,
  COMMERCE_EVENTS.paymentAuthorized,
  COMMERCE_EVENTS.orderConfirmed,
  COMMERCE_EVENTS.orderCancelled,
];

// ── orders ──────────────────────────────────────────────────────────────────────────────

/** created → confirmed, created → authorized → confirmed, or created → cancelled. */
function orderLife(id: string): DomainEvent[] {
  const userId = 'u-crash-test';
  const created = domainEvent(COMMERCE_EVENTS.orderCreated, id, TENANT, {
    orderId: id,
    userId,
    status: 'PENDING',
    items: [{ productId: 'p-mouse', quantity: 1, unitPriceCents: 4900 }],
    totalCents: 4900,
    currency: 'USD',
    paymentToken: 'tok_crash_test',
    version: 1,
  });
  const confirmed = domainEvent(COMMERCE_EVENTS.orderConfirmed, id, TENANT, {
    orderId: id,
    userId,
    status: 'CONFIRMED',
    version: 2,
  });
  const shape = randomInt(0, 4);
  if (shape === 0) {
    const reason = 'payment declined';
    return [
      created,
      domainEvent(COMMERCE_EVENTS.orderCancelled, id, TENANT, {
        orderId: id,
        userId,
        status: 'CANCELLED',
        reason,
        version: 2,
      }),
    ];
  }
  if (shape === 1) {
    const auth = { orderId: id, authorizationId: `auth-${id}`, amountCents: 4900, currency: 'USD' };
    return [created, domainEvent(COMMERCE_EVENTS.paymentAuthorized, id, TENANT, auth), confirmed];
  }
  return [created, confirmed];
}

async function appendOne(postgres: Postgres, event: DomainEvent): Promise<Envelope> {
  const client = await postgres.pool.connect();
  try {
    await client.query('BEGIN');
    const [envelope] = await appendToOutbox(client, [event], CTX);
    await client.query('COMMIT');
    assert.ok(envelope);
    return envelope;
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  } finally {
    client.release();
  }
}

/** Writes the orders a wave at a time: every order's step 1, then step 2, then step 3, concurrently. */
async function writeOrders(postgres: Postgres, written: Envelope[]): Promise<void> {
  for (let first = 0; first < ORDERS; first += WAVE) {
    const lives = Array.from({ length: Math.min(WAVE, ORDERS - first) }, () => orderLife(randomUUID()));
    for (let step = 0; step < 3; step++) {
      const due = lives.flatMap((l) => l.slice(step, step + 1));
      written.push(...(await Promise.all(due.map((e) => appendOne(postgres, e)))));
    }
    await sleep(PAUSE_BETWEEN_WAVES_MS);
  }
}

// ── relay processes ─────────────────────────────────────────────────────────────────────

interface RelayProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
}

describe('outbox relay processes under SIGKILL (east)', () => {
  const endpoints = resolveEndpoints('east', process.env);
  const live = new Set<RelayProcess>();
  const output: string[] = [];
  let postgres: Postgres;
  let kafka: KafkaDependency;
  let admin: Admin;

  function startRelay(): Promise<RelayProcess> {
    const child = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', RELAY_MAIN, 'east'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const relay = { child, exited };
    live.add(relay);
    void exited.then(() => live.delete(relay));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('relay did not start within 20 s')), 20_000);
      const onLine = (chunk: Buffer) => {
        for (const line of chunk.toString().split('\n').filter(Boolean)) {
          output.push(`[${child.pid}] ${line}`);
          if (line.includes(': started as ')) {
            clearTimeout(timer);
            resolve(relay);
          }
        }
      };
      child.stdout?.on('data', onLine);
      child.stderr?.on('data', onLine);
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`relay exited with ${code} before it started:\n${output.slice(-5).join('\n')}`));
      });
    });
  }

  async function kill(relay: RelayProcess): Promise<void> {
    relay.child.kill('SIGKILL');
    await relay.exited;
  }

  /** Kills a random relay and starts a new one, at random moments, until told to stop. */
  async function chaos(writing: { done: boolean }): Promise<number> {
    let kills = 0;
    while (!writing.done || kills < MIN_KILLS) {
      await sleep(randomInt(300, 1200));
      const victims = [...live];
      const victim = victims[randomInt(0, victims.length)];
      if (victim === undefined) break;
      await kill(victim);
      kills++;
      await startRelay();
    }
    return kills;
  }

  async function offsetsNow(): Promise<TopicOffsets> {
    const existing = new Set(await admin.listTopics());
    const out: TopicOffsets = {};
    for (const topic of TOPICS) {
      const partitions = existing.has(topic) ? await admin.fetchTopicOffsets(topic) : [];
      out[topic] = Object.fromEntries(partitions.map((p) => [String(p.partition), p.high]));
    }
    return out;
  }

  before(async () => {
    postgres = createPostgres({ url: endpoints.postgresUrl, maxConnections: 20, applicationName: 'relay-crash-test' });
    await migrate(postgres.pool);
    kafka = createKafka({ brokers: endpoints.kafkaBrokers, clientId: uniqueName('relay-crash-test') });
    admin = await kafka.admin();
  });

  after(async () => {
    // Whatever happened, no relay child outlives the test.
    await Promise.allSettled([...live].map(kill));
    await kafka?.close();
    await postgres?.close();
  });

  it('publishes 1,000 orders exactly once and in order while relays are killed and restarted', async (t) => {
    const t0 = Date.now();
    const since = await offsetsNow();
    await Promise.all([startRelay(), startRelay()]);

    const written: Envelope[] = [];
    const writing = { done: false };
    const chaosDone = chaos(writing);
    await writeOrders(postgres, written).finally(() => {
      writing.done = true;
    });
    const kills = await chaosDone;
    const ids = written.map((e) => e.id);
    t.diagnostic(`${written.length} events written, ${kills} SIGKILLs, ${(Date.now() - t0) / 1000}s`);

    await eventually(
      async () => {
        const { rows } = await postgres.pool.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM outbox WHERE event_id = ANY($1::uuid[]) AND published_at IS NULL',
          [ids],
        );
        assert.equal(rows[0]?.n, 0, 'unpublished rows left');
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    t.diagnostic(`all published after ${(Date.now() - t0) / 1000}s`);

    // Read every partition from the offsets before the test to the current end. The relay's range reader
    // only forwards what is in range (relay.test.ts checks the relay with a reader of its own).
    const ends = await offsetsNow();
    const ranges: PartitionRange[] = [];
    for (const [topic, partitions] of Object.entries(ends)) {
      for (const [partition, to] of Object.entries(partitions)) {
        const from = since[topic]?.[partition] ?? '0';
        if (BigInt(to) > BigInt(from)) ranges.push({ topic, partition: Number(partition), from, to });
      }
    }
    const wanted = new Set(ids);
    const seen: Array<{ id: string; key: string; timestamp: number }> = [];
    const groupId = uniqueName('relay-crash-test-reader');
    await readPartitionRanges(kafka.kafka, groupId, ranges, (_topic, m) => {
      const id = kafkaHeader(m.headers, 'ce_id');
      if (id !== undefined && wanted.has(id)) {
        seen.push({ id, key: m.key?.toString() ?? '', timestamp: Number(m.timestamp) });
      }
    });
    await admin.deleteGroups([groupId]).catch(() => {});

    const count = new Map<string, number>();
    for (const s of seen) count.set(s.id, (count.get(s.id) ?? 0) + 1);
    const missing = ids.filter((id) => !count.has(id));
    const duplicated = [...count].filter(([, n]) => n > 1).map(([id]) => id);
    assert.deepEqual({ missing: missing.length, duplicated: duplicated.length }, { missing: 0, duplicated: 0 });
    assert.equal(seen.length, written.length);

    // Per order, in seq order (the order written): each event was sent after the previous one was acked.
    const { rows } = await postgres.pool.query<{ id: string; seq: string }>(
      'SELECT event_id::text AS id, seq::text AS seq FROM outbox WHERE event_id = ANY($1::uuid[])',
      [ids],
    );
    const seqOf = new Map(rows.map((r) => [r.id, BigInt(r.seq)]));
    const byOrder = new Map<string, typeof seen>();
    for (const s of seen) byOrder.set(s.key, [...(byOrder.get(s.key) ?? []), s]);
    assert.equal(byOrder.size, ORDERS);
    for (const [order, events] of byOrder) {
      const inSeq = [...events].sort((a, b) => Number((seqOf.get(a.id) ?? 0n) - (seqOf.get(b.id) ?? 0n)));
      for (let i = 1; i < inSeq.length; i++) {
        const [prev, next] = [inSeq[i - 1], inSeq[i]];
        assert.ok(prev && next && next.timestamp >= prev.timestamp, `order ${order}: event ${i} was sent too early`);
      }
    }

    const reconciled = output.filter((line) => line.includes(' reconciled, '));
    t.diagnostic(
      `${reconciled.length} in-flight batch(es) reconciled after kills: ${reconciled.slice(0, 5).join(' | ')}`,
    );

    // The survivors stop cleanly on SIGTERM.
    const survivors = [...live];
    for (const relay of survivors) relay.child.kill('SIGTERM');
    const codes = await Promise.all(survivors.map((r) => r.exited));
    assert.deepEqual(
      codes,
      survivors.map(() => 0),
    );
    assert.ok(Date.now() - t0 < 90_000, `took ${(Date.now() - t0) / 1000}s`);
  });
});
