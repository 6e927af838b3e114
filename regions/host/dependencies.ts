/** Opens every dependency of a region through the infra adapters. */

import type { AmqpDependency } from '../../infra/adapters/amqp.ts';
import { createAmqp } from '../../infra/adapters/amqp.ts';
import type { Dependency } from '../../infra/adapters/dependency.ts';
import { createDocumentLocks, type DocumentLocksDependency } from '../../infra/adapters/document-locks.ts';
import { createKafka, type KafkaDependency } from '../../infra/adapters/kafka.ts';
import { createMongo, type MongoDependency } from '../../infra/adapters/mongo.ts';
import { createMqtt, type MqttDependency } from '../../infra/adapters/mqtt.ts';
import { createPostgres, type Postgres } from '../../infra/adapters/postgres.ts';
import { createRedis, type RedisDependency } from '../../infra/adapters/redis.ts';
import type { RegionConfig } from '../config.ts';

export interface RegionDependencies {
  readonly postgres: Postgres;
  readonly redis: RedisDependency;
  readonly kafka: KafkaDependency;
  readonly mongo: MongoDependency;
  /** Per-document write locks for the document store (FerretDB v1 updates are not atomic). */
  readonly documentLocks: DocumentLocksDependency;
  readonly amqp: AmqpDependency;
  readonly mqtt: MqttDependency;
  /** All of the above, in a fixed order, for readiness and shutdown. */
  readonly all: readonly Dependency[];
}

export function openDependencies(config: RegionConfig, processName: string): RegionDependencies {
  const e = config.endpoints;
  const clientId = `meridian-${config.region}-${processName}`;
  const postgres = createPostgres({ url: e.postgresUrl, applicationName: clientId });
  const redis = createRedis({ url: e.redisUrl });
  const kafka = createKafka({ brokers: e.kafkaBrokers, clientId });
  const mongo = createMongo({ url: e.mongoUrl });
  const documentLocks = createDocumentLocks({ url: e.postgresUrl, applicationName: `${clientId}-locks` });
  const amqp = createAmqp({ url: e.amqpUrl });
  const mqtt = createMqtt({ url: e.mqttUrl, clientId: `${clientId}-${process.pid}` });
  return {
    postgres,
    redis,
    kafka,
    mongo,
    documentLocks,
    amqp,
    mqtt,
    all: [postgres, redis, kafka, mongo, documentLocks, amqp, mqtt],
  };
}

/** Closes every dependency, never throwing: shutdown must finish. */
export async function closeDependencies(deps: RegionDependencies): Promise<void> {
  await Promise.allSettled(deps.all.map((d) => d.close()));
}
