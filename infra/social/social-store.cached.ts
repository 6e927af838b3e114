/**
 * The social store with the region's Redis in front of its hottest reads (the read path of
 * ARCHITECTURE.md: read-through, single-flight, jittered TTL, short negative cache):
 * - posts by id: a feed page shows 20 of them, and a post never changes once written, so it is
 *   cached long; a copy arriving from the other region or a new insert drops the key, so a
 *   "not here yet" cached a moment earlier never hides it;
 * - the tenant's authors whose posts readers pull: read by every feed page, changed rarely and
 *   only one way (an author becomes one, never stops), so each process remembers them for a
 *   second (a newly marked author shows up in feeds within that second).
 * Everything else passes through.
 */
import type { Redis } from 'ioredis';
import type { Post } from '../../domains/social/post.ts';
import { createReadThroughCache, type ReadThroughCache } from '../cache/read-through.ts';
import type { MongoSocialStore } from './social-store.mongo.ts';

export interface CachedSocialStore extends MongoSocialStore {
  readonly postCache: ReadThroughCache<Post>;
}

export function createCachedSocialStore(
  origin: MongoSocialStore,
  redis: Redis,
  opts: { readonly postTtlSeconds?: number; readonly heavyMemoMs?: number; readonly namespace?: string } = {},
): CachedSocialStore {
  const postCache = createReadThroughCache<Post>({
    redis,
    namespace: opts.namespace ?? 'social:post',
    ttlSeconds: opts.postTtlSeconds ?? 600,
    negativeTtlSeconds: 1,
  });
  const heavyMemoMs = opts.heavyMemoMs ?? 1000;
  const heavy = new Map<string, { at: number; authors: Promise<string[]> }>();
  const postKey = (tenant: string, id: string) => `${tenant}/${id}`;
  const getPost = (tenant: string, id: string) => postCache.get(postKey(tenant, id), () => origin.getPost(tenant, id));
  return {
    ...origin,
    postCache,
    getPost,
    async getPosts(tenant, ids) {
      const found = await Promise.all([...new Set(ids)].map((id) => getPost(tenant, id)));
      return found.filter((p): p is Post => p !== undefined);
    },
    async insertPost(post, events) {
      const stored = await origin.insertPost(post, events);
      await postCache.invalidate(postKey(post.tenant, post.id));
      return stored;
    },
    async applyPost(post) {
      const applied = await origin.applyPost(post);
      await postCache.invalidate(postKey(post.tenant, post.id));
      return applied;
    },
    heavyAuthors(tenant) {
      const known = heavy.get(tenant);
      if (known && Date.now() - known.at < heavyMemoMs) return known.authors;
      const authors = origin.heavyAuthors(tenant);
      heavy.set(tenant, { at: Date.now(), authors });
      authors.catch(() => heavy.delete(tenant));
      return authors;
    },
    async markHeavy(tenant, userId) {
      await origin.markHeavy(tenant, userId);
      heavy.delete(tenant);
    },
  };
}
