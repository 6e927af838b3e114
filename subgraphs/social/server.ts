/**
 * The social subgraph: SDL from schemas/subgraphs/social.graphql and resolvers that only call
 * social use cases and ports. Every operation needs a caller (the tenant comes from the token);
 * every read is in the caller's tenant, whatever an entity reference from another subgraph says.
 * Nothing listens on import.
 */

import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { type GraphQLResolveInfo, type GraphQLSchema, parse } from 'graphql';
import type { Actor } from '../../domains/shared/actor.ts';
import { DomainError } from '../../domains/shared/errors.ts';
import { type PostKey, parsePostCursor, parseUserCursor, postCursor, userCursor } from '../../domains/social/cursor.ts';
import { readFeed } from '../../domains/social/feed.ts';
import { setFollow } from '../../domains/social/following.ts';
import { assertProductId, assertUserId, pageSize, postIdOf, USER_ID, UUID } from '../../domains/social/ids.ts';
import type { Clock, FeedStore, IdGenerator, SocialStore } from '../../domains/social/ports.ts';
import type { Comment, Post } from '../../domains/social/post.ts';
import { type AddCommentInput, addComment, type CreatePostInput, createPost } from '../../domains/social/posting.ts';
import { callerId, type SetProfileInput, setProfile } from '../../domains/social/profiles.ts';
import { setLike } from '../../domains/social/reactions.ts';
import { subgraphSdl } from '../shared/sdl.ts';
import { batchLoader } from './batch-loader.ts';

export const SOCIAL_SDL = subgraphSdl('social');

/** Per-request context the HTTP layer builds. */
export interface SocialContext {
  /** The verified caller, or undefined for anonymous requests. */
  readonly actor: Actor | undefined;
  /** The Idempotency-Key header, if sent. */
  readonly idempotencyKey: string | undefined;
}

export interface SocialDeps {
  readonly store: SocialStore;
  readonly feeds: FeedStore;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  /**
   * Max-age (s) of a feed page holding posts pulled at read time (authors past the fan-out
   * limit): no event purges those per follower, so the page may be cached only this long.
   */
  readonly pulledFeedMaxAge: number;
}

/** A user as this subgraph passes it between resolvers (its profile is loaded when asked). */
interface UserRef {
  readonly id: string;
}

type Args<T> = T & Record<string, unknown>;
interface PageArgs {
  readonly first?: number | null;
  readonly after?: string | null;
}

function requireActor(ctx: SocialContext): Actor {
  if (!ctx.actor) throw new DomainError('UNAUTHENTICATED', 'social needs a bearer token (posts live in a tenant)');
  return ctx.actor;
}

/** The first `n` of `items` (fetched n + 1) as a page. */
function pageOf<T>(items: readonly T[], n: number, cursorOf: (last: T) => string) {
  const shown = items.slice(0, n);
  const last = shown[shown.length - 1];
  return { items: shown, hasNextPage: items.length > n, endCursor: last === undefined ? null : cursorOf(last) };
}
const postPage = (items: readonly Post[], n: number) => {
  const p = pageOf(items, n, postCursor);
  return { posts: p.items, hasNextPage: p.hasNextPage, endCursor: p.endCursor };
};

/** Apollo Server's cache control on `info` (its plugin adds it; typed here rather than importing a transitive package). */
function cacheControlOf(info: GraphQLResolveInfo): { setCacheHint(hint: { maxAge?: number }): void } | undefined {
  return (info as unknown as { cacheControl?: { setCacheHint(hint: { maxAge?: number }): void } }).cacheControl;
}

/**
 * A found value, or null that no cache keeps: "not found" may only mean "not replicated here
 * yet", and a cached null carries no entity tag an event could purge.
 */
function orUncached<T>(value: T | undefined, info: GraphQLResolveInfo): T | null {
  if (value === undefined) cacheControlOf(info)?.setCacheHint({ maxAge: 0 });
  return value ?? null;
}

/** Batched counts and likes per request: a page of 20 posts asks the store twice, not 40 times. */
function loaders(store: SocialStore, actor: Actor) {
  const { tenant } = actor;
  return {
    likeCount: batchLoader((ids: readonly string[]) => store.likeCounts(tenant, ids)),
    commentCount: batchLoader((ids: readonly string[]) => store.commentCounts(tenant, ids)),
  };
}

