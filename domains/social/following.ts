/** Following and unfollowing users: a switch per (follower, followee), idempotent. */
import type { Actor } from '../shared/actor.ts';
import { DomainError } from '../shared/errors.ts';
import { SOCIAL_EVENTS, socialEvent } from './events.ts';
import { assertUserId } from './ids.ts';
import type { Clock, SocialReads, SocialWrites } from './ports.ts';
import type { Profile } from './profile.ts';
import { callerId, requireProfile, tooManyConflicts, WRITE_ATTEMPTS } from './profiles.ts';
import type { Follow } from './relation.ts';

/**
 * Sets whether the caller follows `userId` (both need a profile; nobody follows themselves).
 * Already in that state: nothing is written and nothing published. Answers the followee.
 */
export async function setFollow(
  deps: { readonly store: SocialReads & SocialWrites; readonly clock: Clock },
  actor: Actor,
  userId: unknown,
  active: boolean,
): Promise<Profile> {
  const followerId = callerId(actor);
  assertUserId(userId);
  if (userId === followerId) {
    throw new DomainError('BAD_USER_INPUT', 'you cannot follow yourself', { details: { field: 'userId' } });
  }
  await requireProfile(deps.store, actor.tenant, followerId);
  const followee = await requireProfile(deps.store, actor.tenant, userId);
  for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
    const current = await deps.store.getFollow(actor.tenant, followerId, userId);
    if ((current?.active ?? false) === active) return followee;
    const next: Follow = {
      tenant: actor.tenant,
      followerId,
      followeeId: userId,
      active,
      version: (current?.version ?? 0) + 1,
      updatedAt: deps.clock.now(),
    };
    const type = active ? SOCIAL_EVENTS.userFollowed : SOCIAL_EVENTS.userUnfollowed;
    const event = socialEvent(type, followerId, actor.tenant, {
      followerId,
      followeeId: userId,
      version: next.version,
      updatedAt: next.updatedAt,
    });
    if ((await deps.store.putFollow(next, current?.version ?? 0, [event])) === 'written') return followee;
  }
  throw tooManyConflicts('the follow');
}
