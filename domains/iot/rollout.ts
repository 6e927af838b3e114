/**
 * Firmware rollouts: one job per target device, sent as a command at most `maxConcurrent` at a
 * time, each moving QUEUED → SENT → IN_PROGRESS → SUCCEEDED | FAILED | TIMED_OUT. Like AWS IoT
 * Jobs' abort configuration, a rollout stops itself once at least `minExecuted` jobs finished
 * and the failed share (FAILED + TIMED_OUT) reaches `failureThresholdPercent`: the jobs still
 * QUEUED are CANCELED (never sent) and the rollout is ABORTED; jobs already on devices finish.
 */
import { DomainError } from '../shared/errors.ts';
import { assertDeviceId, bad, FIRMWARE_VERSION, MODEL } from './device.ts';

export const JOB_STATUSES = ['QUEUED', 'SENT', 'IN_PROGRESS', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELED'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const ROLLOUT_STATUSES = ['IN_PROGRESS', 'SUCCEEDED', 'COMPLETED_WITH_FAILURES', 'ABORTED'] as const;
export type RolloutStatus = (typeof ROLLOUT_STATUSES)[number];

export const FIRMWARE_WRITE = 'firmware:write';
export const CHECKSUM = /^sha256:[0-9a-f]{64}$/;
export const MAX_TARGETS = 1000;

export interface RolloutPolicy {
  readonly maxConcurrent: number;
  readonly failureThresholdPercent: number;
  readonly minExecuted: number;
  readonly jobTimeoutMs: number;
}

export interface Rollout {
  readonly id: string;
  readonly tenant: string;
  /** The firmware version the jobs install. */
  readonly version: string;
  readonly url: string;
  readonly checksum: string;
  readonly policy: RolloutPolicy;
  readonly status: RolloutStatus;
  readonly reason: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface Job {
  readonly id: string;
  readonly rolloutId: string;
  readonly tenant: string;
  readonly deviceId: string;
  /** Dispatch order within the rollout. */
  readonly position: number;
  readonly status: JobStatus;
  readonly progress: number;
  readonly reason: string | null;
  readonly sentAt: string | null;
  readonly updatedAt: string;
  /** Bumped by every change: orders the job's events. */
  readonly version: number;
}

/** What a device receives on `devices/<id>/commands/firmware` (QoS 1). */
export interface FirmwareCommand {
  readonly jobId: string;
  readonly rolloutId: string;
  readonly version: string;
  readonly url: string;
  readonly checksum: string;
  /** Report SUCCEEDED or FAILED within this many seconds of receiving it, or the job times out. */
  readonly timeoutSeconds: number;
}

export interface RolloutInput {
  readonly deviceIds?: readonly string[] | null;
  readonly model?: string | null;
  readonly version: string;
  readonly url: string;
  readonly checksum: string;
  readonly maxConcurrent?: number | null;
  readonly failureThresholdPercent?: number | null;
  readonly minExecuted?: number | null;
  readonly jobTimeoutSeconds?: number | null;
}

export interface ValidRolloutInput {
  readonly target: { readonly deviceIds: readonly string[] } | { readonly model: string };
  readonly version: string;
  readonly url: string;
  readonly checksum: string;
  readonly policy: RolloutPolicy;
}

function intIn(v: number | null | undefined, fallback: number, min: number, max: number, field: string): number {
  const n = v ?? fallback;
  if (!Number.isInteger(n) || n < min || n > max) throw bad(`${field} must be an integer from ${min} to ${max}`, field);
  return n;
}

/** Validates a rollout request: a device list or a model (exactly one), firmware, and the policy. */
export function validateRolloutInput(input: RolloutInput): ValidRolloutInput {
  const hasIds = input.deviceIds !== undefined && input.deviceIds !== null;
  const hasModel = input.model !== undefined && input.model !== null;
  if (hasIds === hasModel) throw bad('give either deviceIds or model', 'deviceIds');
  let target: ValidRolloutInput['target'];
  if (hasIds) {
    const ids = input.deviceIds as readonly string[];
    if (ids.length === 0 || ids.length > MAX_TARGETS)
      throw bad(`deviceIds must hold 1-${MAX_TARGETS} ids`, 'deviceIds');
    for (const id of ids) assertDeviceId(id, 'deviceIds');
    if (new Set(ids).size !== ids.length) throw bad('deviceIds must not repeat an id', 'deviceIds');
    target = { deviceIds: [...ids] };
  } else {
    if (!MODEL.test(input.model as string)) throw bad('model must be 1-64 of [A-Za-z0-9._-]', 'model');
    target = { model: input.model as string };
  }
  if (typeof input.version !== 'string' || !FIRMWARE_VERSION.test(input.version)) {
    throw bad('version must be 1-32 of [0-9A-Za-z.+_-]', 'version');
  }
  let url: URL | undefined;
  try {
    url = new URL(input.url);
  } catch {
    url = undefined;
  }
  if (!url || !['https:', 'http:'].includes(url.protocol) || input.url.length > 2048) {
    throw bad('url must be an http(s) URL of at most 2048 characters', 'url');
  }
  if (typeof input.checksum !== 'string' || !CHECKSUM.test(input.checksum)) {
    throw bad('checksum must be sha256:<64 lower-case hex digits>', 'checksum');
  }
  return {
    target,
    version: input.version,
    url: input.url,
    checksum: input.checksum,
    policy: {
      maxConcurrent: intIn(input.maxConcurrent, 10, 1, 1000, 'maxConcurrent'),
      failureThresholdPercent: intIn(input.failureThresholdPercent, 20, 1, 100, 'failureThresholdPercent'),
      minExecuted: intIn(input.minExecuted, 5, 1, 10_000, 'minExecuted'),
      jobTimeoutMs: intIn(input.jobTimeoutSeconds, 600, 1, 7 * 24 * 3600, 'jobTimeoutSeconds') * 1000,
    },
  };
}

/** How many jobs are in each state. */
export function jobCounts(jobs: readonly Pick<Job, 'status'>[]): Record<JobStatus, number> {
  const counts = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;
  for (const j of jobs) counts[j.status]++;
  return counts;
}

export const TERMINAL: ReadonlySet<JobStatus> = new Set(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELED']);
const ACTIVE: ReadonlySet<JobStatus> = new Set(['SENT', 'IN_PROGRESS']);

/** The job in another state (every change bumps its version). */
export function moveJob(job: Job, status: JobStatus, now: string, change: Partial<Job> = {}): Job {
  return { ...job, ...change, status, updatedAt: now, version: job.version + 1 };
}

/** What the dispatcher does to a rollout now. */
export interface RolloutPlan {
  /** QUEUED jobs to send (in dispatch order), within the concurrency cap. */
  readonly send: readonly Job[];
  /** Jobs already moved: TIMED_OUT, CANCELED. */
  readonly changed: readonly Job[];
  /** The rollout's end, when it ends now. */
  readonly finish?: { readonly status: Exclude<RolloutStatus, 'IN_PROGRESS'>; readonly reason: string | null };
}

/** The dispatcher's step for one rollout: time out overdue jobs, stop at the threshold, fill free slots, finish. */
export function planRollout(rollout: Rollout, jobs: readonly Job[], now: string): RolloutPlan {
  if (rollout.status !== 'IN_PROGRESS') return { send: [], changed: [] };
  const nowMs = Date.parse(now);
  const changed: Job[] = [];
  const current = jobs.map((j) => {
    if (ACTIVE.has(j.status) && j.sentAt && nowMs - Date.parse(j.sentAt) > rollout.policy.jobTimeoutMs) {
      const timedOut = moveJob(j, 'TIMED_OUT', now, {
        reason: `no result within ${rollout.policy.jobTimeoutMs / 1000} s`,
      });
      changed.push(timedOut);
      return timedOut;
    }
    return j;
  });
  const c = jobCounts(current);
  const failed = c.FAILED + c.TIMED_OUT;
  const finished = failed + c.SUCCEEDED;
  const { failureThresholdPercent: threshold, minExecuted } = rollout.policy;
  if (failed > 0 && finished >= minExecuted && failed * 100 >= threshold * finished) {
    for (const j of current) {
      if (j.status === 'QUEUED') changed.push(moveJob(j, 'CANCELED', now, { reason: 'rollout aborted' }));
    }
    const reason = `${failed} of ${finished} finished jobs failed (${Math.round((failed * 100) / finished)}%, threshold ${threshold}%)`;
    return { send: [], changed, finish: { status: 'ABORTED', reason } };
  }
  const slots = Math.max(0, rollout.policy.maxConcurrent - c.SENT - c.IN_PROGRESS);
  const send = current
    .filter((j) => j.status === 'QUEUED')
    .sort((a, b) => a.position - b.position)
    .slice(0, slots);
  if (c.QUEUED + c.SENT + c.IN_PROGRESS === 0) {
    return { send, changed, finish: { status: failed === 0 ? 'SUCCEEDED' : 'COMPLETED_WITH_FAILURES', reason: null } };
  }
  return { send, changed };
}

/** A device's report on a job. */
export interface JobReport {
  readonly status: 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED';
  readonly progress?: number;
  readonly reason?: string;
}

/**
 * The job after a device's report; undefined when the report changes nothing (the job already
 * ended: a late report after TIMED_OUT, a repeat). A report may come before the dispatcher
 * recorded SENT (the command goes out first), so QUEUED accepts it too.
 */
export function applyReport(job: Job, report: JobReport, now: string): Job | undefined {
  if (TERMINAL.has(job.status)) return undefined;
  const progress = report.status === 'SUCCEEDED' ? 100 : Math.max(0, Math.min(100, report.progress ?? job.progress));
  if (report.status === 'IN_PROGRESS' && job.status === 'IN_PROGRESS' && progress === job.progress) return undefined;
  const reason = report.status === 'FAILED' ? (report.reason ?? 'the device reported a failure') : null;
  return moveJob(job, report.status, now, { progress, reason, sentAt: job.sentAt ?? now });
}

/** The command a job sends. */
export function commandOf(rollout: Rollout, job: Job): FirmwareCommand {
  return {
    jobId: job.id,
    rolloutId: rollout.id,
    version: rollout.version,
    url: rollout.url,
    checksum: rollout.checksum,
    timeoutSeconds: Math.round(rollout.policy.jobTimeoutMs / 1000),
  };
}

/** ROLLOUT_NOT_FOUND for a rollout id that is not the caller's. */
export function rolloutNotFound(id: string): DomainError {
  return new DomainError('ROLLOUT_NOT_FOUND', `no rollout ${id}`, { details: { rolloutId: id } });
}
