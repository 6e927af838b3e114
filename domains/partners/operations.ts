/**
 * What a legacy partner may do over SOAP, in its own tenant: report a stock change (applied by
 * commerce's own rules, once per update id) and read an order's status (an order of another
 * tenant is not found, exactly like one that does not exist).
 */
import { DomainError } from '../shared/errors.ts';
import type { LegacyPartner } from './legacy-partner.ts';
import type { OrderStatusReader, OrderStatusView, StockAdjuster } from './ports.ts';

const UPDATE_ID = /^[A-Za-z0-9._-]{1,100}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface StockUpdateInput {
  readonly updateId: unknown;
  readonly productId: unknown;
  readonly quantityDelta: unknown;
  readonly reason?: unknown;
}

/** Applies a partner's stock change through commerce; a repeated update id answers the first result. */
export async function updateStock(
  deps: { readonly stock: StockAdjuster },
  partner: LegacyPartner,
  input: StockUpdateInput,
): Promise<{ productId: string; available: number; applied: boolean }> {
  if (typeof input.updateId !== 'string' || !UPDATE_ID.test(input.updateId)) {
    throw new DomainError('BAD_USER_INPUT', 'updateId must be 1-100 of [A-Za-z0-9._-]', {
      details: { field: 'updateId' },
    });
  }
  if (typeof input.productId !== 'string') {
    throw new DomainError('BAD_USER_INPUT', 'productId is required', { details: { field: 'productId' } });
  }
  if (typeof input.quantityDelta !== 'number') {
    throw new DomainError('BAD_USER_INPUT', 'quantityDelta must be an integer', {
      details: { field: 'quantityDelta' },
    });
  }
  const reason =
    typeof input.reason === 'string' && input.reason.trim() !== ''
      ? input.reason.trim().slice(0, 200)
      : `stock update from partner ${partner.name}`.slice(0, 200);
  // Scoped by partner: two partners' update ids never collide.
  return deps.stock.adjust({
    adjustmentId: `${partner.id}:${input.updateId}`,
    tenant: partner.tenant,
    productId: input.productId,
    delta: input.quantityDelta,
    reason,
  });
}

/** The status of an order of the partner's tenant; ORDER_NOT_FOUND otherwise. */
export async function orderStatus(
  deps: { readonly orders: OrderStatusReader },
  partner: LegacyPartner,
  orderId: unknown,
): Promise<OrderStatusView> {
  if (typeof orderId !== 'string' || !UUID.test(orderId)) {
    throw new DomainError('BAD_USER_INPUT', 'orderId must be a UUID', { details: { field: 'orderId' } });
  }
  const order = await deps.orders.orderStatus(orderId);
  if (!order || order.tenant !== partner.tenant) {
    throw new DomainError('ORDER_NOT_FOUND', `no order ${orderId}`, { details: { orderId } });
  }
  return order;
}
