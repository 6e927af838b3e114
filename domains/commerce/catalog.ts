/** The product catalog: what a product is and how its id looks. */
import { DomainError } from '../shared/errors.ts';

export interface Product {
  readonly id: string;
  readonly sku: string;
  readonly name: string;
  readonly description: string;
  readonly priceCents: number;
  readonly currency: string;
  /** Units available to reserve. */
  readonly stock: number;
}

/** Product ids are lowercase slugs such as `p-keyboard`. */
export const PRODUCT_ID = /^p-[a-z0-9][a-z0-9-]{0,62}$/;

export function assertProductId(id: string): void {
  if (!PRODUCT_ID.test(id)) {
    throw new DomainError('BAD_USER_INPUT', `malformed product id "${id.slice(0, 80)}"`, {
      details: { field: 'productId' },
    });
  }
}

/** Page size bounds for catalog listings. */
export const MAX_PAGE = 100;

export function pageSize(first: number | null | undefined): number {
  const n = first ?? 20;
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE) {
    throw new DomainError('BAD_USER_INPUT', `first must be an integer from 1 to ${MAX_PAGE}`, {
      details: { field: 'first' },
    });
  }
  return n;
}
