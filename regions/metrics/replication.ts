/**
 * MirrorMaker 2 replication lag into this region, by time. MM2's heartbeat connector emits a
 * record to the `heartbeats` topic of each cluster it replicates into, every
 * `emit.heartbeats.interval.seconds` (1 s in the local stack); like any topic, the peer's
 * `heartbeats` is then mirrored here as `<peer>.heartbeats` (DefaultReplicationPolicy: "remote
 * topics are prefixed with the source cluster alias"). The age of the newest heartbeat that
 * arrived here is how far this region's copy of the peer's topics trails: it is at most the
 * heartbeat interval while MM2 keeps up, and it grows when the peer→here flow stalls.
 *
 * A heartbeat's value (org.apache.kafka.connect.mirror.Heartbeat) is a version header (INT16)
 * and `timestamp` (INT64, ms since the epoch), big-endian; the record timestamp, which MM2
 * carries over from the source record, is the fallback.
 */
import type { Consumer } from 'kafkajs';
import type { Registry } from '../../edge/metrics/metrics.ts';
import type { KafkaDependency } from '../../infra/adapters/kafka.ts';
import { ephemeralGroupId } from '../../infra/events/consumer.ts';
import type { Service } from '../host/services.ts';

/** The emission time a heartbeat record carries, in ms since the epoch. */
export function heartbeatTime(value: Buffer | null, recordTimestamp: string): number {
  if (value && value.length === 10 && value.readInt16BE(0) === 0) return Number(value.readBigInt64BE(2));
  return Number(recordTimestamp);
}

/**
 * A service following `<peer>.heartbeats` here (an ephemeral group: from the end, no commits),
 * and the gauge `meridian_region_replication_lag_seconds{source=peer,target=region}`: now minus
 * the newest heartbeat's emission time; before the first one, the time since the service started.
 */
export function replicationLagService(
  registry: Registry,
  kafka: KafkaDependency,
  region: string,
  peer: string,
  opts: { readonly log?: (line: string) => void; readonly now?: () => number } = {},
): Service & { newest(): number | undefined } {
  const now = opts.now ?? Date.now;
  const topic = `${peer}.heartbeats`;
  let newest: number | undefined;
  let since = now();
  let consumer: Consumer | undefined;
  const groupId = ephemeralGroupId(`replication-lag-${region}`);
  registry.collect<'source' | 'target'>(
    {
      name: 'meridian_region_replication_lag_seconds',
      help: 'MirrorMaker 2 lag from source to target region: age of the newest MM2 heartbeat mirrored into the target.',
      type: 'gauge',
      labelNames: ['source', 'target'],
    },
    () => [[{ source: peer, target: region }, Math.max(0, (now() - (newest ?? since)) / 1000)]],
  );
  return {
    name: 'replication-lag',
    newest: () => newest,
    async start() {
      since = now();
      consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 500 });
      try {
        await consumer.connect();
        await consumer.subscribe({ topics: [topic], fromBeginning: false });
        await consumer.run({
          autoCommit: false,
          eachMessage: async ({ message }) => {
            const t = heartbeatTime(message.value, message.timestamp);
            if (Number.isFinite(t) && (newest === undefined || t > newest)) newest = t;
          },
        });
      } catch (err) {
        // Not fatal to the region: with no heartbeat ever seen, the reported lag keeps growing.
        opts.log?.(`replication lag: cannot follow ${topic}: ${(err as Error)?.message ?? err}`);
      }
    },
    async stop() {
      await consumer?.disconnect().catch(() => {});
      const admin = await kafka.admin().catch(() => undefined);
      await admin?.deleteGroups([groupId]).catch(() => {});
    },
  };
}
