/**
 * What the region's processors do with what devices publish (raw events from the bridges of
 * both regions): keep online/last seen and the latest reading on the device, and fold readings
 * into one-minute windows exactly once.
 */
import type { Reading } from './device.ts';
import type { StatusData, TelemetryData } from './events.ts';
import type { DeviceActivity, TelemetryWindows } from './ports.ts';
import { windowPoints } from './windows.ts';

/** The reading a telemetry event carries. */
export function readingOf(data: TelemetryData): Reading {
  return { seq: data.seq, ts: data.ts, receivedAt: data.receivedAt, metrics: data.metrics };
}

/** Last seen and latest reading (idempotent, order-tolerant). */
export function recordTelemetry(activity: DeviceActivity, tenant: string, data: TelemetryData): Promise<void> {
  return activity.recordReading(tenant, data.deviceId, readingOf(data));
}

/** recordTelemetry for a run of events (one statement for them all). */
export function recordTelemetryBatch(
  activity: DeviceActivity,
  events: ReadonlyArray<{ tenant: string; data: TelemetryData }>,
): Promise<void> {
  return activity.recordReadings(
    events.map((e) => ({ tenant: e.tenant, id: e.data.deviceId, reading: readingOf(e.data) })),
  );
}

/** Online/offline as reported (the device on connect, its will when it is gone). */
export function recordStatus(activity: DeviceActivity, tenant: string, data: StatusData): Promise<void> {
  return activity.recordStatus(tenant, data.deviceId, data.online, data.receivedAt);
}

/** aggregateTelemetry for a run of events, in one transaction; resolves with how many were new. */
export function aggregateTelemetryBatch(
  windows: TelemetryWindows,
  consumer: string,
  events: ReadonlyArray<{ id: string; tenant: string; data: TelemetryData }>,
  graceMs?: number,
): Promise<number> {
  return windows.addManyOnce(
    consumer,
    events.map((e) => ({
      eventId: e.id,
      tenant: e.tenant,
      deviceId: e.data.deviceId,
      points: windowPoints(readingOf(e.data), graceMs),
    })),
  );
}

/** Folds a reading into its windows once per event id; false when it was applied before. */
export function aggregateTelemetry(
  windows: TelemetryWindows,
  consumer: string,
  eventId: string,
  tenant: string,
  data: TelemetryData,
  graceMs?: number,
): Promise<boolean> {
  return windows.addOnce(consumer, eventId, tenant, data.deviceId, windowPoints(readingOf(data), graceMs));
}
