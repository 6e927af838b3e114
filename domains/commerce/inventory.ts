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

/** Largest change of one product's stock in one adjustment (a delivery, a count correction). */
export const MAX_ADJUSTMENT = 100_000;
const ADJUSTMENT_ID = /^[A-Za-z0-9._:-]{1,160}$/;
const MAX_ADJUSTMENT_REASON = 200;

/** A change of a product's stock from outside an order: goods received, a count corrected. */
export interface StockAdjustment {
  /** The caller's idempotency key: one adjustment id changes stock at most once. */
  readonly adjustmentId: string;
  readonly tenant: string;
  readonly productId: string;
  /** Units added (positive) or removed (negative); never zero. */
  readonly delta: number;
  readonly reason: string;
}

/** What an adjustment did: the stock after it, and whether this call applied it (false: a repeat). */
export interface AdjustmentResult {
  readonly productId: string;
  readonly available: number;
  readonly applied: boolean;
}

/** Checks an adjustment's shape (BAD_USER_INPUT naming the field); stock rules are the store's, atomically. */
export function validateAdjustment(a: StockAdjustment, productId: RegExp): StockAdjustment {
  const bad = (message: string, field: string) => new DomainError('BAD_USER_INPUT', message, { details: { field } });
  if (typeof a.adjustmentId !== 'string' || !ADJUSTMENT_ID.test(a.adjustmentId)) {
    throw bad('adjustmentId must be 1-160 of [A-Za-z0-9._:-]', 'adjustmentId');
  }
  if (typeof a.productId !== 'string' || !productId.test(a.productId)) throw bad('malformed product id', 'productId');
  if (!Number.isSafeInteger(a.delta) || a.delta === 0 || Math.abs(a.delta) > MAX_ADJUSTMENT) {
    throw bad(`delta must be a non-zero integer within ±${MAX_ADJUSTMENT}`, 'delta');
  }
  if (typeof a.reason !== 'string' || a.reason.trim() === '' || a.reason.length > MAX_ADJUSTMENT_REASON) {
    throw bad(`reason must be 1-${MAX_ADJUSTMENT_REASON} characters`, 'reason');
  }
  return a;
}
