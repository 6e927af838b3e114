/**
 * The device registry's use cases: register (credentials returned once, only their hash kept),
 * rotate credentials, revoke, and the tenant-scoped reads. Every call acts in the caller's
 * tenant only: another tenant's device is simply not found.
 *
 * Order of effects, chosen so a failure never leaves a device that works without being known:
 * - register: reserve the id → create the user and role on every broker → record the device
 *   and its event; a broker failure releases the reservation, a record failure removes the
 *   broker users again.
 * - rotate: new password on every broker first (the device is disconnected and needs the new
 *   one), then the record; a failure asks the caller to rotate again.
 * - revoke: the record first (revoked even if a broker is down), then every broker; each
 *   region's processor repeats the broker step from the event until it succeeds.
 */
import { type Actor, hasScope } from '../shared/actor.ts';
import { DomainError } from '../shared/errors.ts';
import {
  assertDeviceId,
  DEVICES_READ,
  DEVICES_WRITE,
  type Device,
  devicePageSize,
  type RegistrationInput,
  validateRegistration,
} from './device.ts';
import { type DeviceRecordData, deviceEvent, IOT_EVENTS } from './events.ts';
import type { BrokerDirectory, Clock, CredentialMinter, DeviceAccess, DeviceRegistry, IdGenerator } from './ports.ts';
import { deviceGrants, deviceTopics, mqttIdOf } from './topics.ts';

export interface RegistryDeps {
  readonly registry: DeviceRegistry;
  readonly access: DeviceAccess;
  readonly minter: CredentialMinter;
  readonly brokers: BrokerDirectory;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  /** This region's name (the device's home region when registered here). */
  readonly region: string;
  readonly log?: (line: string) => void;
}

/** What a device needs to connect: returned by register and rotate, never stored in clear. */
export interface MqttCredentials {
  readonly username: string;
  readonly password: string;
  readonly clientId: string;
  readonly brokers: ReadonlyArray<{ readonly region: string; readonly url: string }>;
  readonly topics: {
    readonly telemetry: string;
    readonly status: string;
    readonly jobProgress: string;
    readonly commands: string;
    readonly rejected: string;
  };
  readonly credentialVersion: number;
}

export interface Registration {
  readonly device: Device;
  readonly credentials: MqttCredentials;
}

function requireScope(actor: Actor, scope: string): void {
  if (!hasScope(actor, scope)) throw new DomainError('FORBIDDEN', `this needs the ${scope} scope`);
}

function notFound(id: string): DomainError {
  return new DomainError('DEVICE_NOT_FOUND', `no device ${id}`, { details: { deviceId: id } });
}

/** The device's registry record as events carry it. */
export function deviceRecord(d: Device): DeviceRecordData {
  return {
    deviceId: d.id,
    name: d.name,
    model: d.model,
    firmwareVersion: d.firmwareVersion,
    state: d.state,
    credentialVersion: d.credentialVersion,
    homeRegion: d.homeRegion,
    registeredAt: d.registeredAt,
    revokedAt: d.revokedAt,
    version: d.version,
  };
}

function credentials(deps: RegistryDeps, device: Device, password: string): MqttCredentials {
  const mqttId = mqttIdOf(device.tenant, device.id);
  const t = deviceTopics(mqttId);
  return {
    username: mqttId,
    password,
    clientId: mqttId,
    brokers: deps.brokers.brokers(),
    topics: {
      telemetry: t.telemetry,
      status: t.status,
      jobProgress: t.jobProgressFilter,
      commands: t.commands,
      rejected: t.rejected,
    },
    credentialVersion: device.credentialVersion,
  };
}

/** Registers a device in the caller's tenant and returns its MQTT credentials (the only time the password is seen). */
export async function registerDevice(
  deps: RegistryDeps,
  actor: Actor,
  input: RegistrationInput,
): Promise<Registration> {
  requireScope(actor, DEVICES_WRITE);
  const fields = validateRegistration(input, () => deps.ids.uuid());
  const tenant = actor.tenant;
  const now = deps.clock.now();
  if (!(await deps.registry.reserve(tenant, fields.id, now))) {
    throw new DomainError('DEVICE_ALREADY_EXISTS', `device ${fields.id} already exists`, {
      details: { deviceId: fields.id },
    });
  }
  const mqttId = mqttIdOf(tenant, fields.id);
  const password = deps.minter.newPassword();
  try {
    await deps.access.grant(mqttId, password, deviceGrants(mqttId));
  } catch (err) {
    await deps.registry.release(tenant, fields.id).catch(() => {});
    throw err;
  }
  const device: Device = {
    tenant,
    ...fields,
    state: 'ACTIVE',
    credentialVersion: 1,
    homeRegion: deps.region,
    registeredAt: now,
    updatedAt: now,
    revokedAt: null,
    online: false,
    lastSeenAt: null,
    latestReading: null,
    version: 1,
  };
  try {
    await deps.registry.activate(device, deps.minter.hash(password), [
      deviceEvent(IOT_EVENTS.deviceRegistered, tenant, mqttId, deviceRecord(device)),
    ]);
  } catch (err) {
    await deps.access.revoke(mqttId).catch((e) => deps.log?.(`iot: undo of ${mqttId} at the brokers failed: ${e}`));
    await deps.registry.release(tenant, fields.id).catch(() => {});
    throw err;
  }
  return { device, credentials: credentials(deps, device, password) };
}

