/**
 * Materialised feeds in Redis: one sorted set per (tenant, user), `social:feed:<tenant>:<user>`
 * (tenants hold no `:`, so no two feeds share a key). Every member has score 0 and is
 * `<createdAt>|<postId>|<authorId>`; Redis orders equal scores by member bytes, and the fixed-width
 * ISO time then the UUID make that exactly the feed's order, so pages are lexicographic range
 * reads (ZRANGE … BYLEX REV with an exclusive bound) and the oldest entries are trimmed by rank.
 * A post's member is the same every time, so adding it again is a no-op: a projector that
 * replays events never doubles an entry.
 *
 * Why Redis and not the document store: a feed is a bounded, derived, hot read model (every
 * home-screen load reads one; fan-out writes one entry per follower), rebuildable from the
 * posts and follows kept in the document store. A sorted set gives ordered pages, trimming and
 * idempotent inserts in O(log n), and one pipelined round trip writes a post to a thousand
 * feeds; on FerretDB the same fan-out is a thousand JSONB rows in PostgreSQL.
 * Redis runs with AOF persistence (see infra/stack), so feeds survive a restart.
 *
 * Commands (Redis ≥ 6.2 for ZRANGE BYLEX REV): ZADD, ZREMRANGEBYRANK, ZRANGE, ZREM.
 */
import type { Redis } from 'ioredis';
import { DomainError } from '../../domains/shared/errors.ts';
import type { PostKey } from '../../domains/social/cursor.ts';
import type { FeedEntry, FeedStore } from '../../domains/social/ports.ts';

export interface RedisFeedStoreOptions {
  /** Entries kept per feed; 500 by default. */
  readonly cap?: number;
  /** Key prefix; `social:feed` unless a test isolates itself. */
  readonly prefix?: string;
  /** Feeds written per pipeline round trip; 500 by default. */
  readonly batch?: number;
}

const member = (e: FeedEntry) => `${e.createdAt}|${e.id}|${e.authorId}`;

function entryOf(m: string): FeedEntry {
  // Time and UUID hold no `|`; the author id comes last, so it may.
  const first = m.indexOf('|');
  const second = m.indexOf('|', first + 1);
  return { createdAt: m.slice(0, first), id: m.slice(first + 1, second), authorId: m.slice(second + 1) };
}

function translate(err: unknown): DomainError {
  return new DomainError('DEPENDENCY_UNAVAILABLE', `feed store: ${(err as Error)?.message ?? err}`, {
    retryable: true,
    cause: err,
  });
}

/** The feeds in `redis`. */
export function createRedisFeedStore(redis: Redis, opts: RedisFeedStoreOptions = {}): FeedStore {
  const cap = opts.cap ?? 500;
  const prefix = opts.prefix ?? 'social:feed';
  const batch = opts.batch ?? 500;
  const keyOf = (tenant: string, userId: string) => `${prefix}:${tenant}:${userId}`;

  async function run<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      throw translate(err);
    }
  }

  return {
    add: (tenant, userIds, entries) =>
      run(async () => {
        if (entries.length === 0) return;
        const args = entries.flatMap((e) => [0, member(e)]);
        for (let i = 0; i < userIds.length; i += batch) {
          const pipeline = redis.pipeline();
          for (const userId of userIds.slice(i, i + batch)) {
            const key = keyOf(tenant, userId);
            pipeline.zadd(key, ...args);
            pipeline.zremrangebyrank(key, 0, -(cap + 1));
          }
          const results = (await pipeline.exec()) ?? [];
          const failed = results.find(([err]) => err);
          if (failed) throw failed[0];
        }
      }),
    removeAuthor: (tenant, userId, authorId) =>
      run(async () => {
        const key = keyOf(tenant, userId);
        const gone = (await redis.zrange(key, 0, -1)).filter((m) => entryOf(m).authorId === authorId);
        return gone.length === 0 ? 0 : redis.zrem(key, ...gone);
      }),
    page: (tenant, userId, first, after?: PostKey) =>
      run(async () => {
        const max = after ? `(${after.createdAt}|${after.id}|` : '+';
        const members = await redis.zrange(keyOf(tenant, userId), max, '-', 'BYLEX', 'REV', 'LIMIT', 0, first);
        return members.map(entryOf);
      }),
  };
}
