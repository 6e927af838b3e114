/**
 * The ports social needs, owned here and implemented in infra/social (MongoDB wire protocol on
 * FerretDB for the state, Redis for the materialised feeds, the region's PostgreSQL outbox for
 * feed notices). Each states its guarantees; a contract suite runs them against every adapter.
 *
 * Every read and write is within one tenant: the same user id in two tenants is two people, and
 * a post id looked up in the wrong tenant is not found.
 */
import type { PostKey } from './cursor.ts';
import type { FeedChangeReason, SocialEvent } from './events.ts';
import type { Comment, Post } from './post.ts';
import type { Profile } from './profile.ts';
import type { Follow, Like } from './relation.ts';

/** The outcome of a versioned write: done, or the stored version was no longer the expected one. */
export type PutResult = 'written' | 'conflict';

/**
 * Writes by users, in the region that takes the write. Each change and the events it causes
 * are ONE atomic write (the events travel inside the document until the outbox takes them), so
 * a change is published exactly when it is stored. A write that fails stored nothing.
 */
export interface SocialWrites {
  /** Writes `next` if the stored profile's version is still `expected` (0: none stored yet). */
  putProfile(next: Profile, expected: number, events: readonly SocialEvent[]): Promise<PutResult>;
  /** Inserts the post; if its id is already stored, changes nothing and answers the stored post. */
  insertPost(post: Post, events: readonly SocialEvent[]): Promise<Post | undefined>;
  /** Inserts the comment; if its id is already stored, changes nothing and answers the stored comment. */
  insertComment(comment: Comment, events: readonly SocialEvent[]): Promise<Comment | undefined>;
  /** Writes the like's state if its stored version is still `expected` (0: none). */
  putLike(next: Like, expected: number, events: readonly SocialEvent[]): Promise<PutResult>;
  /** Writes the follow's state if its stored version is still `expected` (0: none). */
  putFollow(next: Follow, expected: number, events: readonly SocialEvent[]): Promise<PutResult>;
}

/**
 * This region's copy of what was written in the other region (from its mirrored events), and
 * the fan-out policy's own marks. Idempotent: applying the same state twice, or an older state
 * after a newer one, changes nothing; answers whether anything changed.
 */
export interface SocialReplica {
  applyProfile(profile: Profile): Promise<boolean>;
  applyPost(post: Post): Promise<boolean>;
  applyComment(comment: Comment): Promise<boolean>;
  applyLike(like: Like): Promise<boolean>;
  applyFollow(follow: Follow): Promise<boolean>;
  /** Marks the user an author whose posts readers pull (fan-out on read). Sticky; idempotent. */
  markHeavy(tenant: string, userId: string): Promise<void>;
}

/** Reads. Lists are bounded by `first`; `after` is exclusive (the last key of the previous page). */
export interface SocialReads {
  getProfile(tenant: string, userId: string): Promise<Profile | undefined>;
  getPost(tenant: string, id: string): Promise<Post | undefined>;
  /** The posts among `ids` that exist in the tenant, in no particular order. */
  getPosts(tenant: string, ids: readonly string[]): Promise<Post[]>;
  /** Posts by any of `authorIds`, newest first (createdAt, then id, descending). */
  postsByAuthors(tenant: string, authorIds: readonly string[], first: number, after?: PostKey): Promise<Post[]>;
  /** Posts mentioning the product, newest first. */
  postsMentioning(tenant: string, productId: string, first: number, after?: PostKey): Promise<Post[]>;
  /** A post's comments, oldest first (createdAt, then id, ascending). */
  comments(tenant: string, postId: string, first: number, after?: PostKey): Promise<Comment[]>;
  /** Comments per post id (0 for posts without any). */
  commentCounts(tenant: string, postIds: readonly string[]): Promise<Map<string, number>>;
  /** Active likes per post id (0 for posts without any). */
  likeCounts(tenant: string, postIds: readonly string[]): Promise<Map<string, number>>;
  getLike(tenant: string, postId: string, userId: string): Promise<Like | undefined>;
  getFollow(tenant: string, followerId: string, followeeId: string): Promise<Follow | undefined>;
  /** Active followers of `userId`, by follower id ascending. */
  followers(tenant: string, userId: string, first: number, after?: string): Promise<string[]>;
  /** Whom `userId` actively follows, by followee id ascending. */
  following(tenant: string, userId: string, first: number, after?: string): Promise<string[]>;
  countFollowers(tenant: string, userId: string): Promise<number>;
  countFollowing(tenant: string, userId: string): Promise<number>;
  /** Whether the user was marked an author whose posts readers pull. */
  isHeavy(tenant: string, userId: string): Promise<boolean>;
  /** Every such author of the tenant (few: only accounts past the fan-out limit). */
  heavyAuthors(tenant: string): Promise<string[]>;
  /** Which of `candidates` `followerId` actively follows. */
  followedAmong(tenant: string, followerId: string, candidates: readonly string[]): Promise<string[]>;
}

/** The whole store, as one adapter implements it. */
export type SocialStore = SocialWrites & SocialReplica & SocialReads;

/** One post in a materialised feed. */
export interface FeedEntry extends PostKey {
  readonly authorId: string;
}

/**
 * Materialised home feeds, one per (tenant, user), newest first. Adding is idempotent by post id
 * (an entry added twice is there once), so a projector that replays events never doubles one.
 * Each feed keeps its newest `cap` entries.
 */
export interface FeedStore {
  /** Puts every entry in every user's feed. */
  add(tenant: string, userIds: readonly string[], entries: readonly FeedEntry[]): Promise<void>;
  /** Takes the author's entries out of the user's feed; answers how many. */
  removeAuthor(tenant: string, userId: string, authorId: string): Promise<number>;
  /** Newest first, at most `first`, strictly after the key `after`. */
  page(tenant: string, userId: string, first: number, after?: PostKey): Promise<FeedEntry[]>;
}

/** What changed in this region's feeds, for purges and live notices. */
export interface FeedChange {
  readonly reason: FeedChangeReason;
  readonly authorId: string;
  readonly postId?: string;
  readonly userIds: readonly string[];
}

/**
 * Announces feed changes (as `social.feed.updated.v1` events of this region). Once per cause:
 * announcing again for the same `causeId` (a redelivered event) publishes nothing new.
 */
export interface FeedNotices {
  announce(causeId: string, tenant: string, change: FeedChange): Promise<void>;
}

/** Time, injected so the domain stays deterministic under test. */
export interface Clock {
  now(): string;
}

/** Ids, injected likewise. */
export interface IdGenerator {
  uuid(): string;
  /** The same UUID for the same name, always (a name-based UUID, RFC 9562 §5.5). */
  uuidFor(name: string): string;
}
