/**
 * The Presence port over gRPC (schemas/proto/presence.proto), plus the loaded service
 * definition the server shares. Failures come back as DomainErrors: INVALID_ARGUMENT as
 * BAD_USER_INPUT, an unreachable or slow service as DEPENDENCY_UNAVAILABLE (retryable).
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { Presence } from '../../domains/chat/ports.ts';
import { DomainError } from '../../domains/shared/errors.ts';
import { currentTelemetry } from '../telemetry/context.ts';

export const PRESENCE_PROTO_PATH = fileURLToPath(new URL('../../schemas/proto/presence.proto', import.meta.url));

// Messages as @grpc/proto-loader hands them over (camelCase, defaults set).
export interface HeartbeatRequestMessage {
  tenant: string;
  roomId: string;
  userId: string;
  ttlMs: number;
}
export interface LeaveRequestMessage {
  tenant: string;
  roomId: string;
  userId: string;
}
export interface OnlineRequestMessage {
  tenant: string;
  roomId: string;
  limit: number;
}
export interface OnlineReplyMessage {
  userIds: string[];
}

type Unary<Req, Res> = (
  req: Req,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (err: grpc.ServiceError | null, res?: Res) => void,
) => grpc.ClientUnaryCall;

interface PresenceStub extends grpc.Client {
  Heartbeat: Unary<HeartbeatRequestMessage, Record<string, never>>;
  Leave: Unary<LeaveRequestMessage, Record<string, never>>;
  Online: Unary<OnlineRequestMessage, OnlineReplyMessage>;
}

export interface PresenceService {
  readonly definition: grpc.ServiceDefinition;
  readonly Client: new (address: string, credentials: grpc.ChannelCredentials) => PresenceStub;
}

let loaded: PresenceService | undefined;

/** The Presence service from the proto, loaded once. */
export function loadPresenceService(): PresenceService {
  if (loaded) return loaded;
  const definition = protoLoader.loadSync(PRESENCE_PROTO_PATH, { keepCase: false, longs: String, defaults: true });
  const root = grpc.loadPackageDefinition(definition) as unknown as {
    meridian: { presence: { v1: { Presence: grpc.ServiceClientConstructor } } };
  };
  const ctor = root.meridian.presence.v1.Presence;
  loaded = { definition: ctor.service, Client: ctor as unknown as PresenceService['Client'] };
  return loaded;
}

const TRANSIENT = new Set<number>([
  grpc.status.DEADLINE_EXCEEDED,
  grpc.status.UNAVAILABLE,
  grpc.status.RESOURCE_EXHAUSTED,
]);

/** The DomainError a failed call stands for. */
export function presenceError(err: grpc.ServiceError): DomainError {
  if (err.code === grpc.status.INVALID_ARGUMENT) {
    return new DomainError('BAD_USER_INPUT', err.details, { cause: err });
  }
  if (TRANSIENT.has(err.code)) {
    return new DomainError('DEPENDENCY_UNAVAILABLE', `presence service unavailable: ${err.details}`, {
      retryable: true,
      cause: err,
    });
  }
  return new DomainError('INTERNAL', `presence service failed: ${err.details}`, { cause: err });
}

/** Options of createGrpcPresence. */
export interface GrpcPresenceOptions {
  /** host:port of the region's gRPC server; a function is asked on the first call. */
  readonly address: string | (() => string);
  readonly deadlineMs?: number;
}

/** Presence served by the region's presence service, plus close() for the channel. */
export function createGrpcPresence(opts: GrpcPresenceOptions): Presence & { close(): void } {
  const deadlineMs = opts.deadlineMs ?? 2000;
  const { Client } = loadPresenceService();
  let client: PresenceStub | undefined;
  const stub = () => {
    client ??= new Client(
      typeof opts.address === 'function' ? opts.address() : opts.address,
      grpc.credentials.createInsecure(),
    );
    return client;
  };
  function call<Req, Res>(method: (s: PresenceStub) => Unary<Req, Res>, req: Req): Promise<Res> {
    const metadata = new grpc.Metadata();
    const telemetry = currentTelemetry();
    if (telemetry) metadata.set('traceparent', telemetry.traceparent);
    return new Promise((resolve, reject) => {
      const s = stub();
      method(s).call(s, req, metadata, { deadline: Date.now() + deadlineMs }, (err, res) =>
        err ? reject(presenceError(err)) : resolve(res as Res),
      );
    });
  }
  return {
    async heartbeat(tenant, roomId, userId, ttlMs) {
      await call((s) => s.Heartbeat, { tenant, roomId, userId, ttlMs });
    },
    async leave(tenant, roomId, userId) {
      await call((s) => s.Leave, { tenant, roomId, userId });
    },
    async online(tenant, roomId, limit) {
      return (await call((s) => s.Online, { tenant, roomId, limit })).userIds;
    },
    close() {
      client?.close();
    },
  };
}
