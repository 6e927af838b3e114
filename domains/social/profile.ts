/** A social profile: what makes a user known to social (an author, someone to follow). */
import { DomainError } from '../shared/errors.ts';

export interface Profile {
  readonly tenant: string;
  readonly userId: string;
  readonly displayName: string;
  /** Bumped by every change; replicas keep the highest (see `supersedes`). */
  readonly version: number;
  readonly updatedAt: string;
}

export const MAX_DISPLAY_NAME = 64;

const hasControlCharacter = (s: string) => [...s].some((c) => (c.codePointAt(0) ?? 0) < 0x20 || c === '\u007f');

/** The display name, trimmed; BAD_USER_INPUT when empty, too long or holding control characters. */
export function validDisplayName(value: unknown): string {
  const name = typeof value === 'string' ? value.trim() : '';
  const reason = !name
    ? 'is empty'
    : [...name].length > MAX_DISPLAY_NAME
      ? `is over ${MAX_DISPLAY_NAME} characters`
      : hasControlCharacter(name)
        ? 'holds control characters'
        : undefined;
  if (reason) {
    throw new DomainError('BAD_USER_INPUT', `displayName ${reason}`, { details: { field: 'displayName' } });
  }
  return name;
}
