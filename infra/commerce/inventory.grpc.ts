/**
 * The Inventory port over gRPC (schemas/proto/inventory.proto), plus the wire pieces the
 * server shares with it: the loaded service definition and the DomainError trailers.
 *
 * gRPC status codes alone lose our error codes (INSUFFICIENT_STOCK and PRODUCT_NOT_FOUND
 * would both be "a precondition"), so failures also carry trailing metadata from which
 * the client rebuilds the exact DomainError. Custom metadata keys must not start with
 * "grpc-" and, without the "-bin" suffix, values must be printable ASCII (gRPC over
 * HTTP/2 spec: "ASCII-Value → 1*( %x20-%x7E ) ; space and printable ASCII").
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { StockLine } from '../../domains/commerce/inventory.ts';
import { DomainError, ERROR_CODES, type ErrorCode } from '../../domains/shared/errors.ts';
import { currentTelemetry } from '../telemetry/context.ts';
import type { StockInventory } from './inventory.postgres.ts';

export const INVENTORY_PROTO_PATH = fileURLToPath(new URL('../../schemas/proto/inventory.proto', import.meta.url));

/** Trailing metadata keys of a failed call. */
export const ERROR_METADATA = {
  code: 'meridian-error-code',
  details: 'meridian-error-details',
  retryable: 'meridian-error-retryable',
} as const;

/** Request metadata keys: W3C trace context and our correlation id. */
export const TRACE_METADATA = { traceparent: 'traceparent', correlationId: 'meridian-correlation-id' } as const;

// Messages as @grpc/proto-loader hands them over (keepCase false: camelCase; defaults true: all fields set).
export interface LineMessage {
  productId: string;
  quantity: number;
}
export interface ReserveRequestMessage {
  orderId: string;
  tenant: string;
  lines: LineMessage[];
}
export type ReserveReplyMessage = Record<string, never>;
export interface ReleaseRequestMessage {
  orderId: string;
  tenant: string;
  reason: string;
}
export interface ReleaseReplyMessage {
  released: boolean;
}
export interface GetStockRequestMessage {
  productIds: string[];
}
export interface GetStockReplyMessage {
  stock: Array<{ productId: string; available: number }>;
}
export interface AdjustStockRequestMessage {
  adjustmentId: string;
  tenant: string;
  productId: string;
  delta: number;
  reason: string;
}
export interface AdjustStockReplyMessage {
  productId: string;
  available: number;
  applied: boolean;
}

type Callback<Res> = (err: grpc.ServiceError | null, res?: Res) => void;
type UnaryStub<Req, Res> = (
  req: Req,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: Callback<Res>,
) => grpc.ClientUnaryCall;

/** A raw client of the Inventory service (methods named as in the proto). */
export interface InventoryStub extends grpc.Client {
  Reserve: UnaryStub<ReserveRequestMessage, ReserveReplyMessage>;
  Release: UnaryStub<ReleaseRequestMessage, ReleaseReplyMessage>;
  GetStock: UnaryStub<GetStockRequestMessage, GetStockReplyMessage>;
  AdjustStock: UnaryStub<AdjustStockRequestMessage, AdjustStockReplyMessage>;
}

export interface InventoryService {
  readonly definition: grpc.ServiceDefinition;
  readonly Client: new (address: string, credentials: grpc.ChannelCredentials) => InventoryStub;
}

let loaded: InventoryService | undefined;

/** The Inventory service from the proto, loaded once. */
export function loadInventoryService(): InventoryService {
  if (loaded) return loaded;
  const packageDefinition = protoLoader.loadSync(INVENTORY_PROTO_PATH, {
    keepCase: false,
    longs: String,
    defaults: true,
  });
  const root = grpc.loadPackageDefinition(packageDefinition) as unknown as {
    meridian: { inventory: { v1: { Inventory: grpc.ServiceClientConstructor } } };
  };
  const ctor = root.meridian.inventory.v1.Inventory;
  loaded = { definition: ctor.service, Client: ctor as unknown as InventoryService['Client'] };
  return loaded;
}

/** JSON with every non-ASCII character escaped, so it is a legal metadata value and still parses back. */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** The trailers that carry a DomainError across the wire. */
export function domainErrorMetadata(err: DomainError): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set(ERROR_METADATA.code, err.code);
  metadata.set(ERROR_METADATA.details, asciiJson(err.details));
  metadata.set(ERROR_METADATA.retryable, String(err.retryable));
  return metadata;
}

function metadataText(metadata: grpc.Metadata | undefined, key: string): string | undefined {
  const value = metadata?.get(key)[0];
  return typeof value === 'string' ? value : undefined;
}

function parseDetails(text: string | undefined): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text ?? '{}');
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}

/** Statuses meaning "the service did not answer in time or at all": the same call may succeed later. */
const TRANSIENT = new Set<number>([
  grpc.status.DEADLINE_EXCEEDED,
  grpc.status.UNAVAILABLE,
  grpc.status.RESOURCE_EXHAUSTED,
]);