/** New credentials for an active device: the old password stops working at once, the connected device is disconnected. */
export async function rotateCredentials(deps: RegistryDeps, actor: Actor, id: string): Promise<Registration> {
  requireScope(actor, DEVICES_WRITE);
  assertDeviceId(id);
  const current = await deps.registry.get(actor.tenant, id);
  if (!current) throw notFound(id);
  if (current.state === 'REVOKED') {
    throw new DomainError('DEVICE_REVOKED', `device ${id} is revoked`, { details: { deviceId: id } });
  }
  const mqttId = mqttIdOf(actor.tenant, id);
  const password = deps.minter.newPassword();
  await deps.access.setPassword(mqttId, password);
  const now = deps.clock.now();
  let revokedMeanwhile = false;
  const device = await deps.registry.update(actor.tenant, id, (d) => {
    if (d.state === 'REVOKED') {
      revokedMeanwhile = true;
      return undefined;
    }
    const next: Device = { ...d, credentialVersion: d.credentialVersion + 1, updatedAt: now, version: d.version + 1 };
    return {
      value: next,
      credentialHash: deps.minter.hash(password),
      events: [deviceEvent(IOT_EVENTS.credentialsRotated, actor.tenant, mqttId, deviceRecord(next))],
    };
  });
  if (!device) throw notFound(id);
  if (revokedMeanwhile) {
    // A revoke won the race after our password change: make sure the broker agrees.
    await deps.access.revoke(mqttId);
    throw new DomainError('DEVICE_REVOKED', `device ${id} is revoked`, { details: { deviceId: id } });
  }
  return { device, credentials: credentials(deps, device, password) };
}

/** Revokes a device for good: disconnected now, refused from now on. Revoking twice is harmless. */
export async function revokeDevice(deps: RegistryDeps, actor: Actor, id: string): Promise<Device> {
  requireScope(actor, DEVICES_WRITE);
  assertDeviceId(id);
  const now = deps.clock.now();
  const mqttId = mqttIdOf(actor.tenant, id);
  const device = await deps.registry.update(actor.tenant, id, (d) => {
    if (d.state === 'REVOKED') return undefined;
    const next: Device = {
      ...d,
      state: 'REVOKED',
      revokedAt: now,
      online: false,
      updatedAt: now,
      version: d.version + 1,
    };
    return { value: next, events: [deviceEvent(IOT_EVENTS.deviceRevoked, actor.tenant, mqttId, deviceRecord(next))] };
  });
  if (!device) throw notFound(id);
  try {
    await deps.access.revoke(mqttId);
  } catch (err) {
    // Recorded as revoked; each region's revocation processor retries the brokers from the event.
    deps.log?.(`iot: revoking ${mqttId} at the brokers failed, the processor will retry: ${(err as Error).message}`);
  }
  return device;
}

/** A device of the caller's tenant, or null. */
export async function getDevice(
  deps: Pick<RegistryDeps, 'registry'>,
  actor: Actor,
  id: string,
): Promise<Device | null> {
  requireScope(actor, DEVICES_READ);
  assertDeviceId(id);
  return (await deps.registry.get(actor.tenant, id)) ?? null;
}

/** A page of the caller's tenant's devices, in id order. */
export async function listDevices(
  deps: Pick<RegistryDeps, 'registry'>,
  actor: Actor,
  first: number | null | undefined,
  after: string | null | undefined,
): Promise<Device[]> {
  requireScope(actor, DEVICES_READ);
  if (after !== undefined && after !== null) assertDeviceId(after, 'after');
  return deps.registry.list(actor.tenant, devicePageSize(first), after ?? undefined);
}
