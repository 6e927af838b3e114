/**
 * The firmware orchestrator's wire (schemas/proto/firmware.proto): the loaded service, message
 * conversions both ends share, DomainErrors as status + trailers, and the FirmwareOrchestrator
 * port as a client. gRPC status codes alone would lose our error codes, so failures also carry
 * `meridian-error-*` trailers (gRPC over HTTP/2: custom metadata values are printable ASCII).
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { FirmwareOrchestrator } from '../../domains/iot/ports.ts';
import type { Job, JobStatus, Rollout, RolloutInput, RolloutStatus } from '../../domains/iot/rollout.ts';
import { DomainError, ERROR_CODES, type ErrorCode, isDomainError } from '../../domains/shared/errors.ts';
import { currentTelemetry } from '../telemetry/context.ts';

export const FIRMWARE_PROTO_PATH = fileURLToPath(new URL('../../schemas/proto/firmware.proto', import.meta.url));

export const ERROR_METADATA = {
  code: 'meridian-error-code',
  details: 'meridian-error-details',
  retryable: 'meridian-error-retryable',
} as const;
export const TRACE_METADATA = { traceparent: 'traceparent', correlationId: 'meridian-correlation-id' } as const;

export interface PolicyMessage {
  maxConcurrent: number;
  failureThresholdPercent: number;
  minExecuted: number;
  jobTimeoutMs: string;
}
export interface RolloutMessage {
  id: string;
  tenant: string;
  version: string;
  url: string;
  checksum: string;
  policy: PolicyMessage | null;
  status: string;
  reason: string;
  createdAt: string;
  updatedAt: string;
}
export interface JobMessage {
  id: string;
  rolloutId: string;
  deviceId: string;
  position: number;
  status: string;
  progress: number;
  reason: string;
  sentAt: string;
  updatedAt: string;
  version: number;
}
export interface StartRolloutRequestMessage {
  tenant: string;
  deviceIds: string[];
  model: string;
  version: string;
  url: string;
  checksum: string;
  maxConcurrent: number;
  failureThresholdPercent: number;
  minExecuted: number;
  jobTimeoutSeconds: number;
}
export interface GetRolloutRequestMessage {
  tenant: string;
  rolloutId: string;
}
export interface ListDeviceJobsRequestMessage {
  tenant: string;
  deviceId: string;
  first: number;
}
export interface RolloutReplyMessage {
  rollout: RolloutMessage | null;
  jobs: JobMessage[];
}
export interface ListDeviceJobsReplyMessage {
  jobs: JobMessage[];
}

let loaded: { definition: grpc.ServiceDefinition; Client: grpc.ServiceClientConstructor } | undefined;

/** The FirmwareOrchestrator service from the proto, loaded once. */
export function loadFirmwareService() {
  if (loaded) return loaded;
  const def = protoLoader.loadSync(FIRMWARE_PROTO_PATH, { keepCase: false, longs: String, defaults: true });
  const root = grpc.loadPackageDefinition(def) as unknown as {
    meridian: { iot: { firmware: { v1: { FirmwareOrchestrator: grpc.ServiceClientConstructor } } } };
  };
  const ctor = root.meridian.iot.firmware.v1.FirmwareOrchestrator;
  loaded = { definition: ctor.service, Client: ctor };
  return loaded;
}

