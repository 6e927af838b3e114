/**
 * SocialStore on the MongoDB wire protocol (the official driver; FerretDB v1 locally, MongoDB
 * in production). FerretDB v1 has no multi-document transactions, so every write that causes
 * events is ONE single-document write carrying them (`CollectionOutbox.update`/`insert`): the
 * document outbox mover copies them into the region's PostgreSQL outbox and the relay publishes
 * them. FerretDB v1 does not apply even one update atomically (it reads, changes and rewrites the
 * whole document), so every update here holds the document's lock (`opts.locks`): a version
 * guard alone lets two writers win.
 *
 * Tenancy is in the key: every `_id` starts with `<tenant>/` (tenants and user ids hold no `/`),
 * so a lookup by id in the wrong tenant finds nothing, and every query filters by tenant too.
 *
 * Operators used, each checked against FerretDB v1.24 (infra/social/social-store.mongo.int.test.ts
 * runs this whole adapter there): insertOne (duplicate key E11000), updateOne with $set, $inc,
 * $push/$each; find with equality, $in, $lt/$gt, $or, sort on two fields, limit, projection;
 * countDocuments; aggregate $match + $group/$sum; createIndex (compound, descending, on an
 * array field). Not used because FerretDB v1 lacks them: transactions, partial indexes.
 *
 * FerretDB v1 pushes only top-level equality filters down to PostgreSQL (as JSONB containment,
 * which PostgreSQL answers by scanning the table: the indexes are created for MongoDB proper);
 * everything else (`$in`, `$or`, ranges, sort, limit) it applies itself to what the equality
 * part returned. So every query here leads with equality on `tenant` (and on the author,
 * follower or post where it can), which bounds that work by one tenant's documents.
 */
import type { Collection, Db, Document, Filter, IndexSpecification } from 'mongodb';
import { DomainError, isDomainError } from '../../domains/shared/errors.ts';
import type { PostKey } from '../../domains/social/cursor.ts';
import type { SocialEvent } from '../../domains/social/events.ts';
import type { PutResult, SocialStore } from '../../domains/social/ports.ts';
import type { Comment, Post } from '../../domains/social/post.ts';
import type { Profile } from '../../domains/social/profile.ts';
import type { Follow, Like } from '../../domains/social/relation.ts';
import type { DocumentLocks } from '../adapters/document-locks.ts';
import { type Envelope, envelope } from '../events/envelope.ts';
import {
  type CollectionOutbox,
  collectionOutbox,
  type DocumentOutboxSource,
  type OutboxFields,
} from '../outbox/document-outbox.ts';
import { currentTraceparent } from '../telemetry/context.ts';

type Doc<T> = T & OutboxFields & { _id: string };
type ProfileDoc = Doc<Profile>;
type PostDoc = Doc<Omit<Post, 'id'> & { postId: string }>;
type CommentDoc = Doc<Omit<Comment, 'id'> & { commentId: string }>;
type LikeDoc = Doc<Like>;
type FollowDoc = Doc<Follow>;
type HeavyDoc = { _id: string; tenant: string; userId: string };

export interface MongoSocialStoreOptions {
  readonly region: string;
  /** Collection names are `<prefix>_profiles`, `<prefix>_posts`…; `social` unless a test isolates itself. */
  readonly prefix?: string;
  /** Serialises updates of one document across the region's processes (FerretDB v1 needs it). */
  readonly locks: DocumentLocks;
}

/** The store, its document outboxes (for the host's mover) and its index set-up. */
export interface MongoSocialStore extends SocialStore {
  readonly outboxes: readonly DocumentOutboxSource[];
  /** Creates the indexes the queries use (idempotent); call at start. */
  ensureIndexes(): Promise<void>;
}

const DUPLICATE_KEY = 11000;
const isDuplicate = (err: unknown) => (err as { code?: unknown } | null)?.code === DUPLICATE_KEY;

/** Driver failures become domain errors here: retryable unless the store refused what we sent. */
function translate(err: unknown): DomainError {
  if (isDomainError(err)) return err;
  return new DomainError('DEPENDENCY_UNAVAILABLE', `document store: ${(err as Error)?.message ?? err}`, {
    retryable: true,
    cause: err,
  });
}

async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw translate(err);
  }
}

const key = (...parts: string[]) => parts.join('/');

/** Exclusive cursor filter for newest-first (`$lt`) or oldest-first (`$gt`) lists keyed (createdAt, idField). */
function afterFilter(after: PostKey | undefined, idField: string, op: '$lt' | '$gt'): Document {
  if (!after) return {};
  return {
    $or: [{ createdAt: { [op]: after.createdAt } }, { createdAt: after.createdAt, [idField]: { [op]: after.id } }],
  };
}

