/**
 * The MQTT → Kafka bridge of one region: `connections` members of the broker's shared
 * subscription (`$share/meridian-bridge/devices/+/…`), each message validated against its
 * event's JSON Schema and produced to Kafka (key: the device), and acknowledged to the broker
 * only after Kafka acknowledged it (acks=all). Nothing the broker handed us is acknowledged
 * before it is in Kafka or, if refused, in the dead-letter topic with the reason (and the
 * device told on `devices/<id>/commands/rejected`).
 *
 * One pipeline per process batches what all its connections received: decide order (the
 * shared gate: a device's messages reach Kafka in `seq` order even when they come through
 * different members or processes), produce the batch (retried until Kafka takes it), settle the
 * gate, then write the PUBACKs. The next batch is decided while Kafka takes this one (the gate
 * counts this batch's numbers as settled without recording anything for them) and produced after
 * it. Throughput comes from batching, that overlap, and more connections and processes; each
 * connection keeps up to `receiveMaximum` messages in flight.
 *
 * Run it in a region process (module service) or alone (`bridges/mqtt/main.ts <region>`), as
 * many processes as needed: each needs a stable `instance` name, which fixes its client ids so
 * a restarted process resumes its sessions (and what the broker queued for them).
 */
import type { Producer } from 'kafkajs';
import type { SequenceGate } from '../../domains/iot/ports.ts';
import type { SequenceDecision, SequenceItem } from '../../domains/iot/sequence.ts';
import type { RejectionNotice } from '../../domains/iot/telemetry.ts';
import { BRIDGE_SUBSCRIPTIONS } from '../../domains/iot/topics.ts';
import { resolvesWithin, withTimeout } from '../../infra/adapters/dependency.ts';
import type { KafkaDependency } from '../../infra/adapters/kafka.ts';
import { dlqTopic } from '../../infra/events/consumer.ts';
import { structuredHeaders } from '../../infra/events/kafka-codec.ts';
import { type EventRegistry, eventRegistry } from '../../infra/events/registry.ts';
import { type SpanOptions, tracingOn, withTelemetry } from '../../infra/telemetry/context.ts';
import { type BridgeConnection, type Incoming, openBridgeConnection } from './connection.ts';
import { type Ingested, ingest } from './ingest.ts';
import { watchTrouble } from './trouble-watch.ts';

export interface MqttBridgeConfig {
  readonly region: string;
  /** The broker URL with the bridge user's credentials. */
  readonly mqttUrl: string;
  /** Stable across restarts (client ids are `meridian-bridge-<region>-<instance>-<n>`). */
  readonly instance: string;
  readonly connections: number;
  readonly sessionExpirySeconds?: number;
  readonly receiveMaximum?: number;
  /** Most messages per cycle. */
  readonly maxBatch?: number;
  /** Most bytes (values and headers) per Kafka produce request; a cycle sends as many as it needs. */
  readonly maxRequestBytes?: number;
  /**
   * How long a device's message waits for a missing predecessor (while Kafka and Redis are up)
   * before it goes on without it (30 s). Order holds when a killed bridge process is back within
   * this time (its sessions hold the predecessors); a device that skips a number waits this long once.
   */
  readonly gapWaitMs?: number;
  /** How long stop() tries to finish what it holds before leaving it to the broker. */
  readonly stopTimeoutMs?: number;
}

export interface MqttBridgeDeps {
  readonly kafka: KafkaDependency;
  readonly gate: SequenceGate;
  readonly registry?: EventRegistry;
  readonly log?: (line: string) => void;
}

export interface BridgeStats {
  received: number;
  produced: number;
  deadLettered: number;
  duplicates: number;
  late: number;
  acked: number;
  kafkaRetries: number;
  /** Cycles, and the Kafka produce requests they made. */
  batches: number;
  requests: number;
  /** Time spent (ms) in the ordering gate, producing to Kafka, and the whole cycles. */
  gateMs: number;
  produceMs: number;
  cycleMs: number;
}

export interface MqttBridge {
  readonly name: string;
  start(): Promise<void>;
  /** Leaves the shared subscription, finishes what it holds, ends its sessions. */
  stop(): Promise<void>;
  /** For /ready. */
  check(): Promise<string>;
  readonly stats: Readonly<BridgeStats>;
  /** Messages received and not yet acknowledged. */
  readonly pending: number;
}

