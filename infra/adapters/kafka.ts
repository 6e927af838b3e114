/** Kafka adapter (kafkajs): one client per region, admin/producer/consumers made from it. */

// First: kafkajs's modules must load its cheaper encoder and CRC (see the module).
import './kafkajs-encoding.ts';
import { createRequire } from 'node:module';
import type * as KafkaJs from 'kafkajs';
import type { Admin, Consumer, ConsumerConfig, ITopicConfig, Kafka, Producer, ProducerConfig } from 'kafkajs';
import type { Dependency } from './dependency.ts';
// kafkajs' request queues otherwise run a 1 ms timer per broker connection for ever (see the module).
import './kafkajs-request-queue.ts';

// Loaded with require, as the two modules above load the parts they replace, so that every kafkajs
// file comes through require's cache, where those replacements are (a process started with
// OpenTelemetry also has an ESM loader hook; this keeps kafkajs off that path).
const kafkajs = createRequire(import.meta.url)('kafkajs') as typeof KafkaJs;
const { Kafka: KafkaClient, logLevel } = kafkajs;
/** kafkajs's codec of consumer group assignments (kafkajs is reached through this adapter only). */
export const { AssignerProtocol } = kafkajs;

export interface KafkaConfig {
  readonly brokers: readonly string[];
  readonly clientId: string;
}

export interface KafkaDependency extends Dependency {
  readonly kafka: Kafka;
  /** A connected admin client owned by the adapter (closed with it). */
  admin(): Promise<Admin>;
  /** A connected producer, closed with the adapter. Idempotent unless told otherwise. */
  producer(config?: ProducerConfig): Promise<Producer>;
  /** A consumer (not yet connected), disconnected with the adapter. */
  consumer(config: ConsumerConfig): Consumer;
}

/**
 * A consumer that stays stopped once disconnected. kafkajs restarts a crashed consumer (a broker
 * restart crashes it) after a backoff, and asks `restartOnFailure` only after the crash's own
 * disconnect: a `disconnect()` of ours that lands in between is undone by the restart, and the
 * consumer, stopped as far as its owner knows, reopens its connections (a test file once hung on
 * them). So `restartOnFailure` answers no once `disconnect()` was called (until `connect()` again),
 * and otherwise what the caller's own answers.
 */
export function staysStoppedOnceDisconnected(
  make: (config: ConsumerConfig) => Consumer,
  config: ConsumerConfig,
): Consumer {
  let disconnected = false;
  const own = config.retry?.restartOnFailure;
  const c = make({
    ...config,
    retry: { ...config.retry, restartOnFailure: async (e) => !disconnected && (own ? own(e) : true) },
  });
  const connect = c.connect.bind(c);
  const disconnect = c.disconnect.bind(c);
  c.connect = () => {
    disconnected = false;
    return connect();
  };
  c.disconnect = () => {
    disconnected = true;
    return disconnect();
  };
  return c;
}

export function createKafka(config: KafkaConfig): KafkaDependency {
  const kafka = new KafkaClient({
    clientId: config.clientId,
    brokers: [...config.brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    retry: { retries: 5, initialRetryTime: 100 },
  });
  const owned: Array<{ disconnect(): Promise<void> }> = [];
  let sharedAdmin: Promise<Admin> | undefined;
  let closed = false;
  const admin = () => {
    sharedAdmin ??= (async () => {
      const a = kafka.admin();
      owned.push(a);
      await a.connect();
      return a;
    })();
    return sharedAdmin;
  };
  return {
    name: 'kafka',
    kafka,
    admin,
    async producer(producerConfig) {
      const p = kafka.producer({ idempotent: true, maxInFlightRequests: 5, ...producerConfig });
      owned.push(p);
      await p.connect();
      return p;
    },
    consumer(consumerConfig) {
      const c = staysStoppedOnceDisconnected((cfg) => kafka.consumer(cfg), consumerConfig);
      owned.push(c);
      return c;
    },
    async ping() {
      const a = await admin();
      const cluster = await a.describeCluster();
      return `cluster ${cluster.clusterId}, ${cluster.brokers.length} broker(s)`;
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.allSettled(owned.map((c) => c.disconnect()));
    },
  };
}

/**
 * Creates `topics` and waits until every partition of each has a leader; resolves with what
 * `createTopics` said (false: some already existed). kafkajs' own `waitForLeaders` gives up as soon
 * as the broker answers UNKNOWN_TOPIC_OR_PARTITION, which a freshly started broker does for a
 * moment about a topic its controller has just created; this asks again.
 */
export async function createTopicsReady(admin: Admin, topics: ITopicConfig[]): Promise<boolean> {
  const created = await admin.createTopics({ topics, waitForLeaders: false });
  await untilLeaders(
    admin,
    topics.map((t) => t.topic),
  );
  return created;
}

/** Waits until every partition of `topics` has a leader, asking again on any error until `timeoutMs`. */
export async function untilLeaders(admin: Admin, topics: readonly string[], timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let why: unknown;
    try {
      const { topics: meta } = await admin.fetchTopicMetadata({ topics: [...topics] });
      if (meta.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return;
      why = 'partitions without a leader';
    } catch (err) {
      why = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`topics not ready after ${timeoutMs} ms: ${topics.join(', ')}`, { cause: why });
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
