/**
 * The region's presence service: schemas/proto/presence.proto on the region's gRPC server, in
 * front of a Presence store (Redis in production). Requests are validated at the wire, so a
 * bad one never reaches the store; each handler runs in the caller's trace.
 */
import * as grpc from '@grpc/grpc-js';
import { ROOM_ID, USER_ID } from '../../domains/chat/model.ts';
import type { Presence } from '../../domains/chat/ports.ts';
import { DomainError, isDomainError } from '../../domains/shared/errors.ts';
import {
  type HeartbeatRequestMessage,
  type LeaveRequestMessage,
  loadPresenceService,
  type OnlineReplyMessage,
  type OnlineRequestMessage,
} from '../../infra/chat/presence.grpc.ts';
import { withTelemetry } from '../../infra/telemetry/context.ts';
import type { GrpcService } from '../host/domain-module.ts';

const TENANT = /^[a-z0-9-]{1,64}$/;
export const MIN_TTL_MS = 1000;
export const MAX_TTL_MS = 120_000;
export const MAX_LIMIT = 1000;

function bad(message: string): DomainError {
  return new DomainError('BAD_USER_INPUT', message);
}

function checkRoom(req: { tenant: string; roomId: string }): void {
  if (!TENANT.test(req.tenant)) throw bad('tenant must be 1-64 of [a-z0-9-]');
  if (!ROOM_ID.test(req.roomId)) throw bad('roomId must be a lower-case UUID');
}

function checkUser(req: { userId: string }): void {
  if (!USER_ID.test(req.userId)) throw bad('userId must be 1-128 visible characters');
}

function status(err: unknown): Partial<grpc.StatusObject> {
  if (isDomainError(err, 'BAD_USER_INPUT')) return { code: grpc.status.INVALID_ARGUMENT, details: err.message };
  if (isDomainError(err) && err.retryable) return { code: grpc.status.UNAVAILABLE, details: err.message };
  console.error('presence grpc: unexpected failure', err);
  return { code: grpc.status.INTERNAL, details: 'internal error' };
}

function unary<Req, Res>(handle: (req: Req) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
  return function presenceUnary(call, callback) {
    const traceparent = call.metadata.get('traceparent')[0];
    withTelemetry({ traceparent: typeof traceparent === 'string' ? traceparent : undefined }, () =>
      handle(call.request),
    ).then(
      (reply) => callback(null, reply),
      (err: unknown) => callback(status(err)),
    );
  };
}

/** The presence service for the region's gRPC server. */
export function presenceGrpcService(presence: Presence): GrpcService {
  return {
    definition: loadPresenceService().definition,
    implementation: {
      Heartbeat: unary<HeartbeatRequestMessage, Record<string, never>>(async (req) => {
        checkRoom(req);
        checkUser(req);
        if (!Number.isInteger(req.ttlMs) || req.ttlMs < MIN_TTL_MS || req.ttlMs > MAX_TTL_MS) {
          throw bad(`ttlMs must be ${MIN_TTL_MS}-${MAX_TTL_MS}`);
        }
        await presence.heartbeat(req.tenant, req.roomId, req.userId, req.ttlMs);
        return {};
      }),
      Leave: unary<LeaveRequestMessage, Record<string, never>>(async (req) => {
        checkRoom(req);
        checkUser(req);
        await presence.leave(req.tenant, req.roomId, req.userId);
        return {};
      }),
      Online: unary<OnlineRequestMessage, OnlineReplyMessage>(async (req) => {
        checkRoom(req);
        if (!Number.isInteger(req.limit) || req.limit < 1 || req.limit > MAX_LIMIT)
          throw bad(`limit must be 1-${MAX_LIMIT}`);
        return { userIds: await presence.online(req.tenant, req.roomId, req.limit) };
      }),
    },
  };
}
