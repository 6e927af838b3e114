/** Liking and unliking posts: a switch per (post, user), idempotent. */
import type { Actor } from '../shared/actor.ts';
import { SOCIAL_EVENTS, socialEvent } from './events.ts';
import { postIdOf } from './ids.ts';
import type { Clock, SocialReads, SocialWrites } from './ports.ts';
import type { Post } from './post.ts';
import { requirePost } from './posting.ts';
import { callerId, requireProfile, tooManyConflicts, WRITE_ATTEMPTS } from './profiles.ts';
import type { Like } from './relation.ts';

/**
 * Sets whether the caller likes the post. Already in that state: nothing is written and nothing
 * published. Answers the post.
 */
export async function setLike(
  deps: { readonly store: SocialReads & SocialWrites; readonly clock: Clock },
  actor: Actor,
  rawPostId: unknown,
  active: boolean,
): Promise<Post> {
  const userId = callerId(actor);
  const postId = postIdOf(rawPostId);
  await requireProfile(deps.store, actor.tenant, userId);
  const post = await requirePost(deps.store, actor.tenant, postId);
  for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
    const current = await deps.store.getLike(actor.tenant, postId, userId);
    if ((current?.active ?? false) === active) return post;
    const next: Like = {
      tenant: actor.tenant,
      postId,
      userId,
      active,
      version: (current?.version ?? 0) + 1,
      updatedAt: deps.clock.now(),
    };
    const type = active ? SOCIAL_EVENTS.postLiked : SOCIAL_EVENTS.postUnliked;
    const event = socialEvent(type, postId, actor.tenant, {
      postId,
      userId,
      version: next.version,
      updatedAt: next.updatedAt,
    });
    if ((await deps.store.putLike(next, current?.version ?? 0, [event])) === 'written') return post;
  }
  throw tooManyConflicts('the like');
}
