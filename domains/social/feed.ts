/**
 * Reading a home feed: the hybrid of fan-out on write and fan-out on read that large social
 * networks use. Posts of ordinary authors were copied into each follower's materialised feed
 * when they were published (the projector); posts of authors with very many followers were not
 * (that would be one write per follower per post), so they are pulled here, at read time, and
 * merged in. The reader follows few such authors, so the pull is one bounded query.
 */
import type { Actor } from '../shared/actor.ts';
import { newestFirst, olderThan, type PostKey, parsePostCursor, postCursor } from './cursor.ts';
import { pageSize } from './ids.ts';
import type { FeedEntry, FeedStore, SocialReads } from './ports.ts';
import type { Post } from './post.ts';
import { callerId } from './profiles.ts';

export interface FeedPage {
  /** The feed's owner. */
  readonly userId: string;
  readonly posts: readonly Post[];
  readonly hasNextPage: boolean;
  readonly endCursor: string | null;
  /** Some posts were pulled at read time (authors past the fan-out limit): no event purges this page. */
  readonly pulled: boolean;
}

/** Merges newest-first lists into one, each post once, strictly after `after`, at most `limit`. */
export function mergeNewestFirst<T extends PostKey>(
  lists: readonly (readonly T[])[],
  limit: number,
  after?: PostKey,
): T[] {
  const seen = new Set<string>();
  const merged: T[] = [];
  for (const item of lists.flat().sort(newestFirst)) {
    if (seen.has(item.id) || (after && !olderThan(item, after))) continue;
    seen.add(item.id);
    merged.push(item);
    if (merged.length === limit) break;
  }
  return merged;
}

/** The caller's home feed: newest first, `first` posts (1-50, 20 by default) after the cursor `after`. */
export async function readFeed(
  deps: { readonly store: SocialReads; readonly feeds: FeedStore },
  actor: Actor,
  first: number | null | undefined,
  after: string | null | undefined,
): Promise<FeedPage> {
  const userId = callerId(actor);
  const n = pageSize(first);
  const key = parsePostCursor(after);
  const { tenant } = actor;
  const [entries, heavy] = await Promise.all([
    deps.feeds.page(tenant, userId, n + 1, key),
    deps.store.heavyAuthors(tenant),
  ]);
  const pulledAuthors = heavy.length === 0 ? [] : await deps.store.followedAmong(tenant, userId, heavy);
  if (heavy.includes(userId)) pulledAuthors.push(userId);
  const pulled = pulledAuthors.length > 0 ? await deps.store.postsByAuthors(tenant, pulledAuthors, n + 1, key) : [];
  const page = mergeNewestFirst<FeedEntry | Post>([entries, pulled], n + 1, key);
  const hasNextPage = page.length > n;
  const shown = page.slice(0, n);
  const byId = new Map(pulled.map((p) => [p.id, p]));
  const missing = shown.filter((e) => !byId.has(e.id)).map((e) => e.id);
  for (const p of missing.length ? await deps.store.getPosts(tenant, missing) : []) byId.set(p.id, p);
  // An entry whose post this region does not hold (yet) is left out rather than shown empty.
  const posts = shown.flatMap((e) => byId.get(e.id) ?? []);
  const last = shown[shown.length - 1];
  return { userId, posts, hasNextPage, endCursor: last ? postCursor(last) : null, pulled: pulledAuthors.length > 0 };
}
