/**
 * The failover drill, the design's playbook as one run: synthetic traffic through two edges;
 * the region taken down for real (its process SIGKILLed; with --hard its Kafka and PostgreSQL
 * stopped too); detection by the edges; the writer moved to the survivor (the drill's policy:
 * as soon as every edge sees the region down, as an operator would); traffic kept going; the
 * region restored; reconciliation awaited (its stuck outbox published, MirrorMaker 2 caught up,
 * both standby copies current); the writer moved back; invariants checked. It measures time to
 * detect, RTO, RPO, errors by operation and latency through it all.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createKafka, type KafkaDependency } from '../../infra/adapters/kafka.ts';
import { createPostgres, type Postgres } from '../../infra/adapters/postgres.ts';
import { type Region, resolveEndpoints } from '../../infra/config/endpoints.ts';
import { type GroupEnds, groupEnds, groupLag, runningGroups } from '../../infra/events/consumer-lag.ts';
import { WRITER_GROUP_PREFIX } from '../../infra/events/groups.ts';
import { down, up } from '../../infra/stack/stack.ts';
import { type Cluster, startCluster } from './cluster.ts';
import { checkInvariants } from './invariants.ts';
import { checkReplicatedWrites, prepareReplicatedWrites } from './replicated-writes.ts';
import { type DrillEvent, type DrillReport, errorsByOperation, latencyByOperation, timeline } from './report.ts';
import { startTraffic } from './traffic.ts';
import { until } from './until.ts';

export interface DrillOptions {
  readonly from: Region;
  readonly hard: boolean;
  /** Traffic before the failure, during the outage, and after failback, in seconds. */
  readonly warmupSeconds: number;
  readonly outageSeconds: number;
  readonly afterSeconds: number;
  readonly ordersPerSecond: number;
  readonly readsPerSecond: number;
  /** Chat messages and posts per second (0, the default: orders only). */
  readonly messagesPerSecond?: number;
  readonly postsPerSecond?: number;
  /**
   * Sabotage, to prove the invariants can fail: the restored region comes back without its
   * standby copy, so the orders the survivor took never reach it.
   */
  readonly breakReconciliation?: boolean;
  /** How long reconciliation may take before the drill moves on and judges; 180 s by default. */
  readonly reconcileTimeoutSeconds?: number;
  /**
   * How long the groups reconciliation measures may take to catch up with what they had not
   * consumed when the drill started, before the traffic starts anyway; 60 s by default.
   */
  readonly settleTimeoutSeconds?: number;
  readonly log: (line: string) => void;
}

const OPS = 'dev-ops-token';
const peerOf = (r: Region): Region => (r === 'east' ? 'west' : 'east');