export function rolloutToWire(r: Rollout): RolloutMessage {
  return {
    id: r.id,
    tenant: r.tenant,
    version: r.version,
    url: r.url,
    checksum: r.checksum,
    policy: {
      maxConcurrent: r.policy.maxConcurrent,
      failureThresholdPercent: r.policy.failureThresholdPercent,
      minExecuted: r.policy.minExecuted,
      jobTimeoutMs: String(r.policy.jobTimeoutMs),
    },
    status: r.status,
    reason: r.reason ?? '',
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}

export function jobToWire(j: Job): JobMessage {
  return {
    id: j.id,
    rolloutId: j.rolloutId,
    deviceId: j.deviceId,
    position: j.position,
    status: j.status,
    progress: j.progress,
    reason: j.reason ?? '',
    sentAt: j.sentAt ?? '',
    updatedAt: j.updatedAt,
    version: j.version,
  };
}

export function rolloutFromWire(m: RolloutMessage): Rollout {
  const p = m.policy as PolicyMessage;
  return {
    id: m.id,
    tenant: m.tenant,
    version: m.version,
    url: m.url,
    checksum: m.checksum,
    policy: {
      maxConcurrent: p.maxConcurrent,
      failureThresholdPercent: p.failureThresholdPercent,
      minExecuted: p.minExecuted,
      jobTimeoutMs: Number(p.jobTimeoutMs),
    },
    status: m.status as RolloutStatus,
    reason: m.reason === '' ? null : m.reason,
    createdAt: m.createdAt,
    updatedAt: m.updatedAt,
  };
}

export function jobFromWire(m: JobMessage, tenant: string): Job {
  return {
    id: m.id,
    rolloutId: m.rolloutId,
    tenant,
    deviceId: m.deviceId,
    position: m.position,
    status: m.status as JobStatus,
    progress: m.progress,
    reason: m.reason === '' ? null : m.reason,
    sentAt: m.sentAt === '' ? null : m.sentAt,
    updatedAt: m.updatedAt,
    version: m.version,
  };
}

/** A request's optional fields from the wire's zero values. */
export function rolloutInputFromWire(m: StartRolloutRequestMessage): RolloutInput {
  const opt = (n: number) => (n === 0 ? null : n);
  return {
    deviceIds: m.deviceIds.length ? m.deviceIds : null,
    model: m.model === '' ? null : m.model,
    version: m.version,
    url: m.url,
    checksum: m.checksum,
    maxConcurrent: opt(m.maxConcurrent),
    failureThresholdPercent: opt(m.failureThresholdPercent),
    minExecuted: opt(m.minExecuted),
    jobTimeoutSeconds: opt(m.jobTimeoutSeconds),
  };
}

const STATUS_OF: Partial<Record<ErrorCode, grpc.status>> = {
  BAD_USER_INPUT: grpc.status.INVALID_ARGUMENT,
  DEVICE_NOT_FOUND: grpc.status.NOT_FOUND,
  ROLLOUT_NOT_FOUND: grpc.status.NOT_FOUND,
  DEVICE_REVOKED: grpc.status.FAILED_PRECONDITION,
  DEPENDENCY_UNAVAILABLE: grpc.status.UNAVAILABLE,
};

const asciiJson = (value: unknown) =>
  JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** A DomainError as a gRPC status with its trailers; anything else is an INTERNAL error that reveals nothing. */
export function toServiceError(err: unknown): Partial<grpc.StatusObject> {
  const domain = isDomainError(err) ? err : new DomainError('INTERNAL', 'internal error', { cause: err });
  if (!isDomainError(err)) console.error('firmware grpc: unexpected failure', err);
  const metadata = new grpc.Metadata();
  metadata.set(ERROR_METADATA.code, domain.code);
  metadata.set(ERROR_METADATA.details, asciiJson(domain.details));
  metadata.set(ERROR_METADATA.retryable, String(domain.retryable));
  return { code: STATUS_OF[domain.code] ?? grpc.status.INTERNAL, details: domain.message, metadata };
}

const text = (m: grpc.Metadata | undefined, key: string) => {
  const v = m?.get(key)[0];
  return typeof v === 'string' ? v : undefined;
};

/** The DomainError a failed call stands for. */
export function fromServiceError(err: grpc.ServiceError): DomainError {
  const code = text(err.metadata, ERROR_METADATA.code);
  if (code !== undefined && (ERROR_CODES as readonly string[]).includes(code)) {
    let details: Record<string, unknown> = {};
    try {
      details = JSON.parse(text(err.metadata, ERROR_METADATA.details) ?? '{}');
    } catch {
      details = {};
    }
    return new DomainError(code as ErrorCode, err.details, {
      retryable: text(err.metadata, ERROR_METADATA.retryable) === 'true',
      details,
      cause: err,
    });
  }
  const transient = [grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED].includes(err.code);
  return new DomainError(transient ? 'DEPENDENCY_UNAVAILABLE' : 'INTERNAL', `firmware orchestrator: ${err.details}`, {
    retryable: transient,
    cause: err,
  });
}

type Unary = (
  req: unknown,
  md: grpc.Metadata,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res?: unknown) => void,
) => void;

/** The FirmwareOrchestrator port over gRPC, plus close(). */
export function createGrpcFirmwareOrchestrator(opts: {
  address: string | (() => string);
  deadlineMs?: number;
}): FirmwareOrchestrator & { close(): void } {
  const { Client } = loadFirmwareService();
  let client: grpc.Client | undefined;
  const stub = () => {
    client ??= new Client(
      typeof opts.address === 'function' ? opts.address() : opts.address,
      grpc.credentials.createInsecure(),
    );
    return client as unknown as Record<string, Unary>;
  };
  const call = <Res>(method: string, req: unknown): Promise<Res> =>
    new Promise((resolve, reject) => {
      const md = new grpc.Metadata();
      const t = currentTelemetry();
      if (t) {
        md.set(TRACE_METADATA.traceparent, t.traceparent);
        md.set(TRACE_METADATA.correlationId, t.correlationId);
      }
      const deadline = new Date(Date.now() + (opts.deadlineMs ?? 10_000));
      (stub()[method] as Unary).call(client, req, md, { deadline }, (err, res) =>
        err ? reject(fromServiceError(err)) : resolve(res as Res),
      );
    });
  const toInt = (v: number | null | undefined) => v ?? 0;
  return {
    async start(tenant, input) {
      const req: StartRolloutRequestMessage = {
        tenant,
        deviceIds: [...(input.deviceIds ?? [])],
        model: input.model ?? '',
        version: input.version,
        url: input.url,
        checksum: input.checksum,
        maxConcurrent: toInt(input.maxConcurrent),
        failureThresholdPercent: toInt(input.failureThresholdPercent),
        minExecuted: toInt(input.minExecuted),
        jobTimeoutSeconds: toInt(input.jobTimeoutSeconds),
      };
      const reply = await call<RolloutReplyMessage>('StartRollout', req);
      return {
        rollout: rolloutFromWire(reply.rollout as RolloutMessage),
        jobs: reply.jobs.map((j) => jobFromWire(j, tenant)),
      };
    },
    async get(tenant, rolloutId) {
      try {
        const reply = await call<RolloutReplyMessage>('GetRollout', { tenant, rolloutId });
        return {
          rollout: rolloutFromWire(reply.rollout as RolloutMessage),
          jobs: reply.jobs.map((j) => jobFromWire(j, tenant)),
        };
      } catch (err) {
        if (isDomainError(err, 'ROLLOUT_NOT_FOUND')) return undefined;
        throw err;
      }
    },
    async jobsOfDevice(tenant, deviceId, first) {
      const reply = await call<ListDeviceJobsReplyMessage>('ListDeviceJobs', { tenant, deviceId, first });
      return reply.jobs.map((j) => jobFromWire(j, tenant));
    },
    close() {
      client?.close();
    },
  };
}
