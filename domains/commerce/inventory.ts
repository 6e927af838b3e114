/**
 * Inventory rules: a reservation takes all its lines or none, and stock never goes
 * below zero. Adapters enforce the same rule atomically in storage (conditional
 * decrement), this module states it and checks requests before they get there.
 */
import { DomainError } from '../shared/errors.ts';

export interface StockLine {
  readonly productId: string;
  readonly quantity: number;
}

/** Largest quantity of one product in one order: anything above is a mistake or abuse. */
export const MAX_LINE_QUANTITY = 100;
export const MAX_LINES = 50;

/** Merges duplicate product lines and orders lines by product id (a stable lock order). */
export function normalizeLines(lines: readonly StockLine[]): StockLine[] {
  const merged = new Map<string, number>();
  for (const l of lines) merged.set(l.productId, (merged.get(l.productId) ?? 0) + l.quantity);
  return [...merged]
    .map(([productId, quantity]) => ({ productId, quantity }))
    .sort((a, b) => (a.productId < b.productId ? -1 : a.productId > b.productId ? 1 : 0));
}

/**
 * Plans a reservation against known stock levels: the new levels, or
 * INSUFFICIENT_STOCK naming the first short product.
 */
export function planReservation(stock: ReadonlyMap<string, number>, lines: readonly StockLine[]): Map<string, number> {
  const next = new Map(stock);
  for (const l of normalizeLines(lines)) {
    const available = next.get(l.productId);
    if (available === undefined) {
      throw new DomainError('PRODUCT_NOT_FOUND', `unknown product ${l.productId}`, {
        details: { productId: l.productId },
      });
    }
    if (available < l.quantity) {
      throw new DomainError('INSUFFICIENT_STOCK', `only ${available} of ${l.productId} left, ${l.quantity} asked`, {
        details: { productId: l.productId, available, requested: l.quantity },
      });
    }
    next.set(l.productId, available - l.quantity);
  }
  return next;
}
