/**
 * The MQTT contract of a device: its identity on the broker and its topics.
 *
 * Device ids are chosen by the tenant (a serial number, an asset tag) and are unique within
 * the tenant; the same id in two tenants is two devices. On the broker, which has no tenants,
 * a device is its tenant-qualified id `<tenant>.<deviceId>` (the "MQTT id"): its username, its
 * only allowed client id, and the second level of its topics (`devices/acme.sensor-1/telemetry`).
 * Tenants match `[a-z0-9-]` and device ids have no `.`, so the split at the first `.` is
 * unambiguous and no id of one tenant can name another tenant's device.
 */

/** A tenant's name for its device: 1-64 of [A-Za-z0-9_-], starting with a letter or digit. */
export const DEVICE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
/** Same rule as the event envelope's `tenant`. */
export const TENANT = /^[a-z0-9-]{1,64}$/;
/** A firmware job id (a UUID, lower-case). */
export const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The device's identity on the broker: username, client id and topic segment. */
export function mqttIdOf(tenant: string, deviceId: string): string {
  if (!TENANT.test(tenant)) throw new TypeError(`tenant "${tenant}" is not [a-z0-9-]{1,64}`);
  if (!DEVICE_ID.test(deviceId)) throw new TypeError(`device id "${deviceId}" is not ${DEVICE_ID.source}`);
  return `${tenant}.${deviceId}`;
}

/** Splits an MQTT id into tenant and device id; undefined when it is not one. */
export function parseMqttId(mqttId: string): { tenant: string; deviceId: string } | undefined {
  const dot = mqttId.indexOf('.');
  if (dot < 0) return undefined;
  const tenant = mqttId.slice(0, dot);
  const deviceId = mqttId.slice(dot + 1);
  return TENANT.test(tenant) && DEVICE_ID.test(deviceId) ? { tenant, deviceId } : undefined;
}

/** The topics of one device. */
export function deviceTopics(mqttId: string) {
  const base = `devices/${mqttId}`;
  return {
    telemetry: `${base}/telemetry`,
    status: `${base}/status`,
    jobProgress: (jobId: string) => `${base}/jobs/${jobId}/progress`,
    jobProgressFilter: `${base}/jobs/+/progress`,
    commands: `${base}/commands/#`,
    firmwareCommand: `${base}/commands/firmware`,
    /** Where the platform tells the device that a message of its was refused, and why. */
    rejected: `${base}/commands/rejected`,
  } as const;
}

/** What a device publishes, as the bridge reads it from the topic. */
export type DeviceMessageKind = 'telemetry' | 'status' | 'progress';

export interface ParsedDeviceTopic {
  readonly mqttId: string;
  readonly tenant: string;
  readonly deviceId: string;
  readonly kind: DeviceMessageKind;
  /** For `progress`: the firmware job. */
  readonly jobId?: string;
}

/** Reads a device topic the bridge receives; undefined for anything else. */
export function parseDeviceTopic(topic: string): ParsedDeviceTopic | undefined {
  const parts = topic.split('/');
  if (parts[0] !== 'devices' || parts.length < 3) return undefined;
  const mqttId = parts[1] as string;
  const id = parseMqttId(mqttId);
  if (!id) return undefined;
  if (parts.length === 3 && parts[2] === 'telemetry') return { mqttId, ...id, kind: 'telemetry' };
  if (parts.length === 3 && parts[2] === 'status') return { mqttId, ...id, kind: 'status' };
  if (parts.length === 5 && parts[2] === 'jobs' && parts[4] === 'progress' && JOB_ID.test(parts[3] as string)) {
    return { mqttId, ...id, kind: 'progress', jobId: parts[3] as string };
  }
  return undefined;
}

/**
 * One permission on the broker: publish to a topic (`publish`), have messages of a topic
 * delivered (`receive`) or subscribe with a filter (`subscribe`).
 */
export interface TopicGrant {
  readonly action: 'publish' | 'receive' | 'subscribe';
  readonly filter: string;
}

/**
 * What a device may do, and nothing else: publish its telemetry, status and job progress;
 * subscribe to (and receive) its commands. Literal topics: Mosquitto 2.0 substitutes no
 * `%u` in dynamic-security ACLs, so each device gets its own.
 */
export function deviceGrants(mqttId: string): TopicGrant[] {
  const t = deviceTopics(mqttId);
  return [
    { action: 'publish', filter: t.telemetry },
    { action: 'publish', filter: t.status },
    { action: 'publish', filter: t.jobProgressFilter },
    { action: 'subscribe', filter: t.commands },
    { action: 'receive', filter: t.commands },
  ];
}

/** The bridge's shared-subscription group: every bridge connection of a region's broker joins it. */
export const BRIDGE_GROUP = 'meridian-bridge';

/** The bridge's subscriptions (shared: the group splits the load). */
export const BRIDGE_SUBSCRIPTIONS: readonly string[] = [
  `$share/${BRIDGE_GROUP}/devices/+/telemetry`,
  `$share/${BRIDGE_GROUP}/devices/+/status`,
  `$share/${BRIDGE_GROUP}/devices/+/jobs/+/progress`,
];

/** The bridge: its shared subscriptions, delivery of device messages, and the rejection notices it sends. */
export const BRIDGE_GRANTS: readonly TopicGrant[] = [
  ...BRIDGE_SUBSCRIPTIONS.map((filter): TopicGrant => ({ action: 'subscribe', filter })),
  { action: 'receive', filter: 'devices/#' },
  { action: 'publish', filter: 'devices/+/commands/rejected' },
];

/** The command publisher (firmware jobs): publishes to every device's commands. */
export const COMMAND_GRANTS: readonly TopicGrant[] = [{ action: 'publish', filter: 'devices/+/commands/#' }];
