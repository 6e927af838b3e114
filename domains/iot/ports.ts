/**
 * The ports the IoT domain needs, owned here and implemented in infra/iot. Each states its
 * guarantees; adapters run the contract suites beside them (memory in unit tests, the real
 * one against the real service).
 */
import type { DomainEvent } from '../shared/events.ts';
import type { Device, Reading } from './device.ts';
import type { FirmwareCommand, Job, JobReport, Rollout, RolloutInput, RolloutPlan } from './rollout.ts';
import type { SequenceDecision, SequenceItem } from './sequence.ts';
import type { TopicGrant } from './topics.ts';
import type { TelemetryWindow, WindowPoint } from './windows.ts';

/** A state change and the events it causes, committed together. */
export interface Change<T> {
  readonly value: T;
  readonly events: readonly DomainEvent[];
}

/**
 * The device registry (write side and reads). A registration first reserves its (tenant, id):
 * reserved ids are not devices (get and list skip them) and only the reserver may activate or
 * release them; a reservation older than a minute (its registrar died) may be taken over.
 */
export interface DeviceRegistry {
  /** Reserves (tenant, id) for a registration; false when a device (or a fresh reservation) holds it. */
  reserve(tenant: string, id: string, now: string): Promise<boolean>;
  /** Drops a reservation this registration made (nothing else). */
  release(tenant: string, id: string): Promise<void>;
  /** Turns the reservation into the device, storing the credential's hash, with its events, in one transaction. */
  activate(device: Device, credentialHash: string, events: readonly DomainEvent[]): Promise<void>;
  /** The device, or undefined (unknown, or only reserved). */
  get(tenant: string, id: string): Promise<Device | undefined>;
  /** The tenant's devices in id order, at most `first`, after the id `after` (exclusive). */
  list(tenant: string, first: number, after?: string): Promise<Device[]>;
  /** Active devices of a model in the tenant, in id order (rollout targets), at most `limit`. */
  listByModel(tenant: string, model: string, limit: number): Promise<Device[]>;
  /**
   * Applies `change` to the device under a row lock and commits its new state, the new
   * credential hash (when given) and its events in one transaction. `change` answering undefined
   * changes nothing. Resolves with the device as stored, or undefined when there is no device.
   */
  update(
    tenant: string,
    id: string,
    change: (device: Device) => (Change<Device> & { readonly credentialHash?: string }) | undefined,
  ): Promise<Device | undefined>;
}

/**
 * What devices were last seen doing, kept by the region's processors from the raw events of
 * both regions. Both calls are idempotent and order-tolerant: a repeat or an older report
 * changes nothing.
 */
export interface DeviceActivity {
  /** Online or offline as of `at`, unless a later report was applied already. */
  recordStatus(tenant: string, id: string, online: boolean, at: string): Promise<void>;
  /** Last seen moves forward; the latest reading is the one with the highest seq. */
  recordReading(tenant: string, id: string, reading: Reading): Promise<void>;
  /** recordReading for many readings at once (any devices, any order). */
  recordReadings(readings: ReadonlyArray<{ tenant: string; id: string; reading: Reading }>): Promise<void>;
}

/** The other region's registry changes, applied here (a copy: newer versions win, repeats change nothing). */
export interface DeviceReplica {
  apply(tenant: string, device: Omit<Device, 'online' | 'lastSeenAt' | 'latestReading' | 'updatedAt'>): Promise<void>;
  /** A job SUCCEEDED: the device runs `firmwareVersion` now (if that job is newer than what set the current one). */
  setFirmware(tenant: string, id: string, firmwareVersion: string): Promise<void>;
}

/**
 * Device credentials and permissions at the brokers (every broker a device may connect to).
 * Guarantees: `grant` creates or replaces the device's user and role everywhere, or fails
 * having removed what it created; `setPassword` takes effect at once (the connected device is
 * disconnected and must log in with the new password); `revoke` disconnects the device within
 * a moment and refuses its next CONNECT, and is idempotent. Failures: DEPENDENCY_UNAVAILABLE
 * (retryable) naming the broker.
 */
export interface DeviceAccess {
  grant(mqttId: string, password: string, grants: readonly TopicGrant[]): Promise<void>;
  setPassword(mqttId: string, password: string): Promise<void>;
  revoke(mqttId: string): Promise<void>;
}

/** Fresh device passwords and their one-way hashes (only the hash is stored). */
export interface CredentialMinter {
  /** A new random password (at least 128 bits). */
  newPassword(): string;
  hash(password: string): string;
}