/** The DomainError a failed call stands for: rebuilt from the trailers, or derived from the status. */
export function domainErrorFromStatus(err: grpc.ServiceError): DomainError {
  const code = metadataText(err.metadata, ERROR_METADATA.code);
  if (code !== undefined && (ERROR_CODES as readonly string[]).includes(code)) {
    return new DomainError(code as ErrorCode, err.details, {
      retryable: metadataText(err.metadata, ERROR_METADATA.retryable) === 'true',
      details: parseDetails(metadataText(err.metadata, ERROR_METADATA.details)),
      cause: err,
    });
  }
  if (TRANSIENT.has(err.code)) {
    return new DomainError('DEPENDENCY_UNAVAILABLE', `inventory service unavailable: ${err.details}`, {
      retryable: true,
      cause: err,
    });
  }
  return new DomainError('INTERNAL', `inventory service failed: ${err.details}`, { cause: err });
}

/** The caller's trace (and correlation id) for the outgoing call. */
function outgoingMetadata(): grpc.Metadata {
  const metadata = new grpc.Metadata();
  const telemetry = currentTelemetry();
  if (telemetry) {
    metadata.set(TRACE_METADATA.traceparent, telemetry.traceparent);
    metadata.set(TRACE_METADATA.correlationId, telemetry.correlationId);
  }
  return metadata;
}

/**
 * protobuf int32 silently truncates 1.5 to 1 and wraps 2^32: refuse what the wire cannot carry
 * faithfully; every other rule is the server's.
 */
function toWireLines(lines: readonly StockLine[]): LineMessage[] {
  if (!Array.isArray(lines))
    throw new DomainError('BAD_USER_INPUT', 'lines must be a list', { details: { field: 'lines' } });
  return lines.map((l) => {
    if (!Number.isSafeInteger(l.quantity) || Math.abs(l.quantity) > 2 ** 31 - 1) {
      throw new DomainError('BAD_USER_INPUT', 'quantity must be an integer', { details: { field: 'quantity' } });
    }
    return { productId: l.productId, quantity: l.quantity };
  });
}

export interface GrpcInventoryOptions {
  /**
   * host:port of the inventory service, e.g. 127.0.0.1:41021; a function is asked on the first
   * call (the region's gRPC server may get its port after the client is built).
   */
  readonly address: string | (() => string);
  /** Deadline of every call. */
  readonly deadlineMs?: number;
}

/** StockInventory over gRPC, plus close() for the channel. */
export interface GrpcInventory extends StockInventory {
  close(): void;
}

/** The Inventory port (plus getStock) served by a remote inventory service. */
export function createGrpcInventory(opts: GrpcInventoryOptions): GrpcInventory {
  const deadlineMs = opts.deadlineMs ?? 2000;
  const { Client } = loadInventoryService();
  let connected: InventoryStub | undefined;
  const stub = () => {
    connected ??= new Client(
      typeof opts.address === 'function' ? opts.address() : opts.address,
      grpc.credentials.createInsecure(),
    );
    return connected;
  };

  function call<Req, Res>(method: (s: InventoryStub) => UnaryStub<Req, Res>, request: Req): Promise<Res> {
    const s = stub();
    return new Promise((resolve, reject) => {
      method(s).call(s, request, outgoingMetadata(), { deadline: Date.now() + deadlineMs }, (err, reply) => {
        if (err) reject(domainErrorFromStatus(err));
        else resolve(reply as Res);
      });
    });
  }

  async function releaseIfReserved(orderId: string, tenant: string, reason: string): Promise<boolean> {
    const reply = await call((s) => s.Release, { orderId, tenant, reason });
    return reply.released;
  }

  return {
    async reserve(orderId, tenant, lines) {
      await call((s) => s.Reserve, { orderId, tenant, lines: toWireLines(lines) });
    },
    async release(orderId, tenant, reason) {
      await releaseIfReserved(orderId, tenant, reason);
    },
    releaseIfReserved,
    async getStock(productIds) {
      const reply = await call((s) => s.GetStock, { productIds: [...productIds] });
      return new Map(reply.stock.map((s) => [s.productId, s.available]));
    },
    async adjustStock(a) {
      if (!Number.isSafeInteger(a.delta) || Math.abs(a.delta) > 2 ** 31 - 1) {
        throw new DomainError('BAD_USER_INPUT', 'delta must be an integer', { details: { field: 'delta' } });
      }
      const reply = await call((s) => s.AdjustStock, {
        adjustmentId: a.adjustmentId,
        tenant: a.tenant,
        productId: a.productId,
        delta: a.delta,
        reason: a.reason,
      });
      return { productId: reply.productId, available: reply.available, applied: reply.applied };
    },
    close() {
      connected?.close();
    },
  };
}
