/**
 * A device in the registry: who it is (tenant + id, unique per tenant), what it is (name,
 * model, firmware), whether it may connect (ACTIVE until revoked, for good) and what it was
 * last seen doing (online, last seen, latest reading).
 */
import { DomainError } from '../shared/errors.ts';
import { DEVICE_ID } from './topics.ts';

export type DeviceState = 'ACTIVE' | 'REVOKED';

/** One telemetry reading as the device sent it, plus when the platform received it. */
export interface Reading {
  /** The device's message counter: strictly increasing, one per telemetry message. */
  readonly seq: number;
  /** Device time of the reading. */
  readonly ts: string;
  /** When the bridge received it. */
  readonly receivedAt: string;
  readonly metrics: Readonly<Record<string, number>>;
}

export interface Device {
  readonly tenant: string;
  readonly id: string;
  readonly name: string;
  readonly model: string;
  readonly firmwareVersion: string;
  readonly state: DeviceState;
  /** Bumped by every rotation; the broker holds only the current password. */
  readonly credentialVersion: number;
  /** The region whose registry registered it. */
  readonly homeRegion: string;
  readonly registeredAt: string;
  readonly updatedAt: string;
  readonly revokedAt: string | null;
  readonly online: boolean;
  readonly lastSeenAt: string | null;
  readonly latestReading: Reading | null;
  /** Bumped by every registry change (register, rotate, revoke, firmware): orders the replicas. */
  readonly version: number;
}

export const MODEL = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const FIRMWARE_VERSION = /^[0-9A-Za-z][0-9A-Za-z.+_-]{0,31}$/;
export const MAX_NAME = 100;

export const DEVICES_READ = 'devices:read';
export const DEVICES_WRITE = 'devices:write';

/** A BAD_USER_INPUT naming the field. */
export function bad(message: string, field: string): DomainError {
  return new DomainError('BAD_USER_INPUT', message, { details: { field } });
}

/** Throws BAD_USER_INPUT unless `id` is a device id. */
export function assertDeviceId(id: unknown, field = 'id'): asserts id is string {
  if (typeof id !== 'string' || !DEVICE_ID.test(id)) {
    throw bad('a device id is 1-64 of [A-Za-z0-9_-], starting with a letter or digit', field);
  }
}

export interface RegistrationInput {
  /** The tenant's id for the device; generated when absent. */
  readonly id?: string | null;
  readonly name: string;
  readonly model: string;
  readonly firmwareVersion: string;
}

/** The validated fields of a registration. */
export function validateRegistration(
  input: RegistrationInput,
  newId: () => string,
): { id: string; name: string; model: string; firmwareVersion: string } {
  const id = input.id ?? newId();
  assertDeviceId(id);
  const name = typeof input.name === 'string' ? input.name.trim() : '';
  if (name === '' || name.length > MAX_NAME || /\p{Cc}/u.test(name)) {
    throw bad(`name must be 1-${MAX_NAME} printable characters`, 'name');
  }
  if (typeof input.model !== 'string' || !MODEL.test(input.model)) {
    throw bad('model must be 1-64 of [A-Za-z0-9._-]', 'model');
  }
  if (typeof input.firmwareVersion !== 'string' || !FIRMWARE_VERSION.test(input.firmwareVersion)) {
    throw bad('firmwareVersion must be 1-32 of [0-9A-Za-z.+_-]', 'firmwareVersion');
  }
  return { id, name, model: input.model, firmwareVersion: input.firmwareVersion };
}

/** Page size of `devices(first)`: 1-100, 20 by default. */
export function devicePageSize(first: number | null | undefined): number {
  if (first === undefined || first === null) return 20;
  if (!Number.isInteger(first) || first < 1 || first > 100) throw bad('first must be 1-100', 'first');
  return first;
}

/** The device with a reading applied: last seen moves forward, the latest reading is the one with the highest seq. */
export function withReading(device: Device, reading: Reading): Device {
  const newer = device.latestReading === null || reading.seq > device.latestReading.seq;
  const seen =
    device.lastSeenAt === null || reading.receivedAt > device.lastSeenAt ? reading.receivedAt : device.lastSeenAt;
  return { ...device, lastSeenAt: seen, latestReading: newer ? reading : device.latestReading };
}