export function socialResolvers(deps: SocialDeps): GraphQLResolverMap<SocialContext> {
  const { store, feeds } = deps;
  const perRequest = new WeakMap<SocialContext, ReturnType<typeof loaders>>();
  const load = (ctx: SocialContext) => {
    let l = perRequest.get(ctx);
    if (!l) {
      l = loaders(store, requireActor(ctx));
      perRequest.set(ctx, l);
    }
    return l;
  };
  const tenantOf = (ctx: SocialContext) => requireActor(ctx).tenant;
  const postsOf = async (ctx: SocialContext, args: PageArgs, list: (n: number, after?: PostKey) => Promise<Post[]>) => {
    requireActor(ctx);
    const n = pageSize(args.first);
    return postPage(await list(n + 1, parsePostCursor(args.after)), n);
  };
  const usersOf = async (
    ctx: SocialContext,
    args: PageArgs,
    list: (n: number, after?: string) => Promise<string[]>,
  ) => {
    requireActor(ctx);
    const n = pageSize(args.first);
    const p = pageOf(await list(n + 1, parseUserCursor(args.after)), n, userCursor);
    return { users: p.items.map((id): UserRef => ({ id })), hasNextPage: p.hasNextPage, endCursor: p.endCursor };
  };

  return {
    Query: {
      feed: async (_: unknown, args: Args<PageArgs>, ctx: SocialContext, info: GraphQLResolveInfo) => {
        const page = await readFeed({ store, feeds }, requireActor(ctx), args.first, args.after);
        if (page.pulled) cacheControlOf(info)?.setCacheHint({ maxAge: deps.pulledFeedMaxAge });
        return { id: page.userId, posts: page.posts, endCursor: page.endCursor, hasNextPage: page.hasNextPage };
      },
      post: async (_: unknown, args: { id: string }, ctx: SocialContext, info: GraphQLResolveInfo) =>
        orUncached(await store.getPost(tenantOf(ctx), postIdOf(args.id, 'id')), info),
      user: async (_: unknown, args: { id: string }, ctx: SocialContext, info: GraphQLResolveInfo) => {
        const tenant = tenantOf(ctx);
        assertUserId(args.id, 'id');
        return orUncached((await store.getProfile(tenant, args.id)) ? { id: args.id } : undefined, info);
      },
    },
    Mutation: {
      setProfile: async (_: unknown, args: { input: SetProfileInput }, ctx: SocialContext) => {
        const profile = await setProfile(deps, requireActor(ctx), args.input);
        return { id: profile.userId };
      },
      createPost: async (_: unknown, args: { input: CreatePostInput }, ctx: SocialContext) =>
        (await createPost(deps, requireActor(ctx), args.input, ctx.idempotencyKey)).post,
      addComment: async (_: unknown, args: { input: AddCommentInput }, ctx: SocialContext) =>
        (await addComment(deps, requireActor(ctx), args.input, ctx.idempotencyKey)).comment,
      likePost: (_: unknown, args: { postId: string }, ctx: SocialContext) =>
        setLike(deps, requireActor(ctx), args.postId, true),
      unlikePost: (_: unknown, args: { postId: string }, ctx: SocialContext) =>
        setLike(deps, requireActor(ctx), args.postId, false),
      follow: async (_: unknown, args: { userId: string }, ctx: SocialContext) => ({
        id: (await setFollow(deps, requireActor(ctx), args.userId, true)).userId,
      }),
      unfollow: async (_: unknown, args: { userId: string }, ctx: SocialContext) => ({
        id: (await setFollow(deps, requireActor(ctx), args.userId, false)).userId,
      }),
    },
    Post: {
      // A reference from another subgraph is looked up in the caller's tenant: a wrong id is null.
      __resolveReference: async (ref: { id: string }, ctx: SocialContext) =>
        typeof ref.id === 'string' && UUID.test(ref.id) ? ((await store.getPost(tenantOf(ctx), ref.id)) ?? null) : null,
      author: (p: Post): UserRef => ({ id: p.authorId }),
      products: (p: Post) => p.productIds.map((id) => ({ id })),
      likeCount: (p: Post, _: unknown, ctx: SocialContext) => load(ctx).likeCount(p.id),
      commentCount: (p: Post, _: unknown, ctx: SocialContext) => load(ctx).commentCount(p.id),
      likedByMe: async (p: Post, _: unknown, ctx: SocialContext) => {
        const actor = requireActor(ctx);
        return (await store.getLike(actor.tenant, p.id, callerId(actor)))?.active ?? false;
      },
      comments: async (p: Post, args: Args<PageArgs>, ctx: SocialContext) => {
        requireActor(ctx);
        const n = pageSize(args.first);
        const list = await store.comments(tenantOf(ctx), p.id, n + 1, parsePostCursor(args.after));
        const page = pageOf(list, n, postCursor);
        return { comments: page.items, hasNextPage: page.hasNextPage, endCursor: page.endCursor };
      },
    },
    Comment: {
      post: async (c: Comment, _: unknown, ctx: SocialContext) => store.getPost(tenantOf(ctx), c.postId),
      author: (c: Comment): UserRef => ({ id: c.authorId }),
    },
    User: {
      __resolveReference: (ref: { id: string }, ctx: SocialContext): UserRef => {
        requireActor(ctx);
        return { id: ref.id };
      },
      displayName: async (u: UserRef, _: unknown, ctx: SocialContext) =>
        USER_ID.test(u.id) ? ((await store.getProfile(tenantOf(ctx), u.id))?.displayName ?? null) : null,
      posts: (u: UserRef, args: Args<PageArgs>, ctx: SocialContext) =>
        postsOf(ctx, args, (n, after) => store.postsByAuthors(tenantOf(ctx), [u.id], n, after)),
      followers: (u: UserRef, args: Args<PageArgs>, ctx: SocialContext) =>
        usersOf(ctx, args, (n, after) => store.followers(tenantOf(ctx), u.id, n, after)),
      following: (u: UserRef, args: Args<PageArgs>, ctx: SocialContext) =>
        usersOf(ctx, args, (n, after) => store.following(tenantOf(ctx), u.id, n, after)),
      followerCount: (u: UserRef, _: unknown, ctx: SocialContext) => store.countFollowers(tenantOf(ctx), u.id),
      followingCount: (u: UserRef, _: unknown, ctx: SocialContext) => store.countFollowing(tenantOf(ctx), u.id),
    },
    Product: {
      __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
      posts: (p: { id: string }, args: Args<PageArgs>, ctx: SocialContext) => {
        assertProductId(p.id, 'id');
        return postsOf(ctx, args, (n, after) => store.postsMentioning(tenantOf(ctx), p.id, n, after));
      },
    },
  };
}

export function socialSchema(deps: SocialDeps): GraphQLSchema {
  return buildSubgraphSchema([{ typeDefs: parse(SOCIAL_SDL), resolvers: socialResolvers(deps) }]);
}
