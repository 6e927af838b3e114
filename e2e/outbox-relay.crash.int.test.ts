/**
 * Crash test of the outbox relay, east region, real processes: 250 orders are placed through
 * the region gateway (a region host started here WITHOUT its own relay) while two
 * `regions/outbox-relay/main.ts` children drain the outbox, and the test SIGKILLs and restarts
 * the children at random moments. The orders then go through payment (whose events need the
 * relay too). At the end every event of those orders is in Kafka exactly once and each order's
 * events are in seq order.
 *
 * The region and the relays use a database of their own (lanes are locked per database), and the
 * test samples the lane locks throughout: every lane holder must be one of its own relay
 * children — a relay it does not kill (say, an in-process one the host was told not to run)
 * would make the run prove nothing about crashes.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomInt, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Admin } from 'kafkajs';
import { COMMERCE_EVENTS } from '../domains/commerce/events.ts';
import { createKafka, type KafkaDependency } from '../infra/adapters/kafka.ts';
import type { Postgres } from '../infra/adapters/postgres.ts';
import { eventually, uniqueName } from '../infra/adapters/testing.ts';
import { type ScratchDatabase, scratchDatabase } from '../infra/commerce/scratch-database.testing.ts';
import { resolveEndpoints } from '../infra/config/endpoints.ts';
import { kafkaHeader } from '../infra/events/kafka-codec.ts';
import {
  LANE_LOCK_NAMESPACE,
  type PartitionRange,
  readPartitionRanges,
  type TopicOffsets,
} from '../infra/outbox/relay.ts';
import { DOMAINS } from '../regions/domains.ts';
import { east } from '../regions/east.ts';
import { type RunningRegion, startRegion } from '../regions/host/region-host.ts';
import { testIdentity, testRegionConfig } from '../regions/host/testing.ts';
import { gql, PLACE_ORDER } from './support/graphql-client.ts';

const RELAY_MAIN = fileURLToPath(new URL('../regions/outbox-relay/main.ts', import.meta.url));
const ORDERS = 250;
/** Orders written at once; each of their steps is its own transaction. */
const WAVE = 50;
const PAUSE_BETWEEN_WAVES_MS = 250;
const MIN_KILLS = 4;
const TENANT = 'relay-crash-test';
const TOPICS = Object.values(COMMERCE_EVENTS);

// ── orders ──────────────────────────────────────────────────────────────────────────────

/**
 * Places one order as a client should: an answer marked `retryable` (an inventory call past its
 * deadline while the machine is busy with the kills) is sent again with the same idempotency key.
 */
async function placeOrder(graphql: string, token: string, productId: string, paymentToken: string): Promise<string> {
  const input = { items: [{ productId, quantity: 1 }], idempotencyKey: randomUUID(), paymentToken };
  for (let attempt = 1; ; attempt++) {
    const res = await gql<{ placeOrder: { id: string } }>(
      graphql,
      PLACE_ORDER,
      { input },
      { authorization: `Bearer ${token}` },
    );
    const id = res.data?.placeOrder.id;
    if (id) return id;
    const retryable = res.errors?.every((e) => (e.extensions as { retryable?: boolean } | undefined)?.retryable);
    assert.ok(retryable && attempt < 5, JSON.stringify(res.errors));
    await sleep(200 * attempt);
  }
}