/** Where devices connect: every region's broker (the first is the region's own). */
export interface BrokerDirectory {
  brokers(): ReadonlyArray<{ readonly region: string; readonly url: string }>;
}

/**
 * Per device, per metric, one-minute windows. `addOnce` applies a reading's points exactly once
 * per (consumer, eventId), together with the processed mark; order does not matter.
 */
export interface TelemetryWindows {
  addOnce(
    consumer: string,
    eventId: string,
    tenant: string,
    deviceId: string,
    points: readonly WindowPoint[],
  ): Promise<boolean>;
  /** addOnce for many events in one transaction; resolves with how many were new. */
  addManyOnce(
    consumer: string,
    items: ReadonlyArray<{ eventId: string; tenant: string; deviceId: string; points: readonly WindowPoint[] }>,
  ): Promise<number>;
  /** Windows of a metric starting in [from, to), oldest first. */
  query(tenant: string, deviceId: string, metric: string, from: string, to: string): Promise<TelemetryWindow[]>;
}

/**
 * Rollouts and their jobs. `step` serialises work on one rollout (a row lock): the dispatcher
 * plans, sends (through `send`, before anything is recorded: a device may get a command twice,
 * never lose one), then the planned changes and their events commit in one transaction.
 */
export interface RolloutStore {
  create(rollout: Rollout, jobs: readonly Job[], events: readonly DomainEvent[]): Promise<void>;
  get(tenant: string, id: string): Promise<{ rollout: Rollout; jobs: Job[] } | undefined>;
  /** A device's jobs in its tenant, newest first, at most `first`. */
  jobsOfDevice(tenant: string, deviceId: string, first: number): Promise<Job[]>;
  /** Ids of rollouts still IN_PROGRESS (any tenant), oldest first. */
  active(limit: number): Promise<string[]>;
  /**
   * Locks the rollout (skipping it if another dispatcher holds it: resolves false), plans with
   * `plan`, calls `send` for each job to send (a job whose send fails stays QUEUED), then commits
   * `commit`'s changes (the rollout and the jobs it returns) and events.
   */
  step(
    id: string,
    plan: (rollout: Rollout, jobs: readonly Job[]) => RolloutPlan,
    send: (rollout: Rollout, job: Job) => Promise<void>,
    commit: (
      rollout: Rollout,
      jobs: readonly Job[],
      plan: RolloutPlan,
      sent: readonly Job[],
    ) => Change<{ rollout: Rollout; jobs: Job[] }>,
  ): Promise<boolean>;
  /**
   * Applies a device's report to its job once per (consumer, eventId), with the processed mark.
   * Resolves with the updated job, or undefined when nothing changed (repeat, unknown job, a job
   * of another device, a finished job).
   */
  reportOnce(
    consumer: string,
    eventId: string,
    tenant: string,
    deviceId: string,
    jobId: string,
    change: (job: Job, rollout: Rollout) => Change<Job> | undefined,
  ): Promise<Job | undefined>;
}

/** Sends commands to devices (QoS 1: kept for an offline device with a session until it reconnects). */
export interface CommandSender {
  sendFirmware(mqttId: string, command: FirmwareCommand): Promise<void>;
}

/** The firmware orchestrator as the graph reaches it (over gRPC). */
export interface FirmwareOrchestrator {
  start(tenant: string, input: RolloutInput): Promise<{ rollout: Rollout; jobs: Job[] }>;
  get(tenant: string, rolloutId: string): Promise<{ rollout: Rollout; jobs: Job[] } | undefined>;
  jobsOfDevice(tenant: string, deviceId: string, first: number): Promise<Job[]>;
}

/** The shared ordering gate of the bridges (see sequence.ts): same rules, atomic across processes. */
export interface SequenceGate {
  /** `inFlight`: numbers being produced, not settled yet (see sequence.ts `decide`). */
  decide(
    items: readonly SequenceItem[],
    inFlight?: readonly Omit<SequenceItem, 'redelivered'>[],
  ): Promise<SequenceDecision[]>;
  settle(items: readonly Omit<SequenceItem, 'redelivered'>[]): Promise<void>;
  skipTo(key: string, seq: number): Promise<void>;
  hole(key: string): Promise<void>;
}

export interface Clock {
  now(): string;
}
export interface IdGenerator {
  uuid(): string;
}

export type { JobReport };
