/** Setting one's profile, and the rule that only users with a profile act in social. */
import type { Actor } from '../shared/actor.ts';
import { DomainError } from '../shared/errors.ts';
import { SOCIAL_EVENTS, socialEvent } from './events.ts';
import { assertUserId } from './ids.ts';
import type { Clock, SocialReads, SocialWrites } from './ports.ts';
import { type Profile, validDisplayName } from './profile.ts';

/** Optimistic writes retry this often before giving up with CONFLICT (retryable). */
export const WRITE_ATTEMPTS = 5;

/** The caller's user id: the token subject, which must be usable as one. */
export function callerId(actor: Actor): string {
  assertUserId(actor.subject, 'subject');
  return actor.subject;
}

/** The user's profile; USER_NOT_FOUND (details.userId) when the user has none in the tenant. */
export async function requireProfile(reads: SocialReads, tenant: string, userId: string): Promise<Profile> {
  const profile = await reads.getProfile(tenant, userId);
  if (!profile) {
    throw new DomainError('USER_NOT_FOUND', `no social profile for user "${userId}" (setProfile creates one)`, {
      details: { userId },
    });
  }
  return profile;
}

/** The error after WRITE_ATTEMPTS lost races: worth retrying later. */
export function tooManyConflicts(what: string): DomainError {
  return new DomainError('CONFLICT', `${what} changed concurrently ${WRITE_ATTEMPTS} times; retry`, {
    retryable: true,
  });
}

export interface SetProfileInput {
  readonly displayName: unknown;
}

/** Creates or changes the caller's profile; the same name again changes nothing and publishes nothing. */
export async function setProfile(
  deps: { readonly store: SocialReads & SocialWrites; readonly clock: Clock },
  actor: Actor,
  input: SetProfileInput,
): Promise<Profile> {
  const userId = callerId(actor);
  const displayName = validDisplayName(input.displayName);
  for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
    const current = await deps.store.getProfile(actor.tenant, userId);
    if (current?.displayName === displayName) return current;
    const next: Profile = {
      tenant: actor.tenant,
      userId,
      displayName,
      version: (current?.version ?? 0) + 1,
      updatedAt: deps.clock.now(),
    };
    const event = socialEvent(SOCIAL_EVENTS.profileUpdated, userId, actor.tenant, {
      userId,
      displayName,
      version: next.version,
      updatedAt: next.updatedAt,
    });
    if ((await deps.store.putProfile(next, current?.version ?? 0, [event])) === 'written') return next;
  }
  throw tooManyConflicts('the profile');
}
