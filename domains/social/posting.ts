/** Writing posts and comments. Everything is validated before any store is asked anything. */
import type { Actor } from '../shared/actor.ts';
import { DomainError } from '../shared/errors.ts';
import { SOCIAL_EVENTS, socialEvent } from './events.ts';
import { postIdOf } from './ids.ts';
import type { Clock, IdGenerator, SocialReads, SocialWrites } from './ports.ts';
import { type Comment, POST_LIMITS, type Post, validBody, validProductIds } from './post.ts';
import { callerId, requireProfile } from './profiles.ts';

export interface PostingDeps {
  readonly store: SocialReads & SocialWrites;
  readonly clock: Clock;
  readonly ids: IdGenerator;
}

export interface CreatePostInput {
  readonly body: unknown;
  readonly productIds?: readonly unknown[] | null;
  readonly idempotencyKey?: string | null;
}

export interface AddCommentInput {
  readonly postId: unknown;
  readonly body: unknown;
  readonly idempotencyKey?: string | null;
}

const KEY = /^[\x21-\x7e]{1,128}$/;

/** The idempotency key from the input or the header (input wins); BAD_USER_INPUT when malformed. */
function keyOf(fromInput: string | null | undefined, fromHeader: string | undefined): string | undefined {
  const key = fromInput ?? fromHeader;
  if (key === undefined || key === null) return undefined;
  if (!KEY.test(key)) {
    throw new DomainError('BAD_USER_INPUT', 'idempotencyKey: 1-128 printable ASCII characters', {
      details: { field: 'idempotencyKey' },
    });
  }
  return key;
}

function reused(existingId: string): DomainError {
  return new DomainError('IDEMPOTENCY_KEY_REUSED', 'this idempotency key was used for different content', {
    details: { id: existingId },
  });
}

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * Publishes a post by the caller (who needs a profile). With an idempotency key the post id is
 * derived from (tenant, author, key): a retry answers the stored post (`replayed`), and the same
 * key with other content is IDEMPOTENCY_KEY_REUSED.
 */
export async function createPost(
  deps: PostingDeps,
  actor: Actor,
  input: CreatePostInput,
  headerKey?: string,
): Promise<{ post: Post; replayed: boolean }> {
  const authorId = callerId(actor);
  const body = validBody(input.body, POST_LIMITS.maxBodyChars);
  const productIds = validProductIds(input.productIds);
  const key = keyOf(input.idempotencyKey, headerKey);
  await requireProfile(deps.store, actor.tenant, authorId);
  const id = key ? deps.ids.uuidFor(`post\n${actor.tenant}\n${authorId}\n${key}`) : deps.ids.uuid();
  const post: Post = { id, tenant: actor.tenant, authorId, body, productIds, createdAt: deps.clock.now() };
  const event = socialEvent(SOCIAL_EVENTS.postCreated, id, actor.tenant, {
    postId: id,
    authorId,
    body,
    productIds,
    createdAt: post.createdAt,
  });
  const existing = await deps.store.insertPost(post, [event]);
  if (!existing) return { post, replayed: false };
  if (existing.tenant !== actor.tenant || existing.authorId !== authorId) throw reused(existing.id);
  if (existing.body !== body || !sameList(existing.productIds, productIds)) throw reused(existing.id);
  return { post: existing, replayed: true };
}

/** The post, in the caller's tenant; POST_NOT_FOUND (details.postId) otherwise. */
export async function requirePost(reads: SocialReads, tenant: string, postId: string): Promise<Post> {
  const post = await reads.getPost(tenant, postId);
  if (!post) throw new DomainError('POST_NOT_FOUND', `no post "${postId}"`, { details: { postId } });
  return post;
}

/** Comments on a post of the caller's tenant; idempotent by key like createPost. */
export async function addComment(
  deps: PostingDeps,
  actor: Actor,
  input: AddCommentInput,
  headerKey?: string,
): Promise<{ comment: Comment; replayed: boolean }> {
  const authorId = callerId(actor);
  const postId = postIdOf(input.postId);
  const body = validBody(input.body, POST_LIMITS.maxCommentChars);
  const key = keyOf(input.idempotencyKey, headerKey);
  await requireProfile(deps.store, actor.tenant, authorId);
  await requirePost(deps.store, actor.tenant, postId);
  const id = key ? deps.ids.uuidFor(`comment\n${actor.tenant}\n${authorId}\n${key}`) : deps.ids.uuid();
  const comment: Comment = { id, tenant: actor.tenant, postId, authorId, body, createdAt: deps.clock.now() };
  const event = socialEvent(SOCIAL_EVENTS.commentAdded, postId, actor.tenant, {
    commentId: id,
    postId,
    authorId,
    body,
    createdAt: comment.createdAt,
  });
  const existing = await deps.store.insertComment(comment, [event]);
  if (!existing) return { comment, replayed: false };
  const same = existing.tenant === actor.tenant && existing.authorId === authorId;
  if (!same || existing.postId !== postId || existing.body !== body) throw reused(existing.id);
  return { comment: existing, replayed: true };
}
