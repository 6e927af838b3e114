/** Builders and in-memory ports for social unit tests (integration tests use the real adapters). */
import type { Actor } from '../shared/actor.ts';
import { newestFirst, olderThan, type PostKey } from './cursor.ts';
import type { SocialEvent } from './events.ts';
import type {
  Clock,
  FeedChange,
  FeedEntry,
  FeedNotices,
  FeedStore,
  IdGenerator,
  PutResult,
  SocialStore,
} from './ports.ts';
import type { Comment, Post } from './post.ts';
import type { Profile } from './profile.ts';
import { type Follow, type Like, supersedes } from './relation.ts';

export function anActor(subject = 'u1', tenant = 't1'): Actor {
  return { subject, tenant, scopes: [] };
}

/** A clock that moves one millisecond per reading, from a fixed start. */
export function steppingClock(start = Date.parse('2030-01-01T00:00:00.000Z')): Clock {
  let t = start;
  return { now: () => new Date(t++).toISOString() };
}

/** Random UUIDs, and name-based ones as a stable (not RFC) mapping: enough for unit tests. */
export function testIds(): IdGenerator {
  const named = new Map<string, string>();
  return {
    uuid: () => crypto.randomUUID(),
    uuidFor(name) {
      const id = named.get(name) ?? crypto.randomUUID();
      named.set(name, id);
      return id;
    },
  };
}

/** A post of `authorId` at `createdAt`, with a fresh id unless given. */
export function aPost(overrides: Partial<Post> = {}): Post {
  return {
    id: crypto.randomUUID(),
    tenant: 't1',
    authorId: 'u1',
    body: 'hello',
    productIds: [],
    createdAt: '2030-01-01T00:00:00.000Z',
    ...overrides,
  };
}

const k = (...parts: string[]) => parts.join('\u0000');
const byNewest = <T extends PostKey>(items: T[], first: number, after?: PostKey) =>
  items
    .filter((p) => !after || olderThan(p, after))
    .sort(newestFirst)
    .slice(0, first);

