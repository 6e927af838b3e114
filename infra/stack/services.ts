/**
 * The local stack's services: how each is prepared, started, probed and stopped.
 * Ports follow ARCHITECTURE.md; endpoints overridden from the environment are
 * "external" and the stack starts nothing for them.
 */

import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createAmqp } from '../adapters/amqp.ts';
import type { Dependency } from '../adapters/dependency.ts';
import { withTimeout } from '../adapters/dependency.ts';
import { createKafka } from '../adapters/kafka.ts';
import { createMongo } from '../adapters/mongo.ts';
import { connected, createMqtt } from '../adapters/mqtt.ts';
import { createPostgres } from '../adapters/postgres.ts';
import { createRedis } from '../adapters/redis.ts';
import {
  defaultPort,
  JAEGER_HEALTH_PORT,
  JAEGER_OTLP_HTTP_PORT,
  JAEGER_QUERY_GRPC_PORT,
  JAEGER_QUERY_PORT,
  LOCAL_PASSWORD,
  LOCAL_USER,
  RABBITMQ_DIST_PORT,
  RABBITMQ_EPMD_PORT,
  RABBITMQ_PORT,
  REGIONS,
  type Region,
  type RegionEndpoints,
  resolveEndpoints,
} from '../config/endpoints.ts';
import { LOCAL_MQTT_PASSWORD, MQTT_USERS, withCredentials } from '../config/mqtt-users.ts';
import { WRITER_GROUPS_PATTERN } from '../events/groups.ts';
import { FERRETDB_BIN, JAEGER_BIN, JAEGER_VERSION, KAFKA_VERSION, requireBinary } from './install.ts';
import { initDynsecConfig, mosquittoConfig, provisionPlatformSecurity } from './mosquitto-security.ts';
import { confFile, dataDir, paths } from './paths.ts';
import type { SpawnSpec } from './process.ts';

export interface ServiceDef {
  /** Unique id, also the name of its pid and log files: "postgres-east". */
  readonly id: string;
  readonly name: string;
  readonly region: Region | 'shared';
  /** Ports it listens on; the first is the one clients use. */
  readonly ports: readonly number[];
  /** Services that must be healthy before this one starts. */
  readonly needs: readonly string[];
  /** Started by the stack, or reached through an environment override. */
  readonly external: boolean;
  /** Writes config, initialises data; idempotent. */
  prepare(): void;
  spawn(): SpawnSpec;
  /** Resolves with the running version when healthy, rejects otherwise. */
  probe(): Promise<string>;
  /** Runs after every healthy start or `up` (create databases…); idempotent. */
  afterStart?(): Promise<void>;
  readonly stopSignal: NodeJS.Signals;
  readonly stopGraceMs: number;
  readonly startTimeoutMs: number;
  /** Started only when asked for (named to `up`, or enabled by the environment); see `enabledServices`. */
  readonly optIn?: boolean;
}

const JVM_OPTS = ['-Xms128m', '-Xmx512m', '-XX:+UseG1GC', '-Djava.awt.headless=true'];

function write(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
}

/** Opens a throwaway adapter, pings it within a deadline, closes it. */
async function probeWith(dep: Dependency, ms = 4000): Promise<string> {
  try {
    return await withTimeout(dep.ping(), ms, `${dep.name} probe`);
  } finally {
    await dep.close().catch(() => {});
  }
}

/** uid and gid of the postgres system user, which owns the PostgreSQL data folders. */
export function postgresUser(): { uid: number; gid: number } {
  const res = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gidRes = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error('the postgres system user is missing (is the postgresql package installed?)');
  return { uid: Number(res.stdout.trim()), gid: Number(gidRes.stdout.trim()) };
}

