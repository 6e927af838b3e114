/**
 * The firmware orchestrator served over gRPC (schemas/proto/firmware.proto) by the region's
 * gRPC server: creates rollouts (domain createRollout), reads them and a device's jobs. Requests
 * are checked at the wire; each handler runs in the caller's trace. A new rollout pokes the
 * dispatcher so its first commands go out at once.
 */
import type * as grpc from '@grpc/grpc-js';
import { rolloutNotFound } from '../../domains/iot/rollout.ts';
import type { OrchestratorDeps } from '../../domains/iot/rollouts.ts';
import { createRollout } from '../../domains/iot/rollouts.ts';
import { DEVICE_ID, TENANT } from '../../domains/iot/topics.ts';
import { DomainError } from '../../domains/shared/errors.ts';
import {
  type GetRolloutRequestMessage,
  jobToWire,
  type ListDeviceJobsReplyMessage,
  type ListDeviceJobsRequestMessage,
  loadFirmwareService,
  type RolloutReplyMessage,
  rolloutInputFromWire,
  rolloutToWire,
  type StartRolloutRequestMessage,
  TRACE_METADATA,
  toServiceError,
} from '../../infra/iot/firmware.grpc.ts';
import { withTelemetry } from '../../infra/telemetry/context.ts';
import type { GrpcService } from '../host/domain-module.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function bad(message: string, field: string): DomainError {
  return new DomainError('BAD_USER_INPUT', message, { details: { field } });
}

function checkTenant(tenant: string): void {
  if (!TENANT.test(tenant)) throw bad('tenant must be 1-64 of [a-z0-9-]', 'tenant');
}

function unary<Req, Res>(handle: (req: Req) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
  return function firmwareUnary(call, callback) {
    const text = (key: string) => {
      const v = call.metadata.get(key)[0];
      return typeof v === 'string' ? v : undefined;
    };
    const parent = { traceparent: text(TRACE_METADATA.traceparent), correlationId: text(TRACE_METADATA.correlationId) };
    withTelemetry(parent, () => handle(call.request)).then(
      (reply) => callback(null, reply),
      (err: unknown) => callback(toServiceError(err)),
    );
  };
}

/** The orchestrator service for the region's gRPC server. */
export function firmwareGrpcService(deps: OrchestratorDeps, onStarted: (rolloutId: string) => void): GrpcService {
  return {
    definition: loadFirmwareService().definition,
    implementation: {
      StartRollout: unary<StartRolloutRequestMessage, RolloutReplyMessage>(async (req) => {
        checkTenant(req.tenant);
        const { rollout, jobs } = await createRollout(deps, req.tenant, rolloutInputFromWire(req));
        onStarted(rollout.id);
        return { rollout: rolloutToWire(rollout), jobs: jobs.map(jobToWire) };
      }),
      GetRollout: unary<GetRolloutRequestMessage, RolloutReplyMessage>(async (req) => {
        checkTenant(req.tenant);
        if (!UUID.test(req.rolloutId)) throw rolloutNotFound(req.rolloutId);
        const found = await deps.rollouts.get(req.tenant, req.rolloutId);
        if (!found) throw rolloutNotFound(req.rolloutId);
        return { rollout: rolloutToWire(found.rollout), jobs: found.jobs.map(jobToWire) };
      }),
      ListDeviceJobs: unary<ListDeviceJobsRequestMessage, ListDeviceJobsReplyMessage>(async (req) => {
        checkTenant(req.tenant);
        if (!DEVICE_ID.test(req.deviceId)) throw bad('malformed device id', 'deviceId');
        if (!Number.isInteger(req.first) || req.first < 1 || req.first > 100) throw bad('first must be 1-100', 'first');
        return { jobs: (await deps.rollouts.jobsOfDevice(req.tenant, req.deviceId, req.first)).map(jobToWire) };
      }),
    },
  };
}