/** Places the orders through the gateway, WAVE at a time; one in five is declined (cancel + release). */
async function placeOrders(graphql: string, token: string, productId: string): Promise<string[]> {
  const ids: string[] = [];
  for (let first = 0; first < ORDERS; first += WAVE) {
    const wave = Array.from({ length: Math.min(WAVE, ORDERS - first) }, (_, i) =>
      placeOrder(graphql, token, productId, (first + i) % 5 === 0 ? 'tok_decline_crash' : 'tok_visa'),
    );
    ids.push(...(await Promise.all(wave)));
    await sleep(PAUSE_BETWEEN_WAVES_MS);
  }
  return ids;
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
  let scratch: ScratchDatabase;
  let env: Record<string, string | undefined>;
  const spawnedPids = new Set<number>();
  const laneHolders = new Map<string, number>();
  let kafka: KafkaDependency;
  let admin: Admin;
  let region: RunningRegion;
  let token: string;
  let productId: string;

  function startRelay(): Promise<RelayProcess> {
    const child = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', RELAY_MAIN, 'east'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
    });
    if (child.pid !== undefined) spawnedPids.add(child.pid);
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

  /** Records who holds each lane lock now (application names of the holding sessions). */
  async function sampleLaneHolders(): Promise<void> {
    const { rows } = await postgres.pool.query<{ name: string }>(
      `SELECT a.application_name AS name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
       WHERE l.locktype = 'advisory' AND l.classid = $1::int4::oid AND l.objsubid = 2 AND l.granted
         AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      [LANE_LOCK_NAMESPACE],
    );
    for (const r of rows) laneHolders.set(r.name, (laneHolders.get(r.name) ?? 0) + 1);
  }

  before(async () => {
    scratch = await scratchDatabase('relay_crash');
    postgres = scratch.postgres;
    env = { ...process.env, MERIDIAN_EAST_POSTGRES_URL: scratch.url };
    kafka = createKafka({ brokers: endpoints.kafkaBrokers, clientId: uniqueName('relay-crash-test') });
    admin = await kafka.admin();
    const identity = testIdentity();
    region = await startRegion(testRegionConfig(east, env), { identity, domains: DOMAINS, relay: false });
    token = (await identity.issuer?.issue({ sub: 'u-crash', tenant: TENANT, scopes: ['orders:write'] }))
      ?.access_token as string;
    productId = `p-zz-crash-${randomUUID().slice(0, 8)}`;
    await postgres.pool.query(
      "INSERT INTO products (id, sku, name, price_cents, stock) VALUES ($1, $1, 'crash test', 100, 100000)",
      [productId],
    );
  });

  after(async () => {
    // Whatever happened, no relay child outlives the test.
    await Promise.allSettled([...live].map(kill));
    await region?.stop();
    await kafka?.close();
    await scratch?.drop();
  });

  it('publishes 250 orders exactly once and in order while relays are killed and restarted', async (t) => {
    const t0 = Date.now();
    const since = await offsetsNow();
    await Promise.all([startRelay(), startRelay()]);

    const writing = { done: false };
    const chaosDone = chaos(writing);
    const sampling = (async () => {
      while (!writing.done) {
        await sampleLaneHolders();
        await sleep(100);
      }
    })();
    const orderIds = await placeOrders(`http://127.0.0.1:${region.gatewayPort}/graphql`, token, productId).finally(
      () => {
        writing.done = true;
      },
    );
    const kills = await chaosDone;
    await sampling;
    // Only this test's relay children held lanes: the host was told not to run a relay, and did not.
    const holders = [...laneHolders.keys()];
    assert.ok(holders.length >= 2, `lane locks were seen held (${holders.join(', ')})`);
    const foreign = holders.filter((name) => {
      const pid = Number(/^outbox-relay-east-.+-(\d+)$/.exec(name)?.[1]);
      return !spawnedPids.has(pid);
    });
    assert.deepEqual(foreign, [], 'every lane holder is a relay child of this test');
    // Payment needs order.created published, and its own events published after it.
    await eventually(
      async () => {
        const { rows } = await postgres.pool.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM orders WHERE id = ANY($1::uuid[]) AND status = 'PENDING'",
          [orderIds],
        );
        assert.equal(rows[0]?.n, 0, 'orders still PENDING');
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    const written = (
      await postgres.pool.query<{ id: string }>(
        'SELECT event_id::text AS id FROM outbox WHERE aggregate_id = ANY($1::text[]) ORDER BY seq',
        [orderIds],
      )
    ).rows;
    const ids = written.map((e) => e.id);
    t.diagnostic(
      `${orderIds.length} orders, ${written.length} events, ${kills} SIGKILLs, ${(Date.now() - t0) / 1000}s`,
    );

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
    assert.ok(Date.now() - t0 < 150_000, `took ${(Date.now() - t0) / 1000}s`);
  });
});