interface Item {
  readonly conn: BridgeConnection;
  readonly message: Incoming;
  readonly ingested: Ingested;
  /** The event as the Kafka record's value, made on arrival (off the cycle's path). */
  readonly value?: string;
  /** When it arrived (a message still waiting a second later has Kafka watched, see trouble-watch.ts). */
  readonly arrivedAt: number;
  /** When it became the first waiting message of its device (its wait for a predecessor counts from then). */
  headSince?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The CONSUMER span of a message's receive (OTel messaging conventions; MQTT has no instrumentation). */
function receiveSpan(message: Incoming): SpanOptions {
  const kind = message.topic.slice(message.topic.lastIndexOf('/') + 1);
  return {
    name: `process devices/${kind}`,
    kind: 'consumer',
    preferTraceparent: true,
    attributes: {
      'messaging.system': 'mqtt',
      'messaging.operation.type': 'process',
      'messaging.destination.template': `devices/{tenant}/{device}/${kind}`,
      'messaging.message.id': message.messageId,
    },
  };
}

/** The gate's view of a telemetry item: accepted or refused, a numbered message takes its turn. */
function sequenceOf(item: Item): SequenceItem | undefined {
  const r = item.ingested;
  if (r.ok) return r.sequence;
  return r.sequence && { ...r.sequence, redelivered: item.message.dup };
}

interface KafkaRecord {
  readonly topic: string;
  readonly message: { key: string | null; value: Buffer | string; headers: Record<string, string> };
}

/** A record's size as far as the request limit goes: key, value and headers. */
function recordBytes(r: KafkaRecord): number {
  let n = Buffer.byteLength(r.message.value) + (r.message.key?.length ?? 0) + 16;
  for (const [k, v] of Object.entries(r.message.headers)) n += k.length + v.length + 4;
  return n;
}

/** Splits records, in order, into runs of at most `max` bytes (a larger record goes alone). */
export function byteChunks(records: readonly KafkaRecord[], max: number): KafkaRecord[][] {
  const chunks: KafkaRecord[][] = [];
  let chunk: KafkaRecord[] = [];
  let bytes = 0;
  for (const r of records) {
    const n = recordBytes(r);
    if (chunk.length && bytes + n > max) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(r);
    bytes += n;
  }
  if (chunk.length) chunks.push(chunk);
  return chunks;
}

/** Client id of connection `n` of an instance. */
export function bridgeClientId(region: string, instance: string, n: number): string {
  return `meridian-bridge-${region}-${instance}-${n}`;
}

export function createMqttBridge(config: MqttBridgeConfig, deps: MqttBridgeDeps): MqttBridge {
  const registry = deps.registry ?? eventRegistry();
  const log = deps.log ?? (() => {});
  const maxBatch = config.maxBatch ?? 2000;
  const maxRequestBytes = config.maxRequestBytes ?? 900 * 1024;
  const gapWaitMs = config.gapWaitMs ?? 30_000;
  const stats: BridgeStats = {
    received: 0,
    produced: 0,
    deadLettered: 0,
    duplicates: 0,
    late: 0,
    acked: 0,
    kafkaRetries: 0,
    batches: 0,
    requests: 0,
    gateMs: 0,
    produceMs: 0,
    cycleMs: 0,
  };
  /** Runs `work`, adding its duration to a stats field. */
  async function timed<T>(field: 'gateMs' | 'produceMs', work: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await work();
    } finally {
      stats[field] += performance.now() - t0;
    }
  }
  const incoming: Item[] = [];
  /**
   * Backpressure on the broker (see connection.ts): each connection stops taking packets while it
   * has its share of two cycles waiting in `incoming`. Per connection, so that none is starved: a
   * device's next reading may sit unread in any of them, and the others' readings wait for it.
   */
  const intakeLimit = Math.max(1, Math.ceil((2 * maxBatch) / Math.max(1, config.connections)));
  const intake = new Map<BridgeConnection, number>();
  /** Messages waiting for a predecessor, by device. */
  const waiting = new Map<string, Item[]>();
  let waitingCount = 0;
  let wake: (() => void) | undefined;
  let running = false;
  let loop: Promise<void> | undefined;
  let producer: Producer | undefined;
  let inFlight = 0;
  /** Produced, not yet settled and acknowledged. */
  let settling = 0;
  let forceGo = false;
  /** Stopping took too long (Kafka away): give up, leave the unacknowledged with the sessions. */
  let aborted = false;
  let abort: () => void = () => {};
  const abandoned = new Promise<never>((_, reject) => {
    abort = () => reject(new Error('bridge stopped before Kafka took the batch'));
  });
  abandoned.catch(() => {});