function postgres(region: Region, e: RegionEndpoints): ServiceDef {
  const id = `postgres-${region}`;
  const port = defaultPort(region, 'postgres');
  const dir = dataDir(id);
  return {
    id,
    name: 'postgres',
    region,
    ports: [port],
    needs: [],
    external: e.external.has('postgres'),
    prepare() {
      if (existsSync(path.join(dir, 'PG_VERSION'))) return;
      const { uid, gid } = postgresUser();
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      chownSync(dir, uid, gid);
      const pwfile = path.join(paths.run, `${id}.pw`);
      write(pwfile, `${LOCAL_PASSWORD}\n`);
      chownSync(pwfile, uid, gid);
      const res = spawnSync(
        requireBinary('initdb'),
        ['-D', dir, '-U', LOCAL_USER, `--pwfile=${pwfile}`, '--auth=scram-sha-256', '-E', 'UTF8', '--locale=C.UTF-8'],
        { uid, gid, encoding: 'utf8' },
      );
      if (res.status !== 0) throw new Error(`initdb failed: ${res.stderr || res.stdout}`);
    },
    spawn() {
      const { uid, gid } = postgresUser();
      return {
        command: requireBinary('postgres'),
        args: [
          '-D',
          dir,
          '-p',
          String(port),
          '-c',
          'listen_addresses=127.0.0.1',
          '-c',
          'unix_socket_directories=',
          '-c',
          'max_connections=200',
          '-c',
          'shared_buffers=64MB',
          '-c',
          'wal_level=logical',
        ],
        uid,
        gid,
      };
    },
    probe: () => probeWith(createPostgres({ url: e.postgresUrl.replace(/\/[^/]*$/, '/postgres') })),
    async afterStart() {
      const client = new pg.Client({ connectionString: e.postgresUrl.replace(/\/[^/]*$/, '/postgres') });
      await client.connect();
      try {
        for (const db of ['meridian', 'ferretdb']) {
          const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [db]);
          if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${db}`);
        }
      } finally {
        await client.end();
      }
    },
    // SIGINT is PostgreSQL's "fast" shutdown: it does not wait for clients to leave.
    stopSignal: 'SIGINT',
    stopGraceMs: 15000,
    startTimeoutMs: 30000,
  };
}

function redis(region: Region, e: RegionEndpoints): ServiceDef {
  const id = `redis-${region}`;
  const port = defaultPort(region, 'redis');
  return {
    id,
    name: 'redis',
    region,
    ports: [port],
    needs: [],
    external: e.external.has('redis'),
    prepare() {
      mkdirSync(dataDir(id), { recursive: true });
    },
    spawn: () => ({
      command: requireBinary('redis-server'),
      args: [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dataDir(id),
        '--appendonly',
        'yes',
        '--save',
        '',
        '--daemonize',
        'no',
        '--logfile',
        '',
      ],
    }),
    probe: () => probeWith(createRedis({ url: e.redisUrl })),
    stopSignal: 'SIGTERM',
    stopGraceMs: 10000,
    startTimeoutMs: 15000,
  };
}

function log4j(file: string): void {
  write(
    file,
    [
      'log4j.rootLogger=INFO, stdout',
      'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
      'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
      'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
      'log4j.logger.org.apache.kafka.clients=WARN',
      'log4j.logger.org.apache.kafka.common.utils.AppInfoParser=WARN',
      'log4j.logger.org.apache.kafka.connect.runtime.WorkerSourceTask=WARN',
      'log4j.logger.org.apache.kafka.connect.mirror.MirrorSourceTask=WARN',
      'log4j.logger.org.reflections=ERROR',
      'log4j.logger.kafka.request.logger=WARN',
      '',
    ].join('\n'),
  );
}

function javaSpec(mainClass: string, args: string[], log4jFile: string): SpawnSpec {
  return {
    command: requireBinary('java'),
    args: [...JVM_OPTS, `-Dlog4j.configuration=file:${log4jFile}`, '-cp', `${paths.kafkaLibs}/*`, mainClass, ...args],
  };
}

/** A random Kafka cluster id: 16 bytes, base64url without padding (what StorageTool expects). */
/** A Kafka cluster id: 16 random bytes in base64url, never starting with '-' (kafka-storage would
 * read such an id as an option; Kafka's own Uuid.randomUuid redraws those too). */
export function kafkaClusterId(random: (n: number) => Buffer = randomBytes): string {
  for (;;) {
    const id = random(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function kafka(region: Region, e: RegionEndpoints): ServiceDef {
  const id = `kafka-${region}`;
  const port = defaultPort(region, 'kafka');
  const controller = defaultPort(region, 'kafkaController');
  const logDir = dataDir(id);
  const props = confFile(`${id}.properties`);
  const log4jFile = confFile('log4j-kafka.properties');
  return {
    id,
    name: 'kafka',
    region,
    ports: [port, controller],
    needs: [],
    external: e.external.has('kafka'),
    prepare() {
      log4j(log4jFile);
      write(
        props,
        [
          'process.roles=broker,controller',
          'node.id=1',
          `controller.quorum.voters=1@127.0.0.1:${controller}`,
          `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controller}`,
          `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
          'controller.listener.names=CONTROLLER',
          'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
          'inter.broker.listener.name=PLAINTEXT',
          `log.dirs=${logDir}`,
          'num.partitions=3',
          'default.replication.factor=1',
          'min.insync.replicas=1',
          // A single broker cannot host the default replication factor 3 of internal topics.
          'offsets.topic.replication.factor=1',
          'offsets.topic.num.partitions=10',
          'transaction.state.log.replication.factor=1',
          'transaction.state.log.min.isr=1',
          'auto.create.topics.enable=true',
          'group.initial.rebalance.delay.ms=0',
          // Empty groups without committed offsets (per-process live feeds of killed processes) are
          // removed at this check; the default is every 10 minutes.
          'offsets.retention.check.interval.ms=60000',
          'num.network.threads=2',
          'num.io.threads=4',
          'log.retention.hours=168',
          '',
        ].join('\n'),
      );
      if (existsSync(path.join(logDir, 'meta.properties'))) return;
      mkdirSync(logDir, { recursive: true });
      const spec = javaSpec('kafka.tools.StorageTool', ['format', '-t', kafkaClusterId(), '-c', props], log4jFile);
      const res = spawnSync(spec.command, spec.args, { encoding: 'utf8' });
      if (res.status !== 0) throw new Error(`kafka storage format failed: ${res.stderr || res.stdout}`);
    },
    spawn: () => javaSpec('kafka.Kafka', [props], log4jFile),
    probe: async () => {
      const dep = createKafka({ brokers: e.kafkaBrokers, clientId: 'meridian-stack' });
      try {
        await withTimeout(dep.ping(), 5000, 'kafka probe');
        // Consumer groups work once __consumer_offsets exists with leaders, and on a fresh cluster
        // the first group lookup creates it: until then every join is retried (COORDINATOR_NOT_
        // AVAILABLE). Looking a group's coordinator up here makes "up" mean groups work too.
        const admin = await dep.admin();
        await withTimeout(admin.describeGroups(['meridian-stack-probe']), 15000, 'kafka group coordinator');
      } finally {
        await dep.close().catch(() => {});
      }
      return KAFKA_VERSION;
    },
    stopSignal: 'SIGTERM',
    stopGraceMs: 20000,
    startTimeoutMs: 60000,
  };
}

function ferretdb(region: Region, e: RegionEndpoints): ServiceDef {
  const id = `ferretdb-${region}`;
  const port = defaultPort(region, 'ferretdb');
  const pgUrl = new URL(e.postgresUrl);
  pgUrl.pathname = '/ferretdb';
  return {
    id,
    name: 'ferretdb',
    region,
    ports: [port, defaultPort(region, 'ferretdbDebug')],
    needs: [`postgres-${region}`],
    external: e.external.has('mongo'),
    prepare() {
      mkdirSync(dataDir(id), { recursive: true });
    },
    spawn: () => ({
      command: FERRETDB_BIN,
      args: [
        '--handler=postgresql',
        `--postgresql-url=${pgUrl.toString()}`,
        `--listen-addr=127.0.0.1:${port}`,
        `--debug-addr=127.0.0.1:${defaultPort(region, 'ferretdbDebug')}`,
        `--state-dir=${dataDir(id)}`,
        '--telemetry=disable',
        '--log-level=warn',
      ],
    }),
    probe: () => probeWith(createMongo({ url: e.mongoUrl })),
    stopSignal: 'SIGTERM',
    stopGraceMs: 10000,
    startTimeoutMs: 30000,
  };
}

function mosquitto(region: Region, e: RegionEndpoints): ServiceDef {
  const id = `mosquitto-${region}`;
  const port = defaultPort(region, 'mqtt');
  const conf = confFile(`${id}.conf`);
  const dynsecConfig = path.join(dataDir(id), 'dynamic-security.json');
  return {
    id,
    name: 'mosquitto',
    region,
    ports: [port],
    needs: [],
    external: e.external.has('mqtt'),
    prepare() {
      mkdirSync(dataDir(id), { recursive: true });
      initDynsecConfig(dynsecConfig);
      write(conf, mosquittoConfig({ port, dataDir: dataDir(id), dynsecConfig, user: userInfo().username }));
    },
    spawn: () => ({ command: requireBinary('mosquitto'), args: ['-c', conf] }),
    probe: async () => {
      // Locally the admin (created with the plugin's configuration) probes: the platform users
      // are provisioned only once the broker answers.
      const url = e.external.has('mqtt')
        ? e.mqttUrl
        : withCredentials(e.mqttUrl, MQTT_USERS.admin, LOCAL_MQTT_PASSWORD);
      const dep = createMqtt({
        url,
        clientId: `meridian-stack-probe-${process.pid}`,
        options: { reconnectPeriod: 0 },
      });
      try {
        await connected(dep.client, 3000);
        return await withTimeout(dep.ping(), 3000, 'mosquitto probe');
      } finally {
        await dep.close();
      }
    },
    afterStart: () => (e.external.has('mqtt') ? Promise.resolve() : provisionPlatformSecurity(e.mqttUrl)),
    stopSignal: 'SIGTERM',
    stopGraceMs: 10000,
    startTimeoutMs: 15000,
  };
}

const RABBIT_HOME = () => dataDir('rabbitmq-home');
const RABBIT_NODE = 'meridian@localhost';

function rabbitEnv(): Record<string, string> {
  return {
    HOME: RABBIT_HOME(),
    ERL_EPMD_PORT: String(RABBITMQ_EPMD_PORT),
    RABBITMQ_NODENAME: RABBIT_NODE,
  };
}

/** RabbitMQ's stored password format: base64(salt ‖ sha256(salt ‖ password)). */
function rabbitPasswordHash(password: string): string {
  const salt = randomBytes(4);
  const digest = createHash('sha256')
    .update(Buffer.concat([salt, Buffer.from(password, 'utf8')]))
    .digest();
  return Buffer.concat([salt, digest]).toString('base64');
}

function epmd(external: boolean): ServiceDef {
  return {
    id: 'epmd',
    name: 'epmd',
    region: 'shared',
    ports: [RABBITMQ_EPMD_PORT],
    needs: [],
    external,
    prepare() {},
    // A dedicated epmd on its own port, in the foreground, so `down` can stop it by pid.
    spawn: () => ({
      command: requireBinary('epmd'),
      args: ['-port', String(RABBITMQ_EPMD_PORT), '-address', '127.0.0.1'],
    }),
    probe: async () => {
      const res = spawnSync(requireBinary('epmd'), ['-port', String(RABBITMQ_EPMD_PORT), '-names'], {
        encoding: 'utf8',
      });
      if (res.status !== 0) throw new Error(`epmd -names failed: ${res.stderr}`);
      return 'erlang epmd';
    },
    stopSignal: 'SIGTERM',
    stopGraceMs: 3000,
    startTimeoutMs: 10000,
  };
}

function rabbitmq(all: readonly RegionEndpoints[]): ServiceDef {
  const base = dataDir('rabbitmq');
  const conf = confFile('rabbitmq');
  const definitions = confFile('rabbitmq-definitions.json');
  return {
    id: 'rabbitmq',
    name: 'rabbitmq',
    region: 'shared',
    ports: [RABBITMQ_PORT, RABBITMQ_DIST_PORT],
    needs: ['epmd'],
    external: all.every((e) => e.external.has('amqp')),
    prepare() {
      mkdirSync(base, { recursive: true });
      mkdirSync(RABBIT_HOME(), { recursive: true });
      const cookie = path.join(RABBIT_HOME(), '.erlang.cookie');
      if (!existsSync(cookie)) writeFileSync(cookie, randomBytes(20).toString('hex').toUpperCase(), { mode: 0o400 });
      write(
        `${conf}.conf`,
        [
          `listeners.tcp.default = 127.0.0.1:${RABBITMQ_PORT}`,
          `load_definitions = ${definitions}`,
          'loopback_users = none',
          'log.console = true',
          'log.console.level = warning',
          'log.file = false',
          '',
        ].join('\n'),
      );
      write(confFile('rabbitmq-enabled-plugins'), '[].\n');
      write(
        definitions,
        JSON.stringify(
          {
            users: [
              {
                name: LOCAL_USER,
                password_hash: rabbitPasswordHash(LOCAL_PASSWORD),
                hashing_algorithm: 'rabbit_password_hashing_sha256',
                tags: ['administrator'],
              },
            ],
            vhosts: REGIONS.map((name) => ({ name })),
            permissions: REGIONS.map((vhost) => ({
              user: LOCAL_USER,
              vhost,
              configure: '.*',
              write: '.*',
              read: '.*',
            })),
          },
          null,
          2,
        ),
      );
    },
    spawn: () => ({
      command: requireBinary('rabbitmq-server'),
      args: [],
      env: {
        ...rabbitEnv(),
        RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
        RABBITMQ_NODE_PORT: String(RABBITMQ_PORT),
        RABBITMQ_DIST_PORT: String(RABBITMQ_DIST_PORT),
        RABBITMQ_MNESIA_BASE: base,
        RABBITMQ_LOG_BASE: paths.logs,
        RABBITMQ_CONFIG_FILE: conf,
        RABBITMQ_ENABLED_PLUGINS_FILE: confFile('rabbitmq-enabled-plugins'),
        RABBITMQ_PID_FILE: path.join(base, 'rabbitmq.pid'),
        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
      },
    }),
    probe: async () => {
      const versions = await Promise.all(all.map((e) => probeWith(createAmqp({ url: e.amqpUrl }))));
      return versions[0] ?? 'unknown';
    },
    stopSignal: 'SIGTERM',
    stopGraceMs: 20000,
    startTimeoutMs: 60000,
  };
}

function mirrorMaker(all: readonly RegionEndpoints[]): ServiceDef {
  const props = confFile('mm2.properties');
  const log4jFile = confFile('log4j-mm2.properties');
  const [east, west] = all as [RegionEndpoints, RegionEndpoints];
  return {
    id: 'mirrormaker',
    name: 'mirrormaker2',
    region: 'shared',
    ports: [],
    needs: REGIONS.map((r) => `kafka-${r}`),
    external: process.env.MERIDIAN_MIRRORMAKER === 'external',
    prepare() {
      log4j(log4jFile);
      const lines = [
        'clusters = east, west',
        `east.bootstrap.servers = ${east.kafkaBrokers.join(',')}`,
        `west.bootstrap.servers = ${west.kafkaBrokers.join(',')}`,
        'east->west.enabled = true',
        'west->east.enabled = true',
        'east->west.topics = .*',
        'west->east.topics = .*',
        // Only the single-writer processors' groups: the peer takes them over after a failover,
        // from the offsets synced below (infra/events/groups.ts). Syncing every group each second
        // kept MirrorMaker 2 and both brokers at about half a core on an idle stack.
        `groups = ${WRITER_GROUPS_PATTERN}`,
        // The default replication policy: remote topics are prefixed with the source alias.
        'replication.policy.class = org.apache.kafka.connect.mirror.DefaultReplicationPolicy',
        'emit.heartbeats.enabled = true',
        'emit.heartbeats.interval.seconds = 1',
        'emit.checkpoints.enabled = true',
        // Failover: the survivor's takeover consumers start from the peer group's translated
        // offsets, as fresh as these intervals (default 60 s each). 1 s costs a checkpoint record
        // per group-partition per second and an offset commit per group per second: on this
        // stack's few dozen groups, a few KB/s.
        'emit.checkpoints.interval.seconds = 1',
        'sync.group.offsets.enabled = true',
        'sync.group.offsets.interval.seconds = 1',
        // Offset syncs (which translation rounds down to) every 10 records instead of 100: at
        // most 10 duplicates per partition for the takeover to absorb, for 10x the offset-syncs.
        'offset.lag.max = 10',
        'sync.topic.acls.enabled = false',
        // New topics are found by polling; the default (600 s) is far too slow here.
        'refresh.topics.interval.seconds = 2',
        'refresh.groups.interval.seconds = 5',
        'sync.topic.configs.interval.seconds = 30',
        // Single-broker clusters: every internal topic gets replication factor 1.
        'replication.factor = 1',
        'checkpoints.topic.replication.factor = 1',
        'heartbeats.topic.replication.factor = 1',
        'offset-syncs.topic.replication.factor = 1',
        'offset.storage.replication.factor = 1',
        'status.storage.replication.factor = 1',
        'config.storage.replication.factor = 1',
        'offset.flush.interval.ms = 1000',
        'tasks.max = 2',
        // Latency: send without lingering. A fetch already returns as soon as a record exists
        // (fetch.min.bytes = 1: the broker completes the waiting fetch on append), so the wait
        // bounds only empty polls; the default 500 ms, not 50, which made MirrorMaker 2's empty
        // polls cost each idle broker a sixth of a core (measured: brokers 18% → 10% each).
        'east.consumer.fetch.max.wait.ms = 500',
        'west.consumer.fetch.max.wait.ms = 500',
        'east.producer.linger.ms = 0',
        'west.producer.linger.ms = 0',
        '',
      ];
      write(props, lines.join('\n'));
    },
    spawn: () => javaSpec('org.apache.kafka.connect.mirror.MirrorMaker', [props], log4jFile),
    probe: async () => {
      // Healthy when each cluster holds the other's mirrored heartbeats topic.
      for (const [here, there] of [
        [east, 'west'],
        [west, 'east'],
      ] as const) {
        const dep = createKafka({ brokers: here.kafkaBrokers, clientId: 'meridian-stack' });
        try {
          const topics = await withTimeout((await dep.admin()).listTopics(), 4000, 'mirrormaker probe');
          if (!topics.includes(`${there}.heartbeats`)) {
            throw new Error(`${here.region} has no ${there}.heartbeats topic yet`);
          }
        } finally {
          await dep.close();
        }
      }
      return KAFKA_VERSION;
    },
    stopSignal: 'SIGTERM',
    stopGraceMs: 20000,
    startTimeoutMs: 120000,
  };
}

/**
 * Jaeger v2 with in-memory storage: the trace backend the platform's processes export OTLP to
 * when MERIDIAN_TRACES=jaeger. Opt-in, because its first build takes minutes (install.ts).
 */
function jaeger(): ServiceDef {
  const id = 'jaeger';
  const conf = confFile('jaeger.yaml');
  return {
    id,
    name: 'jaeger',
    region: 'shared',
    ports: [JAEGER_OTLP_HTTP_PORT, JAEGER_QUERY_PORT, JAEGER_QUERY_GRPC_PORT, JAEGER_HEALTH_PORT],
    needs: [],
    external: false,
    optIn: true,
    prepare() {
      writeFileSync(
        conf,
        [
          'service:',
          '  extensions: [jaeger_storage, jaeger_query, healthcheckv2]',
          '  pipelines:',
          '    traces:',
          '      receivers: [otlp]',
          '      processors: [batch]',
          '      exporters: [jaeger_storage_exporter]',
          '  telemetry:',
          '    metrics:',
          '      level: none',
          '    logs:',
          '      level: warn',
          'extensions:',
          '  healthcheckv2:',
          '    use_v2: true',
          '    http:',
          `      endpoint: 127.0.0.1:${JAEGER_HEALTH_PORT}`,
          '  jaeger_query:',
          '    storage:',
          '      traces: memstore',
          '    http:',
          `      endpoint: 127.0.0.1:${JAEGER_QUERY_PORT}`,
          '    grpc:',
          `      endpoint: 127.0.0.1:${JAEGER_QUERY_GRPC_PORT}`,
          '  jaeger_storage:',
          '    backends:',
          '      memstore:',
          '        memory:',
          '          max_traces: 100000',
          'receivers:',
          '  otlp:',
          '    protocols:',
          '      http:',
          `        endpoint: 127.0.0.1:${JAEGER_OTLP_HTTP_PORT}`,
          'processors:',
          '  batch:',
          'exporters:',
          '  jaeger_storage_exporter:',
          '    trace_storage: memstore',
          '',
        ].join('\n'),
      );
    },
    spawn: () => ({ command: JAEGER_BIN, args: ['--config', conf] }),
    async probe() {
      const res = await fetch(`http://127.0.0.1:${JAEGER_HEALTH_PORT}/status`, { signal: AbortSignal.timeout(2000) });
      const body = (await res.json()) as { healthy?: boolean };
      if (!res.ok || body.healthy !== true) throw new Error(`jaeger health ${res.status}`);
      return JAEGER_VERSION;
    },
    stopSignal: 'SIGTERM',
    stopGraceMs: 10000,
    startTimeoutMs: 30000,
  };
}

/** Whether an opt-in service is wanted: named to `up`, or MERIDIAN_TRACES=jaeger for Jaeger. */
export function optInEnabled(s: ServiceDef, env: Record<string, string | undefined>, only: readonly string[]): boolean {
  return !s.optIn || only.includes(s.id) || (s.id === 'jaeger' && env.MERIDIAN_TRACES === 'jaeger');
}

/** Every service of the stack, in a valid start order. */
export function stackServices(env: Record<string, string | undefined>): ServiceDef[] {
  const endpoints = REGIONS.map((r) => resolveEndpoints(r, env));
  const perRegion = endpoints.flatMap((e) => [
    postgres(e.region, e),
    redis(e.region, e),
    mosquitto(e.region, e),
    kafka(e.region, e),
  ]);
  const rabbit = rabbitmq(endpoints);
  return [
    ...perRegion,
    epmd(rabbit.external),
    rabbit,
    ...endpoints.map((e) => ferretdb(e.region, e)),
    mirrorMaker(endpoints),
    jaeger(),
  ];
}