/** A SocialStore in memory; `events` is what its outbox received, oldest first. */
export function memorySocialStore(): SocialStore & { readonly events: SocialEvent[] } {
  const profiles = new Map<string, Profile>();
  const posts = new Map<string, Post>();
  const comments = new Map<string, Comment>();
  const likes = new Map<string, Like>();
  const follows = new Map<string, Follow>();
  const heavy = new Set<string>();
  const events: SocialEvent[] = [];
  const put = <T extends { version: number }>(
    map: Map<string, T>,
    key: string,
    next: T,
    expected: number,
    evs: readonly SocialEvent[],
  ): PutResult => {
    if ((map.get(key)?.version ?? 0) !== expected) return 'conflict';
    map.set(key, next);
    events.push(...evs);
    return 'written';
  };
  const apply = <T extends { version: number; updatedAt: string }>(map: Map<string, T>, key: string, next: T) => {
    if (!supersedes(next, map.get(key))) return false;
    map.set(key, next);
    return true;
  };
  const activeFollows = (tenant: string) => [...follows.values()].filter((f) => f.tenant === tenant && f.active);
  const page = (ids: string[], first: number, after?: string) =>
    ids
      .filter((id) => after === undefined || id > after)
      .sort()
      .slice(0, first);
  return {
    events,
    async putProfile(next, expected, evs) {
      return put(profiles, k(next.tenant, next.userId), next, expected, evs);
    },
    async insertPost(post, evs) {
      const existing = posts.get(post.id);
      if (existing) return existing;
      posts.set(post.id, post);
      events.push(...evs);
      return undefined;
    },
    async insertComment(comment, evs) {
      const existing = comments.get(comment.id);
      if (existing) return existing;
      comments.set(comment.id, comment);
      events.push(...evs);
      return undefined;
    },
    async putLike(next, expected, evs) {
      return put(likes, k(next.tenant, next.postId, next.userId), next, expected, evs);
    },
    async putFollow(next, expected, evs) {
      return put(follows, k(next.tenant, next.followerId, next.followeeId), next, expected, evs);
    },
    async applyProfile(p) {
      return apply(profiles, k(p.tenant, p.userId), p);
    },
    async applyPost(p) {
      if (posts.has(p.id)) return false;
      posts.set(p.id, p);
      return true;
    },
    async applyComment(c) {
      if (comments.has(c.id)) return false;
      comments.set(c.id, c);
      return true;
    },
    async applyLike(l) {
      return apply(likes, k(l.tenant, l.postId, l.userId), l);
    },
    async applyFollow(f) {
      return apply(follows, k(f.tenant, f.followerId, f.followeeId), f);
    },
    async markHeavy(tenant, userId) {
      heavy.add(k(tenant, userId));
    },
    async getProfile(tenant, userId) {
      return profiles.get(k(tenant, userId));
    },
    async getPost(tenant, id) {
      const p = posts.get(id);
      return p?.tenant === tenant ? p : undefined;
    },
    async getPosts(tenant, ids) {
      return ids.flatMap((id) => {
        const p = posts.get(id);
        return p?.tenant === tenant ? [p] : [];
      });
    },
    async postsByAuthors(tenant, authorIds, first, after) {
      const mine = [...posts.values()].filter((p) => p.tenant === tenant && authorIds.includes(p.authorId));
      return byNewest(mine, first, after);
    },
    async postsMentioning(tenant, productId, first, after) {
      const mine = [...posts.values()].filter((p) => p.tenant === tenant && p.productIds.includes(productId));
      return byNewest(mine, first, after);
    },
    async comments(tenant, postId, first, after) {
      return [...comments.values()]
        .filter((c) => c.tenant === tenant && c.postId === postId)
        .filter((c) => !after || olderThan(after, c))
        .sort((a, b) => newestFirst(b, a))
        .slice(0, first);
    },
    async commentCounts(tenant, postIds) {
      const counts = new Map(postIds.map((id) => [id, 0]));
      for (const c of comments.values()) {
        if (c.tenant === tenant && counts.has(c.postId)) counts.set(c.postId, (counts.get(c.postId) ?? 0) + 1);
      }
      return counts;
    },
    async likeCounts(tenant, postIds) {
      const counts = new Map(postIds.map((id) => [id, 0]));
      for (const l of likes.values()) {
        if (l.tenant === tenant && l.active && counts.has(l.postId)) {
          counts.set(l.postId, (counts.get(l.postId) ?? 0) + 1);
        }
      }
      return counts;
    },
    async getLike(tenant, postId, userId) {
      return likes.get(k(tenant, postId, userId));
    },
    async getFollow(tenant, followerId, followeeId) {
      return follows.get(k(tenant, followerId, followeeId));
    },
    async followers(tenant, userId, first, after) {
      const ids = activeFollows(tenant)
        .filter((f) => f.followeeId === userId)
        .map((f) => f.followerId);
      return page(ids, first, after);
    },
    async following(tenant, userId, first, after) {
      const ids = activeFollows(tenant)
        .filter((f) => f.followerId === userId)
        .map((f) => f.followeeId);
      return page(ids, first, after);
    },
    async countFollowers(tenant, userId) {
      return activeFollows(tenant).filter((f) => f.followeeId === userId).length;
    },
    async countFollowing(tenant, userId) {
      return activeFollows(tenant).filter((f) => f.followerId === userId).length;
    },
    async isHeavy(tenant, userId) {
      return heavy.has(k(tenant, userId));
    },
    async heavyAuthors(tenant) {
      return [...heavy].filter((h) => h.startsWith(`${tenant}\u0000`)).map((h) => h.slice(tenant.length + 1));
    },
    async followedAmong(tenant, followerId, candidates) {
      return activeFollows(tenant)
        .filter((f) => f.followerId === followerId && candidates.includes(f.followeeId))
        .map((f) => f.followeeId);
    },
  };
}

/** Feeds in memory; `writes` counts entries written (one per user per entry), for write-storm checks. */
export function memoryFeedStore(cap = 500): FeedStore & { writes: number } {
  const feeds = new Map<string, Map<string, FeedEntry>>();
  const store = {
    writes: 0,
    async add(tenant: string, userIds: readonly string[], entries: readonly FeedEntry[]) {
      for (const userId of userIds) {
        const feed = feeds.get(k(tenant, userId)) ?? new Map<string, FeedEntry>();
        feeds.set(k(tenant, userId), feed);
        for (const e of entries) {
          feed.set(e.id, e);
          store.writes++;
        }
        const kept = [...feed.values()].sort(newestFirst).slice(0, cap);
        feed.clear();
        for (const e of kept) feed.set(e.id, e);
      }
    },
    async removeAuthor(tenant: string, userId: string, authorId: string) {
      const feed = feeds.get(k(tenant, userId));
      let removed = 0;
      for (const [id, e] of feed ?? []) {
        if (e.authorId === authorId && feed?.delete(id)) removed++;
      }
      return removed;
    },
    async page(tenant: string, userId: string, first: number, after?: PostKey) {
      return byNewest([...(feeds.get(k(tenant, userId))?.values() ?? [])], first, after);
    },
  };
  return store;
}

/** Notices in memory, once per cause like the real one. */
export function memoryNotices(): FeedNotices & { readonly announced: Array<FeedChange & { tenant: string }> } {
  const causes = new Set<string>();
  const announced: Array<FeedChange & { tenant: string }> = [];
  return {
    announced,
    async announce(causeId, tenant, change) {
      if (causes.has(causeId)) return;
      causes.add(causeId);
      announced.push({ ...change, tenant });
    },
  };
}