  const connections: BridgeConnection[] = Array.from({ length: config.connections }, (_, n) =>
    openBridgeConnection({
      url: config.mqttUrl,
      clientId: bridgeClientId(config.region, config.instance, n),
      subscriptions: BRIDGE_SUBSCRIPTIONS,
      sessionExpirySeconds: config.sessionExpirySeconds ?? 7 * 24 * 3600,
      receiveMaximum: config.receiveMaximum ?? 1000,
      log,
      onMessage: (message) => onMessage(connections[n] as BridgeConnection, message),
      holdBack: (): boolean => (intake.get(connections[n] as BridgeConnection) ?? 0) >= intakeLimit,
    }),
  );

  function onMessage(conn: BridgeConnection, message: Incoming) {
    stats.received++;
    const ctx = {
      region: config.region,
      registry,
      redelivered: message.dup,
      receivedAt: new Date().toISOString(),
      traceparent: message.traceparent,
    };
    // OTel has no MQTT instrumentation: the receive is a CONSUMER span of its own (messaging
    // conventions), a child of the device's trace when it sent one, and the event it makes
    // carries a creation span under it. Without the SDK both would be no-ops: the event's
    // traceparent is then a child of the device's made by hand (messageTraceparent).
    const ingested = tracingOn()
      ? withTelemetry(
          { traceparent: message.traceparent },
          () => ingest(message.topic, message.payload, ctx),
          receiveSpan(message),
        )
      : ingest(message.topic, message.payload, ctx);
    intake.set(conn, (intake.get(conn) ?? 0) + 1);
    incoming.push({
      conn,
      message,
      ingested,
      arrivedAt: Date.now(),
      ...(ingested.ok ? { value: JSON.stringify(ingested.envelope) } : {}),
    });
    wake?.();
  }

