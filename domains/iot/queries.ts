/** Reads of a device's telemetry windows and firmware jobs, in the caller's tenant. */
import { type Actor, hasScope } from '../shared/actor.ts';
import { DomainError } from '../shared/errors.ts';
import { assertDeviceId, bad, DEVICES_READ } from './device.ts';
import type { FirmwareOrchestrator, TelemetryWindows } from './ports.ts';
import type { Job } from './rollout.ts';
import { type TelemetryWindow, telemetryRange, WINDOW_MS } from './windows.ts';

function requireRead(actor: Actor): void {
  if (!hasScope(actor, DEVICES_READ)) throw new DomainError('FORBIDDEN', `this needs the ${DEVICES_READ} scope`);
}

/** A window as the graph shows it: with its end and average. */
export interface WindowView extends TelemetryWindow {
  readonly end: string;
  readonly avg: number;
}

/** One-minute windows of a metric of the caller's device, for windows starting in [from, to). */
export async function deviceTelemetry(
  deps: { windows: TelemetryWindows },
  actor: Actor,
  deviceId: string,
  args: { metric: string; from: string; to: string },
): Promise<WindowView[]> {
  requireRead(actor);
  assertDeviceId(deviceId);
  const range = telemetryRange(args.metric, args.from, args.to);
  const windows = await deps.windows.query(actor.tenant, deviceId, range.metric, range.from, range.to);
  return windows.map((w) => ({
    ...w,
    end: new Date(Date.parse(w.start) + WINDOW_MS).toISOString(),
    avg: w.sum / w.count,
  }));
}

/** The caller's device's firmware jobs, newest first (1-100). */
export async function deviceJobs(
  deps: { orchestrator: FirmwareOrchestrator },
  actor: Actor,
  deviceId: string,
  first: number | null | undefined,
): Promise<Job[]> {
  requireRead(actor);
  assertDeviceId(deviceId);
  const n = first ?? 20;
  if (!Number.isInteger(n) || n < 1 || n > 100) throw bad('first must be 1-100', 'first');
  return deps.orchestrator.jobsOfDevice(actor.tenant, deviceId, n);
}
