/**
 * Firmware rollouts' use cases. The graph side (`startFirmwareRollout`, `rollout`) checks the
 * caller and goes to the firmware orchestrator (over gRPC); the orchestrator side creates the
 * rollout and its jobs, dispatches commands within the concurrency cap, applies devices'
 * progress reports and stops a failing rollout (rollout.ts has the rules).
 */
import { type Actor, hasScope } from '../shared/actor.ts';
import { DomainError } from '../shared/errors.ts';
import { DEVICES_READ } from './device.ts';
import {
  deviceEvent,
  IOT_EVENTS,
  type JobUpdatedData,
  type ProgressData,
  type RolloutFinishedData,
  type RolloutStartedData,
} from './events.ts';
import type {
  Change,
  Clock,
  CommandSender,
  DeviceRegistry,
  FirmwareOrchestrator,
  IdGenerator,
  RolloutStore,
} from './ports.ts';
import {
  applyReport,
  commandOf,
  FIRMWARE_WRITE,
  type Job,
  jobCounts,
  MAX_TARGETS,
  moveJob,
  planRollout,
  type Rollout,
  type RolloutInput,
  validateRolloutInput,
} from './rollout.ts';
import { mqttIdOf } from './topics.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Starts a rollout in the caller's tenant (needs firmware:write). */
export async function startRollout(
  deps: { orchestrator: FirmwareOrchestrator },
  actor: Actor,
  input: RolloutInput,
): Promise<{ rollout: Rollout; jobs: Job[] }> {
  if (!hasScope(actor, FIRMWARE_WRITE)) throw new DomainError('FORBIDDEN', `this needs the ${FIRMWARE_WRITE} scope`);
  validateRolloutInput(input); // fail fast, before the call; the orchestrator checks again
  return deps.orchestrator.start(actor.tenant, input);
}

/** A rollout of the caller's tenant with its jobs, or null. */
export async function getRollout(
  deps: { orchestrator: FirmwareOrchestrator },
  actor: Actor,
  id: string,
): Promise<{ rollout: Rollout; jobs: Job[] } | null> {
  if (!hasScope(actor, DEVICES_READ)) throw new DomainError('FORBIDDEN', `this needs the ${DEVICES_READ} scope`);
  if (!UUID.test(id)) return null;
  return (await deps.orchestrator.get(actor.tenant, id)) ?? null;
}

export interface OrchestratorDeps {
  readonly rollouts: RolloutStore;
  readonly registry: DeviceRegistry;
  readonly commands: CommandSender;
  readonly clock: Clock;
  readonly ids: IdGenerator;
}

/** The event of a job's new state. */
export function jobEvent(rollout: Pick<Rollout, 'version'>, job: Job) {
  const data: JobUpdatedData = {
    rolloutId: job.rolloutId,
    jobId: job.id,
    deviceId: job.deviceId,
    status: job.status,
    progress: job.progress,
    reason: job.reason,
    firmwareVersion: rollout.version,
    version: job.version,
  };
  return deviceEvent(IOT_EVENTS.jobUpdated, job.tenant, mqttIdOf(job.tenant, job.deviceId), data);
}