  /** Runs `work` until it succeeds (Kafka or Redis away: keep holding, never drop). */
  async function untilDone<T>(what: string, work: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      if (aborted) throw new Error('bridge stopped before Kafka took the batch');
      try {
        // A stop that gives up does not wait for a connect attempt to time out.
        return await Promise.race([work(), abandoned]);
      } catch (err) {
        trouble.saw();
        if (attempt % 10 === 0)
          log(`mqtt bridge ${config.region}: ${what} failed, retrying: ${(err as Error).message}`);
        if (what === 'produce') {
          stats.kafkaRetries++;
          // A producer that lost its broker mid-flight may be stuck: start over with a fresh one.
          if (attempt > 0 && attempt % 5 === 0) {
            await producer?.disconnect().catch(() => {});
            producer = undefined;
          }
        }
        await sleep(Math.min(2000, 100 * 2 ** Math.min(attempt, 5)));
      }
    }
  }

  function notice(item: Item, r: Extract<Ingested, { ok: false }>, lastAccepted?: number) {
    if (!r.noticeTopic) return;
    const body: RejectionNotice = {
      topic: item.message.topic,
      code: r.code,
      reason: r.reason,
      seq: r.sequence?.seq ?? null,
      ...(lastAccepted !== undefined ? { lastAccepted } : {}),
    };
    item.conn.publish(r.noticeTopic, JSON.stringify(body));
  }

  function dlqRecord(item: Item, code: string, reason: string, type: string, key: string | undefined) {
    return {
      topic: dlqTopic(type),
      message: {
        key: key ?? null,
        value: item.message.payload,
        headers: {
          'dlq-reason': `${code}: ${reason}`.slice(0, 1000),
          'dlq-consumer': `mqtt-bridge-${config.region}`,
          'dlq-time': new Date().toISOString(),
          'mqtt-topic': item.message.topic.slice(0, 500),
        },
      },
    };
  }

  /** Whether Kafka answers a metadata request now. */
  async function kafkaAnswers(): Promise<boolean> {
    try {
      await withTimeout(deps.kafka.ping(), 2000, 'kafka ping');
      return true;
    } catch {
      return false;
    }
  }

  /** Last time Kafka or Redis failed: waiting for a predecessor counts only while both work. */
  const trouble = watchTrouble({
    answers: kafkaAnswers,
    needed: () => {
      if (forceGo) return false;
      const now = Date.now();
      for (const items of waiting.values()) if (items.some((item) => now - item.arrivedAt > 1000)) return true;
      return false;
    },
  });

  const seqOf = (item: Item) => (sequenceOf(item) as SequenceItem).seq;
  const bySeq = (a: Item, b: Item) => seqOf(a) - seqOf(b);

  /** Puts messages that must wait for a predecessor with their device's other waiting ones. */
  function hold(items: readonly Item[]) {
    for (const item of items) {
      const key = (sequenceOf(item) as SequenceItem).key;
      const list = waiting.get(key);
      if (list) list.push(item);
      else waiting.set(key, [item]);
      waitingCount++;
    }
  }

  /**
   * Takes out of `waiting`, for each device, the run of consecutive numbers from its first waiting
   * message: only those can go in the next cycle (the rest still miss a number another member
   * holds, so deciding them again would only say wait). They are decided with the cycle's new
   * messages in one gate call; a run whose first message still waits comes back. With the shared
   * subscription handing a device's messages to members in turn, a member holds every other
   * number of a busy device; taking all of them back each cycle made each cycle's gate work grow
   * with everything held. Before that, a device whose first message waited `gapWaitMs` of healthy
   * time gives up on the missing numbers.
   */
  async function release(): Promise<Item[]> {
    if (waitingCount === 0) return [];
    const heads: Item[] = [];
    for (const list of waiting.values()) {
      list.sort(bySeq);
      heads.push(list[0] as Item);
    }
    const expired = (item: Item) => {
      item.headSince ??= Date.now();
      return Date.now() - Math.max(item.headSince, trouble.troubleAt) > gapWaitMs;
    };
    // The predecessor may sit in another bridge that cannot reach Kafka: a wait only runs out
    // while Kafka answers (this process may have had nothing to produce, so no failure of its own).
    if (!forceGo && heads.some(expired) && !(await kafkaAnswers())) trouble.saw();
    for (const item of heads) {
      const s = sequenceOf(item) as SequenceItem;
      if (forceGo || expired(item)) {
        if (!forceGo)
          log(
            `mqtt bridge ${config.region}: ${s.key} seq ${s.seq} waited ${gapWaitMs} ms for its predecessor; going on`,
          );
        await untilDone('gate', () => deps.gate.skipTo(s.key, s.seq));
      }
    }
    const back: Item[] = [];
    for (const [key, items] of waiting) {
      let next = seqOf(items[0] as Item);
      let n = 0;
      // A repeat of the same number (a redelivery) rides along with it.
      while (n < items.length && seqOf(items[n] as Item) <= next) {
        next = seqOf(items[n] as Item) + 1;
        n++;
      }
      for (let i = 0; i < n; i++) back.push(items[i] as Item);
      if (n === items.length) waiting.delete(key);
      else waiting.set(key, items.slice(n));
      waitingCount -= n;
    }
    return back;
  }

  /** A cycle whose decisions are made: it produces, then settles and acknowledges. */
  interface Cycle {
    /** Kafka took its records (after the cycle before took its own: a device's order holds). */
    readonly produced: Promise<void>;
    /** Settled in the gate and acknowledged to the broker (after the cycle before). */
    readonly finish: Promise<void>;
    /** Its numbers (produced or dead-lettered), in Kafka or on their way: the next cycle's gate call counts them as settled. */
    readonly numbers: readonly Omit<SequenceItem, 'redelivered'>[];
  }

  /**
   * One cycle: decide (while the cycle before may still be producing: its numbers count as settled,
   * see sequence.ts), then produce after the cycle before, then settle and acknowledge.
   */
  async function cycle(batch: Item[], before: Cycle | undefined): Promise<Cycle> {
    stats.batches++;
    // Telemetry in (device, seq) order: a device's consecutive numbers chain within the batch.
    const numbered = batch
      .flatMap((item) => {
        const s = sequenceOf(item);
        return s ? [{ item, s }] : [];
      })
      .sort(({ s: x }, { s: y }) => (x.key < y.key ? -1 : x.key > y.key ? 1 : x.seq - y.seq));
    const telemetry = numbered.map((n) => n.item);
    if (forceGo) {
      // Stopping: a message still missing its predecessor goes now (order yields to delivery).
      for (const { s } of numbered) await untilDone('gate', () => deps.gate.skipTo(s.key, s.seq));
    }
    const decisions = await timed('gateMs', () =>
      untilDone('gate', () =>
        // While stopping the cycle before is settled (see run()): nothing is in flight.
        deps.gate.decide(
          numbered.map((n) => n.s),
          forceGo ? undefined : before?.numbers,
        ),
      ),
    );
    const decision = new Map<Item, SequenceDecision>(
      telemetry.map((item, n) => [item, decisions[n] as SequenceDecision]),
    );

    const records: KafkaRecord[] = [];
    const done: Item[] = [];
    const settleItems: Array<{ key: string; seq: number; hash: string }> = [];
    const holes: string[] = [];
    const notices: Array<() => void> = [];
    const stillWaiting: Item[] = [];

    for (const item of [...telemetry, ...batch.filter((i) => !decision.has(i))]) {
      const r = item.ingested;
      const d = decision.get(item);
      if (d === 'wait') {
        stillWaiting.push(item);
        continue;
      }
      if (d === 'duplicate') {
        stats.duplicates++;
        done.push(item);
        continue;
      }
      if (!r.ok) {
        records.push(dlqRecord(item, r.code, r.reason, r.type, r.key));
        // Its number is used up (settled), unless it was a number from the past.
        if (r.sequence && d !== 'backwards') settleItems.push(r.sequence);
        else if (!r.sequence && r.key) holes.push(r.key);
        notices.push(() => notice(item, r));
        stats.deadLettered++;
        done.push(item);
        continue;
      }
      if (d === 'backwards') {
        const seq = r.sequence?.seq as number;
        const reason = `seq ${seq} is not after the last accepted one`;
        records.push(dlqRecord(item, 'SEQUENCE_BACKWARDS', reason, r.envelope.type, r.key));
        notices.push(() =>
          notice(item, {
            ok: false,
            type: r.envelope.type,
            key: r.key,
            code: 'SEQUENCE_BACKWARDS',
            reason,
            sequence: { key: r.key, seq, hash: r.sequence?.hash as string },
            noticeTopic: `devices/${r.key}/commands/rejected`,
          }),
        );
        stats.deadLettered++;
        done.push(item);
        continue;
      }
      if (d === 'late') {
        stats.late++;
        log(`mqtt bridge ${config.region}: ${r.key} seq ${r.sequence?.seq} came late (after numbers given up on)`);
      }
      records.push({
        topic: r.envelope.type,
        message: {
          key: r.key,
          value: item.value ?? JSON.stringify(r.envelope),
          headers: structuredHeaders(r.envelope),
        },
      });
      if (r.sequence) settleItems.push(r.sequence);
      stats.produced++;
      done.push(item);
    }

    settling += done.length;
    hold(stillWaiting);
    const produced = (async () => {
      await before?.produced;
      // In requests of at most maxRequestBytes (900 KiB), one after the other (a device's order holds
      // across them): Kafka refuses a partition's batch above its message.max.bytes (1 MiB by
      // default), and retrying a refused batch would never succeed. All of a request may go to one partition.
      for (const chunk of byteChunks(records, maxRequestBytes)) {
        stats.requests++;
        const byTopic = new Map<string, Array<(typeof records)[number]['message']>>();
        for (const rec of chunk) {
          const list = byTopic.get(rec.topic) ?? [];
          list.push(rec.message);
          byTopic.set(rec.topic, list);
        }
        await timed('produceMs', () =>
          untilDone('produce', async () => {
            producer ??= await deps.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
            await producer.sendBatch({
              acks: -1,
              topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
            });
          }),
        );
      }
    })();
    // Kafka has the batch: settle it in the gate, then acknowledge it to the broker. This overlaps
    // the next cycle, whose gate call counts these numbers as settled; the one after that waits
    // for this settle (should it be retried, later messages only wait, never go early).
    const finish = (async () => {
      await produced;
      await before?.finish;
      if (settleItems.length) await timed('gateMs', () => untilDone('gate', () => deps.gate.settle(settleItems)));
      for (const key of holes) await untilDone('gate', () => deps.gate.hole(key));
      for (const item of done) {
        item.conn.ack(item.message);
        stats.acked++;
      }
      settling -= done.length;
      for (const send of notices) send();
    })();
    // Awaited (and a failure seen) by the cycles after it or at the end.
    produced.catch(() => {});
    finish.catch(() => {});
    return { produced, finish, numbers: settleItems };
  }

  async function run() {
    /** The last cycle (maybe still producing), and the finish of the one before it. */
    let last: Cycle | undefined;
    let older: Promise<void> = Promise.resolve();
    while (running || incoming.length || waitingCount) {
      if (incoming.length === 0) {
        // Idle, or only waiting items: look again shortly (their predecessor may settle elsewhere).
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, waitingCount ? 50 : 200);
        });
        wake = undefined;
        if (incoming.length === 0 && waitingCount === 0) continue;
      }
      const t0 = performance.now();
      // At most one cycle unsettled when the next decides (its numbers go along as in flight);
      // none while stopping, when waiting messages are forced through (skipTo writes the gate).
      await older;
      if (forceGo) await last?.finish;
      // Items of a connection that dropped go on too: their redelivery is then a duplicate.
      const taken = incoming.splice(0, maxBatch);
      for (const item of taken) intake.set(item.conn, (intake.get(item.conn) ?? 1) - 1);
      for (const c of connections) if ((intake.get(c) ?? 0) < intakeLimit) c.resume();
      inFlight = taken.length;
      const batch = [...(await release()), ...taken];
      inFlight = batch.length;
      if (batch.length) {
        const next = await cycle(batch, last);
        inFlight = 0; // now counted in `waiting` and `settling`
        older = last?.finish ?? Promise.resolve();
        last = next;
      }
      stats.cycleMs += performance.now() - t0;
    }
    await older;
    await last?.finish;
  }

  return {
    name: 'mqtt-bridge',
    stats,
    get pending() {
      return incoming.length + waitingCount + inFlight + settling;
    },
    async start() {
      running = true;
      loop = run().catch((err) => {
        if (!aborted) log(`mqtt bridge ${config.region}: pipeline stopped: ${(err as Error).stack}`);
      });
      try {
        await Promise.all(connections.map((c) => c.start()));
      } catch (err) {
        await this.stop();
        throw err;
      }
      log(`mqtt bridge ${config.region}: ${connections.length} connections (${config.instance}) subscribed`);
    },
    async stop() {
      const deadline = Date.now() + (config.stopTimeoutMs ?? 15_000);
      // Leave the group first: the broker routes no more messages here.
      await Promise.all(connections.map((c) => c.unsubscribe()));
      // Finish what arrived, until nothing has come for a moment (the broker flushes the
      // session's queue after the unsubscribe).
      let quietSince = Date.now();
      let last = stats.received;
      while (Date.now() < deadline) {
        if (stats.received !== last) {
          last = stats.received;
          quietSince = Date.now();
        }
        if (incoming.length === 0 && inFlight === 0 && settling === 0 && Date.now() - quietSince > 300) break;
        await sleep(50);
      }
      // What still waits for a predecessor goes now: once this member is gone, nobody would
      // acknowledge it (and a stopped test instance may never come back for its session).
      forceGo = true;
      trouble.stop();
      running = false;
      wake?.();
      const finished = await resolvesWithin(loop ?? Promise.resolve(), Math.max(0, deadline - Date.now()));
      if (!finished) {
        // Kafka (or Redis) is away: nothing more can be acknowledged. Keep the sessions: the broker
        // holds every unacknowledged message for this instance's next run.
        aborted = true;
        abort();
        await loop;
        log(`mqtt bridge ${config.region}: stopped with ${this.pending} messages unacknowledged (kept by the broker)`);
      }
      await Promise.all(connections.map((c) => c.close(finished)));
      await producer?.disconnect().catch(() => {});
      producer = undefined;
    },
    async check() {
      const up = connections.filter((c) => c.connected).length;
      if (up < connections.length) throw new Error(`${up}/${connections.length} MQTT connections up`);
      return `received ${stats.received}, produced ${stats.produced}, dead-lettered ${stats.deadLettered}, pending ${this.pending}`;
    },
  };
}
