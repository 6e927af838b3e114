/**
 * IoT domain events. The type is also the Kafka topic (`iot.<context>.<event>.v<N>`); the
 * subject (the Kafka key) is the device's MQTT id `<tenant>.<deviceId>` for device events, so one
 * device's events keep their order, and the rollout id for rollout events.
 *
 * Three of them come from devices, through the MQTT bridge, not from a transaction: raw
 * telemetry, status reports and firmware job progress. The rest are written with the state
 * change they describe (transactional outbox).
 */
import type { DomainEvent } from '../shared/events.ts';
import type { JobStatus, RolloutStatus } from './rollout.ts';

export const IOT_EVENTS = {
  deviceRegistered: 'iot.device.registered.v1',
  credentialsRotated: 'iot.credentials.rotated.v1',
  deviceRevoked: 'iot.device.revoked.v1',
  statusReported: 'iot.status.reported.v1',
  telemetryRaw: 'iot.telemetry.raw.v1',
  rolloutStarted: 'iot.rollout.started.v1',
  rolloutFinished: 'iot.rollout.finished.v1',
  jobUpdated: 'iot.job.updated.v1',
  progressReported: 'iot.progress.reported.v1',
} as const;

export type IotEventType = (typeof IOT_EVENTS)[keyof typeof IOT_EVENTS];

/** A device's registry record as its events carry it (no credential, not even its hash). */
export interface DeviceRecordData {
  readonly deviceId: string;
  readonly name: string;
  readonly model: string;
  readonly firmwareVersion: string;
  readonly state: 'ACTIVE' | 'REVOKED';
  readonly credentialVersion: number;
  readonly homeRegion: string;
  readonly registeredAt: string;
  readonly revokedAt: string | null;
  readonly version: number;
}

/** `iot.telemetry.raw.v1`: one telemetry message, as the device sent it. */
export interface TelemetryData {
  readonly deviceId: string;
  readonly seq: number;
  readonly ts: string;
  readonly metrics: Readonly<Record<string, number>>;
  readonly receivedAt: string;
  /** The region whose broker received it. */
  readonly region: string;
}

/** `iot.status.reported.v1`: the device said it is online, or its will said it is gone. */
export interface StatusData {
  readonly deviceId: string;
  readonly online: boolean;
  readonly receivedAt: string;
  readonly region: string;
}

/** `iot.progress.reported.v1`: the device's report on a firmware job. */
export interface ProgressData {
  readonly deviceId: string;
  readonly jobId: string;
  readonly status: 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED';
  readonly progress?: number;
  readonly reason?: string;
  readonly receivedAt: string;
  readonly region: string;
}

export interface RolloutStartedData {
  readonly rolloutId: string;
  readonly version: string;
  readonly jobs: number;
}

export interface RolloutFinishedData {
  readonly rolloutId: string;
  readonly status: RolloutStatus;
  readonly reason: string | null;
  readonly counts: Readonly<Record<JobStatus, number>>;
}

/** `iot.job.updated.v1`: a job moved to another state (or its progress moved). */
export interface JobUpdatedData {
  readonly rolloutId: string;
  readonly jobId: string;
  readonly deviceId: string;
  readonly status: JobStatus;
  readonly progress: number;
  readonly reason: string | null;
  /** The firmware the job installs (a SUCCEEDED job means the device runs it now). */
  readonly firmwareVersion: string;
  readonly version: number;
}

export type IotEvent<D = unknown> = DomainEvent<IotEventType, D>;

/** An event about a device (subject: its MQTT id). */
export function deviceEvent<D>(type: IotEventType, tenant: string, mqttId: string, data: D): IotEvent<D> {
  return { type, subject: mqttId, tenant, data };
}
