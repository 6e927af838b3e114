/**
 * The IoT processors' region-wide consumer groups, for tests on a shared development stack.
 * Those groups keep their committed offsets from run to run; after a benchmark or crash test
 * pushed hundreds of thousands of readings, a test region would first chew through that backlog
 * (into its own scratch database) before it saw its own devices. Tests use fresh tenants, so
 * they start the groups at the end of their topics instead.
 */
import { IOT_EVENTS } from '../../domains/iot/events.ts';
import type { KafkaDependency } from '../../infra/adapters/kafka.ts';
import { commitGroupOffsets, endOffsets } from './group-offsets.ts';

/** The IoT module's processors and their event types (regions/iot/module.ts). */
const IOT_PROCESSORS: Record<string, readonly string[]> = {
  'device-activity': [IOT_EVENTS.telemetryRaw, IOT_EVENTS.statusReported],
  'telemetry-windows': [IOT_EVENTS.telemetryRaw],
  'device-replica': [
    IOT_EVENTS.deviceRegistered,
    IOT_EVENTS.credentialsRotated,
    IOT_EVENTS.deviceRevoked,
    IOT_EVENTS.jobUpdated,
  ],
  'access-revoker': [IOT_EVENTS.deviceRevoked],
  'firmware-progress': [IOT_EVENTS.progressReported],
};

/** Service names for RegionOptions.processors: only IoT's consumer groups. */
export const IOT_PROCESSOR_SERVICES: readonly string[] = Object.keys(IOT_PROCESSORS).map((p) => `iot.${p}`);

/**
 * Moves each IoT processor group of `region` (which must have no live member) to the end of its
 * local and mirrored topics, where it is not there already. Groups move in parallel, each in one
 * join (e2e/support/group-offsets.ts).
 */
export async function skipIotBacklog(kafka: KafkaDependency, region: string, peer: string): Promise<void> {
  const admin = await kafka.admin();
  await Promise.all(
    Object.entries(IOT_PROCESSORS).map(async ([p, types]) => {
      const groupId = `iot-${p}-${region}`;
      const topics = types.flatMap((t) => [t, `${peer}.${t}`]);
      const committed = await admin.fetchOffsets({ groupId, topics });
      // A mirrored topic appears once MirrorMaker 2 has copied something: none yet, nothing to skip.
      const ends = (await Promise.all(topics.map((t) => endOffsets(kafka, [t]).catch(() => [])))).flat();
      // Explicit end offsets: kafkajs' resetOffsets commits -1, which a consumer reads as "no
      // offset" and then starts from the beginning (fromBeginning).
      const behind = ends.filter(({ topic, partitions }) => {
        const at = committed.find((c) => c.topic === topic)?.partitions ?? [];
        return partitions.some(
          (e) => e.offset !== '0' && at.find((a) => a.partition === e.partition)?.offset !== e.offset,
        );
      });
      await commitGroupOffsets(kafka, groupId, behind);
    }),
  );
}