/** Makes `to` the writer region through an edge (PUT /ops/writer); resolves with the new epoch. */
export async function moveWriter(cluster: Cluster, to: Region): Promise<number> {
  return until(
    `moving the writer to ${to}`,
    async () => {
      const res = await fetch(`${cluster.edges[0]?.url}/ops/writer`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${OPS}`, 'content-type': 'application/json' },
        body: JSON.stringify({ region: to }),
        signal: AbortSignal.timeout(3000),
      });
      // 409: an edge that had not heard of a newer lease learns it from the answer; try again.
      return res.ok ? ((await res.json()) as { epoch: number }).epoch : undefined;
    },
    30_000,
    200,
  );
}

/** Every edge's view of whether a region is routable. */
async function routableEverywhere(cluster: Cluster, region: Region): Promise<boolean[]> {
  return Promise.all(
    cluster.edges.map(async (e) => {
      const res = await fetch(`${e.url}/ops/regions`, {
        headers: { authorization: `Bearer ${OPS}` },
        signal: AbortSignal.timeout(1000),
      });
      return ((await res.json()) as { regions: Record<Region, { routable: boolean }> }).regions[region].routable;
    }),
  );
}

/**
 * The consumer groups of region `r` that copy the other region's work into it: standby orders,
 * chat history, posts and feeds. Named exactly: other groups share these prefixes (a test's own
 * projector group, MirrorMaker 2's copy of the peer's group offsets) and are nobody's to finish.
 */
const copyingGroups =
  (r: Region) =>
  (id: string): boolean =>
    (id.startsWith('commerce-standby-') && id.endsWith(`-${r}`)) ||
    id === `chat-replicator-${r}` ||
    id === `social-feed-projector-${r}`;

/** Where the work stood at a moment: each region's last outbox row and its groups' end offsets. */
interface Backlog {
  readonly outboxSeq: Record<Region, number>;
  readonly copies: Record<Region, GroupEnds>;
  readonly payments: GroupEnds;
}

/** The backlog at this moment (`writer`'s single-writer processor groups: the payment processor's). */
async function backlogNow(
  db: Record<Region, Postgres>,
  kafka: Record<Region, KafkaDependency>,
  writer: Region,
): Promise<Backlog> {
  const seq = async (r: Region) =>
    (await db[r].pool.query<{ n: number }>('SELECT coalesce(max(seq), 0)::int AS n FROM outbox')).rows[0]?.n ?? 0;
  return {
    outboxSeq: { east: await seq('east'), west: await seq('west') },
    copies: {
      east: await groupEnds(kafka.east, copyingGroups('east')),
      west: await groupEnds(kafka.west, copyingGroups('west')),
    },
    payments: await groupEnds(kafka[writer], WRITER_GROUP_PREFIX),
  };
}

/**
 * Both regions caught up: no unpublished outbox rows, every copy of the other region's work
 * current (standby orders, chat history, posts and feeds), and the
 * writer's payment processing (its own orders, and the peer's it took over) done — everything
 * there was at `upTo` when given (the traffic keeps coming while the drill waits: a processor
 * that keeps up is caught up even if it never shows a lag of exactly zero), else everything.
 */
async function reconciled(
  db: Record<Region, Postgres>,
  kafka: Record<Region, KafkaDependency>,
  writer: Region,
  upTo?: Backlog,
): Promise<boolean> {
  return (await notReconciled(db, kafka, writer, upTo)) === undefined;
}

/** What reconciliation still waits for (see `reconciled`), or undefined when nothing. */
async function notReconciled(
  db: Record<Region, Postgres>,
  kafka: Record<Region, KafkaDependency>,
  writer: Region,
  upTo?: Backlog,
): Promise<string | undefined> {
  const waiting: string[] = [];
  for (const r of ['east', 'west'] as const) {
    const { rows } = await db[r].pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL AND seq <= $1',
      [upTo?.outboxSeq[r] ?? Number.MAX_SAFE_INTEGER],
    );
    if ((rows[0]?.n ?? 1) > 0) waiting.push(`${r} outbox ${rows[0]?.n ?? '?'}`);
    const copies = await groupLag(kafka[r], copyingGroups(r), upTo?.copies[r]);
    for (const [g, n] of Object.entries(copies)) if (n > 0) waiting.push(`${g} ${n}`);
  }
  const payments = await groupLag(kafka[writer], WRITER_GROUP_PREFIX, upTo?.payments);
  for (const [g, n] of Object.entries(payments)) if (n > 0) waiting.push(`${g} (in ${writer}) ${n}`);
  return waiting.length > 0 ? waiting.join(', ') : undefined;
}

/**
 * The backlog the regions' running durable groups (`<…>-<region>` in the region's Kafka) have
 * when the drill starts: work done while these processes were not running (other regions'
 * traffic mirrored in, earlier runs, other tests). All of it is reported; the drill waits only
 * for the groups its reconciliation measures (the copies and the payment groups), so that
 * reconciliation counts the failure's own backlog, not one it found. The rest (device readings,
 * say) catches up while the drill runs, as it would in production.
 */
async function settleBefore(
  kafka: Record<Region, KafkaDependency>,
  timeoutMs: number,
): Promise<{ backlog: Record<Region, number>; largest: Array<[string, number]>; caughtUp: boolean }> {
  const groups = async (r: Region) => new Set(await runningGroups(kafka[r], (id) => id.endsWith(`-${r}`)));
  const running = { east: await groups('east'), west: await groups('west') };
  const selector = (r: Region) => (id: string) => running[r].has(id);
  const ends = {
    east: await groupEnds(kafka.east, selector('east')),
    west: await groupEnds(kafka.west, selector('west')),
  };
  const measured = (r: Region) => (id: string) =>
    running[r].has(id) && (copyingGroups(r)(id) || id.startsWith(WRITER_GROUP_PREFIX));
  const total = (lag: Record<string, number>) => Object.values(lag).reduce((a, b) => a + b, 0);
  const found = {
    east: await groupLag(kafka.east, selector('east'), ends.east),
    west: await groupLag(kafka.west, selector('west'), ends.west),
  };
  const caughtUp = await until(
    'catching up before the traffic',
    async () => {
      const lag = async (r: Region) => total(await groupLag(kafka[r], measured(r), ends[r]));
      return (await lag('east')) + (await lag('west')) === 0 ? true : undefined;
    },
    timeoutMs,
    500,
  ).catch(() => false);
  const largest = Object.entries({ ...found.east, ...found.west })
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3);
  return { backlog: { east: total(found.east), west: total(found.west) }, largest, caughtUp };
}

/** Runs one failover drill from `opts.from` and back; the report says whether every invariant held. */
export async function runFailoverDrill(opts: DrillOptions): Promise<DrillReport> {
  const { from, log } = opts;
  const to = peerOf(from);
  const startedAt = new Date().toISOString();
  log(`drill: failover ${from} → ${to} (${opts.hard ? 'hard' : 'soft'})`);
  await up(process.env, () => {});
  const db = {
    east: createPostgres({ url: resolveEndpoints('east', process.env).postgresUrl, applicationName: 'drill' }),
    west: createPostgres({ url: resolveEndpoints('west', process.env).postgresUrl, applicationName: 'drill' }),
  };
  const kafka = {
    east: createKafka({ brokers: resolveEndpoints('east', process.env).kafkaBrokers, clientId: 'drill' }),
    west: createKafka({ brokers: resolveEndpoints('west', process.env).kafkaBrokers, clientId: 'drill' }),
  };
  const run = randomUUID().slice(0, 8);
  const tenant = `drill-${run}`;
  const productId = `p-drill-${run}`;
  // The regions migrate their databases as they start; the product goes in after that (on a
  // fresh stack the tables do not exist before the first region process ran).
  const cluster = await startCluster({ log });
  const events: DrillEvent[] = [];
  let t0 = performance.now();
  const now = () => Math.round(performance.now() - t0);
  const mark = (label: string) => {
    events.push({ at: now(), label });
    log(`drill: +${(now() / 1000).toFixed(1)}s ${label}`);
  };
  try {
    for (const r of ['east', 'west'] as const) {
      await db[r].pool.query(
        "INSERT INTO products (id, sku, name, price_cents, stock) VALUES ($1, $1, 'drill product', 100, 1000000)",
        [productId],
      );
    }
    // Start from the region under test as the writer, whatever an earlier run left.
    await moveWriter(cluster, from);
    const tSettle = performance.now();
    const settled = await settleBefore(kafka, (opts.settleTimeoutSeconds ?? 60) * 1000);
    const settleMs = Math.round(performance.now() - tSettle);
    log(
      `drill: backlog found: east ${settled.backlog.east}, west ${settled.backlog.west} records` +
        (settled.largest.length ? ` (${settled.largest.map(([g, n]) => `${g} ${n}`).join(', ')}); ` : '; ') +
        (settled.caughtUp
          ? `reconciliation's groups caught up in ${settleMs} ms`
          : `reconciliation's groups not caught up in ${settleMs} ms, starting anyway`),
    );
    const clients = await Promise.all(
      [1, 2, 3, 4].map(async (i) => {
        const userId = `drill-user-${i}`;
        const res = await fetch(`${cluster.regions[to].gatewayUrl}/auth/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ sub: userId, tenant, scopes: ['orders:write', 'orders:read'] }),
        });
        return { userId, token: ((await res.json()) as { access_token: string }).access_token };
      }),
    );
    const tokens = clients.map((c) => c.token);
    const gateways = { east: cluster.regions.east.gatewayUrl, west: cluster.regions.west.gatewayUrl };
    const others = (opts.messagesPerSecond ?? 0) + (opts.postsPerSecond ?? 0) > 0;
    const room = others ? await prepareReplicatedWrites(gateways, from, clients) : undefined;
    t0 = performance.now();
    const traffic = startTraffic({
      edges: cluster.edges,
      tokens,
      productId,
      ordersPerSecond: opts.ordersPerSecond,
      readsPerSecond: opts.readsPerSecond,
      chatRoomId: room?.roomId,
      messagesPerSecond: opts.messagesPerSecond,
      postsPerSecond: opts.postsPerSecond,
      now,
    });
    mark('traffic started');
    await sleep(opts.warmupSeconds * 1000);

    // ── failure ────────────────────────────────────────────────────────────────────
    await cluster.killRegion(from);
    if (opts.hard) await down(process.env, () => {}, [`kafka-${from}`, `postgres-${from}`]);
    const tFail = now();
    mark(
      `${from} down (${opts.hard ? 'region process SIGKILLed, Kafka and PostgreSQL stopped' : 'region process SIGKILLed'})`,
    );
    await until(
      `every edge seeing ${from} down`,
      async () => ((await routableEverywhere(cluster, from)).every((r) => !r) ? true : undefined),
      30_000,
    );
    const tDetect = now();
    mark('detected by every edge');
    const epoch = await moveWriter(cluster, to);
    mark(`writer moved to ${to} (epoch ${epoch})`);
    // RPO: what clients were told before the failure that the survivor had not seen when it took over.
    const before = traffic.acknowledged.filter((a) => a.at <= tFail);
    const { rows } = await db[to].pool.query<{ id: string }>('SELECT id::text FROM orders WHERE id = ANY($1::uuid[])', [
      before.map((a) => a.orderId),
    ]);
    const seen = new Set(rows.map((r) => r.id));
    const unseen = before.filter((a) => !seen.has(a.orderId));
    await sleep(opts.outageSeconds * 1000);

    // ── return ─────────────────────────────────────────────────────────────────────
    if (opts.hard) await up(process.env, () => {}, [`kafka-${from}`, `postgres-${from}`]);
    await cluster.startRegion(
      from,
      opts.breakReconciliation ? { [`MERIDIAN_${from.toUpperCase()}_COMMERCE_STANDBY`]: 'off' } : {},
    );
    mark(`${from} back${opts.breakReconciliation ? ' (sabotaged: no standby copy)' : ''}`);
    let reconcileMs: number | null = null;
    try {
      const timeout = (opts.reconcileTimeoutSeconds ?? 180) * 1000;
      // Caught up with everything up to the region's return (the outage's backlog); what the
      // continuing traffic adds meanwhile is the normal flow, checked again once it stops.
      const atReturn = await backlogNow(db, kafka, to);
      let said = performance.now();
      await until(
        'reconciliation',
        async () => {
          const waiting = await notReconciled(db, kafka, to, atReturn);
          if (waiting === undefined) return true;
          // What it still waits for, every 5 s (the console shows the drill's lines as they come).
          if (performance.now() - said >= 5000) {
            said = performance.now();
            log(`drill: +${(now() / 1000).toFixed(1)}s reconciling: ${waiting}`);
          }
          return undefined;
        },
        timeout,
        500,
      );
      reconcileMs = now() - tFail;
      mark('reconciled');
    } catch (err) {
      mark((err as Error).message);
    }
    await moveWriter(cluster, from);
    mark(`writer back to ${from}`);
    await sleep(opts.afterSeconds * 1000);
    await traffic.stop(30_000);
    mark('traffic stopped');
    // Let the last orders settle everywhere before judging: caught up, and none of the drill's
    // orders still PENDING in either region (an order the old writer took during reconciliation
    // may still be with its payment processor after the move back: its lag is in the other
    // region's Kafka). An order that never settles is judged once this runs out.
    const settle = (opts.reconcileTimeoutSeconds ?? 180) * 1000;
    const pendingOrders = async () => {
      let n = 0;
      for (const r of ['east', 'west'] as const) {
        const { rows } = await db[r].pool.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM orders WHERE tenant = $1 AND status = 'PENDING'",
          [tenant],
        );
        n += rows[0]?.n ?? 0;
      }
      return n;
    };
    await until(
      'settling',
      async () => ((await reconciled(db, kafka, from)) && (await pendingOrders()) === 0 ? true : undefined),
      settle,
      500,
    ).catch(() => {});
    const ackedAfter = traffic.acknowledged.filter((a) => a.at > tFail);
    const invariants = await checkInvariants({
      db: { east: db.east.pool, west: db.west.pool },
      tenant,
      productId,
      acknowledged: traffic.acknowledged,
    });
    if (room)
      invariants.push(
        ...(await checkReplicatedWrites({
          gateways,
          roomId: room.roomId,
          token: tokens[0] as string,
          messages: traffic.messages,
          posts: traffic.posts,
          timeoutMs: 30_000,
        })),
      );
    const seconds = Math.ceil(now() / 1000);
    return {
      drill: 'failover',
      from,
      to,
      mode: opts.hard ? 'hard' : 'soft',
      startedAt,
      ok: invariants.every((i) => i.ok),
      measurements: {
        timeToDetectMs: tDetect - tFail,
        rtoMs: ackedAfter.length ? Math.min(...ackedAfter.map((a) => a.at)) - tFail : null,
        rpoOrders: unseen.length,
        rpoWindowMs: unseen.length ? tFail - Math.min(...unseen.map((a) => a.at)) : 0,
        reconcileMs,
        backlogAtStart: settled.backlog,
        settleMs: settled.caughtUp ? settleMs : null,
        acknowledgedOrders: traffic.acknowledged.length,
        acknowledgedMessages: traffic.messages.length,
        acknowledgedPosts: traffic.posts.length,
      },
      errorsByOperation: errorsByOperation(traffic.attempts),
      latency: latencyByOperation(traffic.attempts),
      events,
      timeline: timeline(traffic.attempts, seconds),
      invariants,
    };
  } finally {
    await cluster.stop();
    if (opts.hard) await up(process.env, () => {}).catch(() => {});
    await Promise.allSettled([db.east.close(), db.west.close(), kafka.east.close(), kafka.west.close()]);
  }
}
