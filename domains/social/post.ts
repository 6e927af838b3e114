/** Posts and comments: what they hold and what a valid one looks like. */
import { DomainError } from '../shared/errors.ts';
import type { PostKey } from './cursor.ts';
import { assertProductId } from './ids.ts';

export interface Post extends PostKey {
  readonly id: string;
  readonly tenant: string;
  readonly authorId: string;
  readonly body: string;
  /** Products the post mentions (commerce's ids), each once, in the order given. */
  readonly productIds: readonly string[];
  readonly createdAt: string;
}

export interface Comment extends PostKey {
  readonly id: string;
  readonly tenant: string;
  readonly postId: string;
  readonly authorId: string;
  readonly body: string;
  readonly createdAt: string;
}

/** Limits of what a post or comment may hold. */
export const POST_LIMITS = { maxBodyChars: 5000, maxCommentChars: 2000, maxProducts: 10 } as const;

/** A text body: not blank, at most `max` characters (code points), no NUL. Kept as written. */
export function validBody(value: unknown, max: number, field = 'body'): string {
  const body = typeof value === 'string' ? value : '';
  const reason = !body.trim()
    ? 'is empty'
    : [...body].length > max
      ? `is over ${max} characters`
      : body.includes('\u0000')
        ? 'holds a NUL character'
        : undefined;
  if (reason) throw new DomainError('BAD_USER_INPUT', `${field} ${reason}`, { details: { field, max } });
  return body;
}

/** Mentioned product ids: each well-formed, at most `maxProducts`, duplicates dropped. */
export function validProductIds(value: readonly unknown[] | null | undefined): string[] {
  const ids = [...(value ?? [])];
  if (ids.length > POST_LIMITS.maxProducts) {
    throw new DomainError('BAD_USER_INPUT', `productIds: at most ${POST_LIMITS.maxProducts}`, {
      details: { field: 'productIds', max: POST_LIMITS.maxProducts },
    });
  }
  for (const id of ids) assertProductId(id, 'productIds');
  return [...new Set(ids as string[])];
}
