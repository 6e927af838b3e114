/**
 * The feed projector: one per region, fed with the region's own events and the other region's
 * mirrored copies, one event at a time. For a copy from the other region it first brings this
 * region's state up to date (last writer wins, idempotent); then it maintains the feeds:
 * - a post by an author with at most `fanOutLimit` followers goes into each follower's feed
 *   and the author's own (fan-out on write); past that limit the author is marked, once and for
 *   good, as one whose posts readers pull (fan-out on read), and nothing is written per follower;
 * - a follow backfills the followee's recent posts into the follower's feed, an unfollow takes
 *   them out (both from the follow's current state, so any arrival order converges).
 * Each change of the feeds is announced once per cause (purges, live notices).
 *
 * Handling an event twice changes nothing more (feeds are sets by post id, replicas keep the
 * newest state, notices are once per cause): the consumer may redeliver after a crash.
 */
import { DomainError } from '../shared/errors.ts';
import {
  type CommentAddedData,
  type FollowChangedData,
  type LikeChangedData,
  type PostCreatedData,
  type ProfileUpdatedData,
  type ReceivedEvent,
  SOCIAL_EVENTS,
} from './events.ts';
import type { FeedEntry, FeedNotices, FeedStore, SocialReads, SocialReplica } from './ports.ts';
import type { Post } from './post.ts';

export interface FeedPolicy {
  /** Authors with more followers than this are pulled at read time instead of fanned out. */
  readonly fanOutLimit: number;
  /** How many of a followee's recent posts a new follow copies into the follower's feed. */
  readonly backfill: number;
}

export const DEFAULT_FEED_POLICY: FeedPolicy = { fanOutLimit: 1000, backfill: 20 };

export interface ProjectorDeps {
  readonly store: SocialReads & SocialReplica;
  readonly feeds: FeedStore;
  readonly notices: FeedNotices;
  readonly policy: FeedPolicy;
}

/** What the projector did with one event (for tests and logs). */
export type Projection =
  | { readonly kind: 'fan-out'; readonly audience: number }
  | { readonly kind: 'pulled'; readonly authorId: string }
  | { readonly kind: 'follow'; readonly active: boolean }
  | { readonly kind: 'replicated' }
  | { readonly kind: 'ignored' };

const entryOf = (p: Post): FeedEntry => ({ id: p.id, createdAt: p.createdAt, authorId: p.authorId });

function postOf(tenant: string, d: PostCreatedData): Post {
  return {
    id: d.postId,
    tenant,
    authorId: d.authorId,
    body: d.body,
    productIds: [...d.productIds],
    createdAt: d.createdAt,
  };
}

async function fanOut(deps: ProjectorDeps, post: Post, causeId: string): Promise<Projection> {
  const { tenant, authorId } = post;
  let heavy = await deps.store.isHeavy(tenant, authorId);
  // One query answers both "how many" (up to the limit) and "who" (the audience to write to).
  const followers = heavy ? [] : await deps.store.followers(tenant, authorId, deps.policy.fanOutLimit + 1);
  if (!heavy && followers.length > deps.policy.fanOutLimit) {
    await deps.store.markHeavy(tenant, authorId);
    heavy = true;
  }
  if (heavy) return { kind: 'pulled', authorId };
  const audience = [authorId, ...followers];
  await deps.feeds.add(tenant, audience, [entryOf(post)]);
  await deps.notices.announce(causeId, tenant, { reason: 'post', authorId, postId: post.id, userIds: audience });
  return { kind: 'fan-out', audience: audience.length };
}

async function reconcileFollow(
  deps: ProjectorDeps,
  tenant: string,
  d: FollowChangedData,
  causeId: string,
): Promise<Projection> {
  const follow = await deps.store.getFollow(tenant, d.followerId, d.followeeId);
  const active = follow?.active ?? false;
  if (active) {
    if (!(await deps.store.isHeavy(tenant, d.followeeId))) {
      const recent = await deps.store.postsByAuthors(tenant, [d.followeeId], deps.policy.backfill);
      if (recent.length > 0) await deps.feeds.add(tenant, [d.followerId], recent.map(entryOf));
    }
  } else {
    await deps.feeds.removeAuthor(tenant, d.followerId, d.followeeId);
  }
  await deps.notices.announce(causeId, tenant, {
    reason: active ? 'follow' : 'unfollow',
    authorId: d.followeeId,
    userIds: [d.followerId],
  });
  return { kind: 'follow', active };
}

/** Projects one event (local or mirrored) onto this region's state and feeds. */
export async function projectEvent(deps: ProjectorDeps, event: ReceivedEvent): Promise<Projection> {
  const { tenant, fromPeer } = event;
  switch (event.type) {
    case SOCIAL_EVENTS.profileUpdated: {
      const d = event.data as ProfileUpdatedData;
      if (fromPeer) await deps.store.applyProfile({ tenant, ...d });
      return fromPeer ? { kind: 'replicated' } : { kind: 'ignored' };
    }
    case SOCIAL_EVENTS.postCreated: {
      const post = postOf(tenant, event.data as PostCreatedData);
      if (fromPeer) await deps.store.applyPost(post);
      return fanOut(deps, post, event.id);
    }
    case SOCIAL_EVENTS.commentAdded: {
      const d = event.data as CommentAddedData;
      if (fromPeer) {
        await deps.store.applyComment({
          id: d.commentId,
          tenant,
          postId: d.postId,
          authorId: d.authorId,
          body: d.body,
          createdAt: d.createdAt,
        });
      }
      return fromPeer ? { kind: 'replicated' } : { kind: 'ignored' };
    }
    case SOCIAL_EVENTS.postLiked:
    case SOCIAL_EVENTS.postUnliked: {
      const d = event.data as LikeChangedData;
      if (fromPeer) await deps.store.applyLike({ tenant, ...d, active: event.type === SOCIAL_EVENTS.postLiked });
      return fromPeer ? { kind: 'replicated' } : { kind: 'ignored' };
    }
    case SOCIAL_EVENTS.userFollowed:
    case SOCIAL_EVENTS.userUnfollowed: {
      const d = event.data as FollowChangedData;
      if (fromPeer) await deps.store.applyFollow({ tenant, ...d, active: event.type === SOCIAL_EVENTS.userFollowed });
      return reconcileFollow(deps, tenant, d, event.id);
    }
    default:
      // Not the projector's: a misrouted record goes to the dead-letter topic with this reason.
      throw new DomainError('INVALID_EVENT', `the feed projector does not handle ${event.type}`);
  }
}