function toProfile(d: ProfileDoc): Profile {
  return { tenant: d.tenant, userId: d.userId, displayName: d.displayName, version: d.version, updatedAt: d.updatedAt };
}
function toPost(d: PostDoc): Post {
  return {
    id: d.postId,
    tenant: d.tenant,
    authorId: d.authorId,
    body: d.body,
    productIds: [...d.productIds],
    createdAt: d.createdAt,
  };
}
function toComment(d: CommentDoc): Comment {
  return {
    id: d.commentId,
    tenant: d.tenant,
    postId: d.postId,
    authorId: d.authorId,
    body: d.body,
    createdAt: d.createdAt,
  };
}
function toLike(d: LikeDoc): Like {
  return {
    tenant: d.tenant,
    postId: d.postId,
    userId: d.userId,
    active: d.active,
    version: d.version,
    updatedAt: d.updatedAt,
  };
}
function toFollow(d: FollowDoc): Follow {
  return {
    tenant: d.tenant,
    followerId: d.followerId,
    followeeId: d.followeeId,
    active: d.active,
    version: d.version,
    updatedAt: d.updatedAt,
  };
}
const postFields = (p: Post) => ({
  tenant: p.tenant,
  postId: p.id,
  authorId: p.authorId,
  body: p.body,
  productIds: [...p.productIds],
  createdAt: p.createdAt,
});
const commentFields = (c: Comment) => ({
  tenant: c.tenant,
  commentId: c.id,
  postId: c.postId,
  authorId: c.authorId,
  body: c.body,
  createdAt: c.createdAt,
});