/** Creates a rollout: one QUEUED job per target device (active devices of the tenant only). */
export async function createRollout(
  deps: OrchestratorDeps,
  tenant: string,
  input: RolloutInput,
): Promise<{ rollout: Rollout; jobs: Job[] }> {
  const valid = validateRolloutInput(input);
  let deviceIds: readonly string[];
  if ('deviceIds' in valid.target) {
    deviceIds = valid.target.deviceIds;
    for (const id of deviceIds) {
      const d = await deps.registry.get(tenant, id);
      if (!d) throw new DomainError('DEVICE_NOT_FOUND', `no device ${id}`, { details: { deviceId: id } });
      if (d.state === 'REVOKED') {
        throw new DomainError('DEVICE_REVOKED', `device ${id} is revoked`, { details: { deviceId: id } });
      }
    }
  } else {
    deviceIds = (await deps.registry.listByModel(tenant, valid.target.model, MAX_TARGETS + 1)).map((d) => d.id);
    if (deviceIds.length === 0) {
      throw new DomainError('BAD_USER_INPUT', `no active device of model ${valid.target.model}`, {
        details: { field: 'model' },
      });
    }
    if (deviceIds.length > MAX_TARGETS) {
      throw new DomainError('BAD_USER_INPUT', `more than ${MAX_TARGETS} devices of this model`, {
        details: { field: 'model' },
      });
    }
  }
  const now = deps.clock.now();
  const rollout: Rollout = {
    id: deps.ids.uuid(),
    tenant,
    version: valid.version,
    url: valid.url,
    checksum: valid.checksum,
    policy: valid.policy,
    status: 'IN_PROGRESS',
    reason: null,
    createdAt: now,
    updatedAt: now,
  };
  const jobs: Job[] = deviceIds.map((deviceId, position) => ({
    id: deps.ids.uuid(),
    rolloutId: rollout.id,
    tenant,
    deviceId,
    position,
    status: 'QUEUED',
    progress: 0,
    reason: null,
    sentAt: null,
    updatedAt: now,
    version: 1,
  }));
  const started: RolloutStartedData = { rolloutId: rollout.id, version: rollout.version, jobs: jobs.length };
  await deps.rollouts.create(rollout, jobs, [
    { type: IOT_EVENTS.rolloutStarted, subject: rollout.id, tenant, data: started },
  ]);
  return { rollout, jobs };
}

/**
 * One dispatcher step for a rollout: times out overdue jobs, stops it at the failure threshold,
 * sends commands to fill free slots (command first, then SENT is recorded), finishes it when no
 * job is left. False when another dispatcher holds the rollout right now.
 */
export function dispatchRollout(deps: Pick<OrchestratorDeps, 'rollouts' | 'commands' | 'clock'>, id: string) {
  const now = deps.clock.now();
  return deps.rollouts.step(
    id,
    (rollout, jobs) => planRollout(rollout, jobs, now),
    (rollout, job) => deps.commands.sendFirmware(mqttIdOf(job.tenant, job.deviceId), commandOf(rollout, job)),
    (rollout, all, plan, sent): Change<{ rollout: Rollout; jobs: Job[] }> => {
      const jobs = [...plan.changed, ...sent.map((j) => moveJob(j, 'SENT', now, { sentAt: now }))];
      const events = jobs.map((j) => jobEvent(rollout, j));
      if (!plan.finish) return { value: { rollout, jobs }, events };
      const next: Rollout = { ...rollout, status: plan.finish.status, reason: plan.finish.reason, updatedAt: now };
      const latest = new Map(all.map((j) => [j.id, j]));
      for (const j of jobs) latest.set(j.id, j);
      return { value: { rollout: next, jobs }, events: [...events, finishedEvent(next, [...latest.values()])] };
    },
  );
}

function finishedEvent(rollout: Rollout, jobs: readonly Job[]) {
  const data: RolloutFinishedData = {
    rolloutId: rollout.id,
    status: rollout.status,
    reason: rollout.reason,
    counts: jobCounts(jobs),
  };
  return { type: IOT_EVENTS.rolloutFinished, subject: rollout.id, tenant: rollout.tenant, data };
}

/** Applies a device's progress report to its job once; the updated job, or undefined when nothing changed. */
export function reportProgress(
  deps: Pick<OrchestratorDeps, 'rollouts' | 'clock'>,
  consumer: string,
  eventId: string,
  tenant: string,
  data: ProgressData,
): Promise<Job | undefined> {
  const now = deps.clock.now();
  return deps.rollouts.reportOnce(consumer, eventId, tenant, data.deviceId, data.jobId, (job, rollout) => {
    const next = applyReport(job, data, now);
    return next && { value: next, events: [jobEvent(rollout, next)] };
  });
}
