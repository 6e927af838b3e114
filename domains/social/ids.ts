/**
 * What social identifiers look like, checked at the boundary before anything reaches a store.
 * Every identifier is matched against an allow-list pattern, so a value shaped like a query
 * operator (`{"$gt": ""}`, `$where`, `a"b`) is refused as malformed instead of being passed on.
 */
import { DomainError } from '../shared/errors.ts';

/**
 * A user id: the token's subject. Letters, digits and `_.@:|+-` (what identity providers put in
 * subjects: `auth0|abc`, e-mail addresses, UUIDs), 1–128 characters.
 */
export const USER_ID = /^[A-Za-z0-9_.@:|+-]{1,128}$/;

/** Post and comment ids: lower-case UUIDs (RFC 9562 text form). */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Product ids, as commerce spells them (`p-keyboard`). */
export const PRODUCT_ID = /^p-[a-z0-9][a-z0-9-]{0,62}$/;

function malformed(field: string, value: unknown, what: string): DomainError {
  const shown = typeof value === 'string' ? `"${value.slice(0, 80)}"` : typeof value;
  return new DomainError('BAD_USER_INPUT', `${field}: ${shown} is not ${what}`, { details: { field } });
}

/** Throws BAD_USER_INPUT unless `value` is a user id. */
export function assertUserId(value: unknown, field = 'userId'): asserts value is string {
  if (typeof value !== 'string' || !USER_ID.test(value)) throw malformed(field, value, 'a user id');
}

/** Throws BAD_USER_INPUT unless `value` is a post (or comment) id; answers it lower-cased. */
export function postIdOf(value: unknown, field = 'postId'): string {
  const id = typeof value === 'string' ? value.toLowerCase() : value;
  if (typeof id !== 'string' || !UUID.test(id)) throw malformed(field, value, 'a post id (UUID)');
  return id;
}

/** Throws BAD_USER_INPUT unless `value` is a product id. */
export function assertProductId(value: unknown, field = 'productId'): asserts value is string {
  if (typeof value !== 'string' || !PRODUCT_ID.test(value)) throw malformed(field, value, 'a product id');
}

/** Page sizes: 1 to `max` (50), 20 when not given. */
export function pageSize(first: number | null | undefined, max = 50): number {
  const n = first ?? 20;
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new DomainError('BAD_USER_INPUT', `first must be an integer from 1 to ${max}`, {
      details: { field: 'first' },
    });
  }
  return n;
}