/** The store over `db`; call `ensureIndexes()` before serving. */
export function createMongoSocialStore(db: Db, opts: MongoSocialStoreOptions): MongoSocialStore {
  const prefix = opts.prefix ?? 'social';
  const profiles = db.collection<ProfileDoc>(`${prefix}_profiles`);
  const posts = db.collection<PostDoc>(`${prefix}_posts`);
  const comments = db.collection<CommentDoc>(`${prefix}_comments`);
  const likes = db.collection<LikeDoc>(`${prefix}_likes`);
  const follows = db.collection<FollowDoc>(`${prefix}_follows`);
  const heavy = db.collection<HeavyDoc>(`${prefix}_heavy_authors`);
  const outboxOf = <T extends Document>(c: Collection<T>) =>
    collectionOutbox(c.collectionName, c, { locks: opts.locks });
  const profileOutbox = outboxOf(profiles);
  const likeOutbox = outboxOf(likes);
  const followOutbox = outboxOf(follows);
  const postOutbox = outboxOf(posts);
  const commentOutbox = outboxOf(comments);
  const outboxes = [profileOutbox, postOutbox, commentOutbox, likeOutbox, followOutbox];

  const wrap = (events: readonly SocialEvent[]): Envelope[] =>
    events.map((e) => envelope(e, { region: opts.region, service: 'social', traceparent: currentTraceparent() }));

  /** Versioned write: insert when `expected` is 0, else update where the version is still `expected`. */
  async function putVersioned<T extends { version: number }>(
    outbox: CollectionOutbox<Doc<T>>,
    id: string,
    fields: T,
    expected: number,
    events: readonly SocialEvent[],
  ): Promise<PutResult> {
    return guarded(async () => {
      const envelopes = wrap(events);
      if (expected === 0) {
        try {
          await outbox.insert({ _id: id, ...fields } as never, envelopes);
          return 'written';
        } catch (err) {
          if (isDuplicate(err)) return 'conflict';
          throw err;
        }
      }
      const filter = { _id: id, version: expected } as Filter<Doc<T>> & { _id: string };
      const result = await outbox.update(filter, { $set: fields } as never, envelopes);
      return result.matchedCount === 1 ? 'written' : 'conflict';
    });
  }

  /** Last-writer-wins copy: replaces an older state, inserts a missing one, leaves a newer or equal one. */
  async function applyVersioned<T extends { version: number; updatedAt: string }>(
    outbox: CollectionOutbox<Doc<T>>,
    id: string,
    fields: T,
  ): Promise<boolean> {
    return guarded(async () => {
      const older = {
        _id: id,
        $or: [{ version: { $lt: fields.version } }, { version: fields.version, updatedAt: { $lt: fields.updatedAt } }],
      } as unknown as Filter<Doc<T>> & { _id: string };
      const updated = await outbox.update(older, { $set: fields } as never, []);
      if (updated.matchedCount === 1) return true;
      try {
        await outbox.insert({ _id: id, ...fields } as never, []);
        return true;
      } catch (err) {
        if (isDuplicate(err)) return false; // stored already, at this state or a newer one
        throw err;
      }
    });
  }

  /** Inserts once, with `events` pending in it; answers the stored document when the id exists. */
  async function insertOnce<D extends Document & { _id: string }>(
    collection: Collection<D>,
    outbox: CollectionOutbox<D>,
    doc: Omit<D, keyof OutboxFields>,
    events: readonly Envelope[],
  ): Promise<D | undefined> {
    try {
      await outbox.insert(doc as never, events);
      return undefined;
    } catch (err) {
      if (!isDuplicate(err)) throw err;
      const stored = await collection.findOne({ _id: doc._id } as Filter<D>);
      if (!stored) throw err;
      return stored as D;
    }
  }

  async function counts(
    collection: Collection<CommentDoc> | Collection<LikeDoc>,
    match: Document,
    postIds: readonly string[],
  ): Promise<Map<string, number>> {
    const result = new Map(postIds.map((id) => [id, 0]));
    if (postIds.length === 0) return result;
    const rows = await (collection as unknown as Collection<Document>)
      .aggregate<{ _id: string; n: number }>([
        { $match: { ...match, postId: { $in: [...postIds] } } },
        { $group: { _id: '$postId', n: { $sum: 1 } } },
      ])
      .toArray();
    for (const r of rows) result.set(r._id, r.n);
    return result;
  }

  const followList = async (filter: Document, field: 'followerId' | 'followeeId', first: number, after?: string) =>
    (
      await follows
        .find({
          ...filter,
          active: true,
          ...(after === undefined ? {} : { [field]: { $gt: after } }),
        } as Filter<FollowDoc>)
        .sort({ [field]: 1 })
        .limit(first)
        .project<Pick<Follow, typeof field>>({ [field]: 1, _id: 0 })
        .toArray()
    ).map((d) => d[field]);

  const newestPosts = async (filter: Document, first: number, after?: PostKey) =>
    (
      await posts
        .find({ ...filter, ...afterFilter(after, 'postId', '$lt') } as Filter<PostDoc>, {
          projection: { _outbox: 0 },
        })
        .sort({ createdAt: -1, postId: -1 })
        .limit(first)
        .toArray()
    ).map(toPost);

  return {
    outboxes,

    async ensureIndexes() {
      const indexes: Array<[Collection<never>, IndexSpecification, string]> = [
        [posts as never, { tenant: 1, authorId: 1, createdAt: -1, postId: -1 }, 'by_author'],
        [posts as never, { tenant: 1, productIds: 1, createdAt: -1, postId: -1 }, 'by_product'],
        [comments as never, { tenant: 1, postId: 1, createdAt: 1, commentId: 1 }, 'by_post'],
        [likes as never, { tenant: 1, postId: 1, active: 1 }, 'by_post'],
        [follows as never, { tenant: 1, followeeId: 1, active: 1, followerId: 1 }, 'followers'],
        [follows as never, { tenant: 1, followerId: 1, active: 1, followeeId: 1 }, 'following'],
        [heavy as never, { tenant: 1 }, 'by_tenant'],
      ];
      await guarded(async () => {
        for (const [collection, spec, name] of indexes) await collection.createIndex(spec, { name });
        for (const outbox of outboxes) await outbox.ensureIndex();
      });
    },

    putProfile: (next, expected, events) =>
      putVersioned(profileOutbox, key(next.tenant, next.userId), toProfile(next as ProfileDoc), expected, events),
    putLike: (next, expected, events) =>
      putVersioned(likeOutbox, key(next.tenant, next.postId, next.userId), toLike(next as LikeDoc), expected, events),
    putFollow: (next, expected, events) =>
      putVersioned(
        followOutbox,
        key(next.tenant, next.followerId, next.followeeId),
        toFollow(next as FollowDoc),
        expected,
        events,
      ),

    insertPost: (post, events) =>
      guarded(async () => {
        const stored = await insertOnce(
          posts,
          postOutbox,
          { _id: key(post.tenant, post.id), ...postFields(post) },
          wrap(events),
        );
        return stored && toPost(stored);
      }),
    insertComment: (comment, events) =>
      guarded(async () => {
        const stored = await insertOnce(
          comments,
          commentOutbox,
          { _id: key(comment.tenant, comment.id), ...commentFields(comment) },
          wrap(events),
        );
        return stored && toComment(stored);
      }),

    applyProfile: (p) => applyVersioned(profileOutbox, key(p.tenant, p.userId), toProfile(p as ProfileDoc)),
    applyLike: (l) => applyVersioned(likeOutbox, key(l.tenant, l.postId, l.userId), toLike(l as LikeDoc)),
    applyFollow: (f) =>
      applyVersioned(followOutbox, key(f.tenant, f.followerId, f.followeeId), toFollow(f as FollowDoc)),
    applyPost: (p) =>
      guarded(
        async () =>
          (await insertOnce(posts, postOutbox, { _id: key(p.tenant, p.id), ...postFields(p) }, [])) === undefined,
      ),
    applyComment: (c) =>
      guarded(
        async () =>
          (await insertOnce(comments, commentOutbox, { _id: key(c.tenant, c.id), ...commentFields(c) }, [])) ===
          undefined,
      ),
    markHeavy: (tenant, userId) =>
      guarded(async () => {
        // Two racing upserts on FerretDB v1 may both insert: the second's duplicate key means done.
        await heavy
          .updateOne({ _id: key(tenant, userId) }, { $set: { tenant, userId } }, { upsert: true })
          .catch((err: unknown) => {
            if (!isDuplicate(err)) throw err;
          });
      }),

    getProfile: (tenant, userId) =>
      guarded(async () => {
        const d = await profiles.findOne({ _id: key(tenant, userId) });
        return d ? toProfile(d as ProfileDoc) : undefined;
      }),
    getPost: (tenant, id) =>
      guarded(async () => {
        const d = await posts.findOne({ _id: key(tenant, id) });
        return d ? toPost(d as PostDoc) : undefined;
      }),
    // Point reads, not `_id: { $in }`: FerretDB v1 pushes only equality filters down to
    // PostgreSQL; an `$in` makes it fetch and filter the whole collection itself.
    getPosts: (tenant, ids) =>
      guarded(async () => {
        const found = await Promise.all([...new Set(ids)].map((id) => posts.findOne({ _id: key(tenant, id) })));
        return found.flatMap((d) => (d ? [toPost(d as PostDoc)] : []));
      }),
    postsByAuthors: (tenant, authorIds, first, after) =>
      guarded(() =>
        newestPosts(
          authorIds.length === 1 ? { tenant, authorId: authorIds[0] } : { tenant, authorId: { $in: [...authorIds] } },
          first,
          after,
        ),
      ),
    postsMentioning: (tenant, productId, first, after) =>
      guarded(() => newestPosts({ tenant, productIds: productId }, first, after)),
    comments: (tenant, postId, first, after) =>
      guarded(async () =>
        (
          await comments
            .find({ tenant, postId, ...afterFilter(after, 'commentId', '$gt') } as Filter<CommentDoc>)
            .sort({ createdAt: 1, commentId: 1 })
            .limit(first)
            .toArray()
        ).map((d) => toComment(d as CommentDoc)),
      ),
    commentCounts: (tenant, postIds) => guarded(() => counts(comments, { tenant }, postIds)),
    likeCounts: (tenant, postIds) => guarded(() => counts(likes, { tenant, active: true }, postIds)),
    getLike: (tenant, postId, userId) =>
      guarded(async () => {
        const d = await likes.findOne({ _id: key(tenant, postId, userId) });
        return d ? toLike(d as LikeDoc) : undefined;
      }),
    getFollow: (tenant, followerId, followeeId) =>
      guarded(async () => {
        const d = await follows.findOne({ _id: key(tenant, followerId, followeeId) });
        return d ? toFollow(d as FollowDoc) : undefined;
      }),
    followers: (tenant, userId, first, after) =>
      guarded(() => followList({ tenant, followeeId: userId }, 'followerId', first, after)),
    following: (tenant, userId, first, after) =>
      guarded(() => followList({ tenant, followerId: userId }, 'followeeId', first, after)),
    countFollowers: (tenant, userId) =>
      guarded(() => follows.countDocuments({ tenant, followeeId: userId, active: true })),
    countFollowing: (tenant, userId) =>
      guarded(() => follows.countDocuments({ tenant, followerId: userId, active: true })),
    isHeavy: (tenant, userId) => guarded(async () => (await heavy.findOne({ _id: key(tenant, userId) })) !== null),
    heavyAuthors: (tenant) =>
      guarded(async () => (await heavy.find({ tenant }).sort({ userId: 1 }).toArray()).map((d) => d.userId)),
    followedAmong: (tenant, followerId, candidates) =>
      guarded(async () =>
        candidates.length === 0
          ? []
          : (
              await follows
                .find({ tenant, followerId, followeeId: { $in: [...candidates] }, active: true })
                .project<{ followeeId: string }>({ followeeId: 1, _id: 0 })
                .toArray()
            ).map((d) => d.followeeId),
      ),
  };
}
