/**
 * The region's inventory service: schemas/proto/inventory.proto served over gRPC in front
 * of a StockInventory (the Postgres adapter in production). Requests are validated here,
 * at the wire, so a bad request never reaches the store; each handler runs inside the
 * caller's trace so the events it writes carry it. DomainErrors travel as a gRPC status
 * plus trailers (infra/commerce/inventory.grpc.ts) that the client turns back into them.
 */
import * as grpc from '@grpc/grpc-js';
import { PRODUCT_ID } from '../../domains/commerce/catalog.ts';
import { MAX_LINES, type StockLine, validateAdjustment } from '../../domains/commerce/inventory.ts';
import { ORDER_ID } from '../../domains/commerce/order.ts';
import { validateLines } from '../../domains/commerce/place-order.ts';
import { DomainError, type ErrorCode, isDomainError } from '../../domains/shared/errors.ts';
import {
  type AdjustStockReplyMessage,
  type AdjustStockRequestMessage,
  domainErrorMetadata,
  type GetStockReplyMessage,
  type GetStockRequestMessage,
  loadInventoryService,
  type ReleaseReplyMessage,
  type ReleaseRequestMessage,
  type ReserveReplyMessage,
  type ReserveRequestMessage,
  TRACE_METADATA,
} from '../../infra/commerce/inventory.grpc.ts';
import type { StockInventory } from '../../infra/commerce/inventory.postgres.ts';
import { withTelemetry } from '../../infra/telemetry/context.ts';
import type { GrpcService } from '../host/domain-module.ts';
import { startGrpcServer } from '../host/grpc-server.ts';

export interface InventoryGrpcServerOptions {
  /** 0 picks a free port (tests). */
  readonly port: number;
  readonly host?: string;
  readonly inventory: StockInventory;
  /** How long stop() lets in-flight calls finish before cutting them off. */
  readonly shutdownGraceMs?: number;
}

export interface RunningInventoryGrpcServer {
  readonly port: number;
  stop(): Promise<void>;
}

/** Same rule as the event envelope's `tenant`. */
const TENANT = /^[a-z0-9-]{1,64}$/;
const MAX_REASON = 500;
const MAX_STOCK_QUERY = 100;

const STATUS_OF: Partial<Record<ErrorCode, grpc.status>> = {
  BAD_USER_INPUT: grpc.status.INVALID_ARGUMENT,
  PRODUCT_NOT_FOUND: grpc.status.NOT_FOUND,
  INSUFFICIENT_STOCK: grpc.status.FAILED_PRECONDITION,
  DEPENDENCY_UNAVAILABLE: grpc.status.UNAVAILABLE,
};

/** The gRPC status a DomainError code travels as (INTERNAL for everything not listed). */
export function grpcStatusOf(code: ErrorCode): grpc.status {
  return STATUS_OF[code] ?? grpc.status.INTERNAL;
}

function bad(message: string, field: string): DomainError {
  return new DomainError('BAD_USER_INPUT', message, { details: { field } });
}

function checkOrder(orderId: string, tenant: string): void {
  if (!ORDER_ID.test(orderId)) throw bad('orderId must be a UUID', 'orderId');
  if (!TENANT.test(tenant)) throw bad('tenant must be 1-64 of [a-z0-9-]', 'tenant');
}

function checkReserve(req: ReserveRequestMessage): StockLine[] {
  checkOrder(req.orderId, req.tenant);
  if (req.lines.length === 0 || req.lines.length > MAX_LINES)
    throw bad(`lines must hold 1-${MAX_LINES} lines`, 'lines');
  return validateLines(req.lines);
}

function checkRelease(req: ReleaseRequestMessage): void {
  checkOrder(req.orderId, req.tenant);
  if (req.reason.trim() === '' || req.reason.length > MAX_REASON) {
    throw bad(`reason must be 1-${MAX_REASON} characters`, 'reason');
  }
}

function checkStockQuery(req: GetStockRequestMessage): void {
  if (req.productIds.length > MAX_STOCK_QUERY) throw bad(`at most ${MAX_STOCK_QUERY} product ids`, 'productIds');
  if (!req.productIds.every((id) => PRODUCT_ID.test(id))) throw bad('malformed product id', 'productIds');
}

/** A DomainError as a gRPC status with its trailers; anything else is an INTERNAL error that reveals nothing. */
function toServiceError(err: unknown): Partial<grpc.StatusObject> {
  const domain = isDomainError(err) ? err : new DomainError('INTERNAL', 'internal error', { cause: err });
  if (!isDomainError(err)) console.error('inventory grpc: unexpected failure', err);
  return { code: grpcStatusOf(domain.code), details: domain.message, metadata: domainErrorMetadata(domain) };
}

function firstText(metadata: grpc.Metadata, key: string): string | undefined {
  const value = metadata.get(key)[0];
  return typeof value === 'string' ? value : undefined;
}

/** A unary handler that runs `handle` in the caller's trace and answers its result or its error. */
function unary<Req, Res>(handle: (req: Req) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
  return function inventoryUnary(call, callback) {
    const parent = {
      traceparent: firstText(call.metadata, TRACE_METADATA.traceparent),
      correlationId: firstText(call.metadata, TRACE_METADATA.correlationId),
    };
    withTelemetry(parent, () => handle(call.request)).then(
      (reply) => callback(null, reply),
      (err: unknown) => callback(toServiceError(err)),
    );
  };
}

function handlers(inventory: StockInventory): grpc.UntypedServiceImplementation {
  return {
    Reserve: unary<ReserveRequestMessage, ReserveReplyMessage>(async (req) => {
      const lines = checkReserve(req);
      await inventory.reserve(req.orderId, req.tenant, lines);
      return {};
    }),
    Release: unary<ReleaseRequestMessage, ReleaseReplyMessage>(async (req) => {
      checkRelease(req);
      return { released: await inventory.releaseIfReserved(req.orderId, req.tenant, req.reason) };
    }),
    GetStock: unary<GetStockRequestMessage, GetStockReplyMessage>(async (req) => {
      checkStockQuery(req);
      const stock = await inventory.getStock(req.productIds);
      return { stock: [...stock].map(([productId, available]) => ({ productId, available })) };
    }),
    AdjustStock: unary<AdjustStockRequestMessage, AdjustStockReplyMessage>(async (req) => {
      if (!TENANT.test(req.tenant)) throw bad('tenant must be 1-64 of [a-z0-9-]', 'tenant');
      const adjustment = validateAdjustment(req, PRODUCT_ID);
      return inventory.adjustStock(adjustment);
    }),
  };
}

/** The inventory service for the region's gRPC server. */
export function inventoryGrpcService(inventory: StockInventory): GrpcService {
  return { definition: loadInventoryService().definition, implementation: handlers(inventory) };
}

/** Starts the inventory gRPC service alone on host:port; stop() drains in-flight calls, then closes. */
export function startInventoryGrpcServer(opts: InventoryGrpcServerOptions): Promise<RunningInventoryGrpcServer> {
  return startGrpcServer({ ...opts, services: [inventoryGrpcService(opts.inventory)] });
}
