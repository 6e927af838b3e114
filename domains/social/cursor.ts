/**
 * Opaque pagination cursors. A cursor is the key of the last item of a page, encoded so clients
 * treat it as a token; decoding checks every part against its pattern, so a forged cursor
 * (`{"$gt": ""}` smuggled into the JSON, a wrong length, a non-string) is a BAD_USER_INPUT and
 * never reaches a store query.
 */
import { DomainError } from '../shared/errors.ts';
import { USER_ID, UUID } from './ids.ts';

/** Timestamps as `Date.prototype.toISOString` writes them: fixed width, so they sort as strings. */
export const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Where a post sits in a newest-first (or oldest-first) list: time, then id to break ties. */
export interface PostKey {
  readonly createdAt: string;
  readonly id: string;
}

/** Compares two keys newest first: negative when `a` comes before `b`. */
export function newestFirst(a: PostKey, b: PostKey): number {
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? 1 : -1;
  return a.id === b.id ? 0 : a.id < b.id ? 1 : -1;
}

/** True when `a` comes strictly after the cursor key `after` in newest-first order. */
export function olderThan(a: PostKey, after: PostKey): boolean {
  return newestFirst(a, after) > 0;
}

function encode(parts: readonly string[]): string {
  return btoa(JSON.stringify(parts)).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

function invalid(field: string): DomainError {
  return new DomainError('BAD_USER_INPUT', `${field} is not a cursor this API handed out`, { details: { field } });
}

function decode(cursor: string, field: string, length: number): string[] {
  if (cursor.length > 512 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid(field);
  let parts: unknown;
  try {
    parts = JSON.parse(atob(cursor.replaceAll('-', '+').replaceAll('_', '/')));
  } catch {
    throw invalid(field);
  }
  if (!Array.isArray(parts) || parts.length !== length || !parts.every((p) => typeof p === 'string')) {
    throw invalid(field);
  }
  return parts;
}

/** The cursor after a post (or comment) key. */
export function postCursor(key: PostKey): string {
  return encode([key.createdAt, key.id]);
}

/** The key in a post cursor; undefined for no cursor; BAD_USER_INPUT for anything else. */
export function parsePostCursor(cursor: string | null | undefined, field = 'after'): PostKey | undefined {
  if (cursor === null || cursor === undefined) return undefined;
  const [createdAt, id] = decode(cursor, field, 2) as [string, string];
  if (!ISO_TIME.test(createdAt) || !UUID.test(id)) throw invalid(field);
  return { createdAt, id };
}

/** The cursor after a user in a list ordered by user id. */
export function userCursor(userId: string): string {
  return encode([userId]);
}

/** The user id in a user cursor; undefined for no cursor; BAD_USER_INPUT for anything else. */
export function parseUserCursor(cursor: string | null | undefined, field = 'after'): string | undefined {
  if (cursor === null || cursor === undefined) return undefined;
  const [userId] = decode(cursor, field, 1) as [string];
  if (!USER_ID.test(userId)) throw invalid(field);
  return userId;
}
