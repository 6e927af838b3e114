/**
 * IoT on the hub: a device's topic `device.<id>` (its latest readings, online/offline, its
 * firmware jobs) and a rollout's topic `rollout.<uuid>` (job updates, the end). Topics are
 * relative to the client's tenant (the host scopes them), so a device id names the device of
 * the caller's tenant only; following needs the devices:read scope and a device (rollout) that
 * exists in that tenant — a missing one and someone else's look the same (not allowed).
 */
import { DEVICES_READ } from '../../domains/iot/device.ts';
import {
  IOT_EVENTS,
  type JobUpdatedData,
  type RolloutFinishedData,
  type StatusData,
  type TelemetryData,
} from '../../domains/iot/events.ts';
import { DEVICE_ID } from '../../domains/iot/topics.ts';
import type { Envelope } from '../../infra/events/envelope.ts';
import type { HubFeed, HubPublication, HubTopic } from '../host/domain-module.ts';
import { topicSegment } from '../hub/topics.ts';

const DEVICE_TOPIC = /^device\.([a-z0-9_:-]{1,200})$/;
const ROLLOUT_TOPIC = /^rollout\.([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/** The hub topic of a device: `device.<id>` (upper-case letters escaped by topicSegment, e.g. `S` → `:53`). */
export function deviceTopic(deviceId: string): string {
  return `device.${topicSegment(deviceId)}`;
}

/** The hub topic of a rollout. */
export function rolloutTopic(rolloutId: string): string {
  return `rollout.${rolloutId.toLowerCase()}`;
}

/** The device id a topic segment stands for (undoes topicSegment), or undefined. */
export function deviceIdOfTopic(topic: string): string | undefined {
  const m = DEVICE_TOPIC.exec(topic);
  if (!m) return undefined;
  const id = (m[1] as string).replace(/:([0-9a-f]{2})/g, (_, hex: string) =>
    String.fromCharCode(Number.parseInt(hex, 16)),
  );
  return DEVICE_ID.test(id) && deviceTopic(id) === topic ? id : undefined;
}

export interface IotHubLookups {
  deviceExists(tenant: string, deviceId: string): Promise<boolean>;
  rolloutExists(tenant: string, rolloutId: string): Promise<boolean>;
}

/** Who may follow IoT topics: holders of devices:read, for devices and rollouts of their tenant. */
export function iotHubTopics(lookups: IotHubLookups): HubTopic[] {
  return [
    {
      pattern: DEVICE_TOPIC,
      async authorize(actor, topic) {
        const id = deviceIdOfTopic(topic);
        return (
          id !== undefined && actor.scopes.includes(DEVICES_READ) && (await lookups.deviceExists(actor.tenant, id))
        );
      },
    },
    {
      pattern: ROLLOUT_TOPIC,
      async authorize(actor, topic) {
        const id = ROLLOUT_TOPIC.exec(topic)?.[1];
        return (
          id !== undefined && actor.scopes.includes(DEVICES_READ) && (await lookups.rolloutExists(actor.tenant, id))
        );
      },
    },
  ];
}

const FED: readonly string[] = [
  IOT_EVENTS.telemetryRaw,
  IOT_EVENTS.statusReported,
  IOT_EVENTS.jobUpdated,
  IOT_EVENTS.rolloutFinished,
];

/** Readings and status to the device's topic, job updates to the device's and the rollout's, ends to the rollout's. */
export const iotHubFeed: HubFeed = {
  topics: FED,
  publications(event: Envelope): HubPublication[] {
    const message = (data: unknown) => ({ id: event.id, event: event.type, data });
    switch (event.type) {
      case IOT_EVENTS.telemetryRaw: {
        const d = event.data as TelemetryData;
        const data = { deviceId: d.deviceId, seq: d.seq, ts: d.ts, metrics: d.metrics, receivedAt: d.receivedAt };
        return [{ topic: deviceTopic(d.deviceId), message: message(data) }];
      }
      case IOT_EVENTS.statusReported: {
        const d = event.data as StatusData;
        const data = { deviceId: d.deviceId, online: d.online, at: d.receivedAt, region: d.region };
        return [{ topic: deviceTopic(d.deviceId), message: message(data) }];
      }
      case IOT_EVENTS.jobUpdated: {
        const d = event.data as JobUpdatedData;
        return [
          { topic: deviceTopic(d.deviceId), message: message(d) },
          { topic: rolloutTopic(d.rolloutId), message: message(d) },
        ];
      }
      case IOT_EVENTS.rolloutFinished: {
        const d = event.data as RolloutFinishedData;
        return [{ topic: rolloutTopic(d.rolloutId), message: message(d) }];
      }
      default:
        return [];
    }
  },
};
