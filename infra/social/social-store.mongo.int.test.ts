/**
 * The SocialStore contract against the real east FerretDB, in collections of this run's own
 * (dropped afterwards), plus what only the real store shows: its indexes, and that each write's
 * events sit in the document it wrote until the document outbox moves them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Document } from 'mongodb';
import { SOCIAL_EVENTS, socialEvent } from '../../domains/social/events.ts';
import { socialStoreContract } from '../../domains/social/social-store.contract.test.ts';
import { aPost } from '../../domains/social/testing.ts';
import { createDocumentLocks, type DocumentLocksDependency } from '../adapters/document-locks.ts';
import { createMongo, type MongoDependency } from '../adapters/mongo.ts';
import { createRedis, type RedisDependency } from '../adapters/redis.ts';
import { uniqueName } from '../adapters/testing.ts';
import { resolveEndpoints } from '../config/endpoints.ts';
import type { Envelope } from '../events/envelope.ts';
import type { OutboxSink } from '../outbox/document-outbox.ts';
import { type CachedSocialStore, createCachedSocialStore } from './social-store.cached.ts';
import { createMongoSocialStore, type MongoSocialStore } from './social-store.mongo.ts';

const prefix = uniqueName('social_test', '_');
let mongo: MongoDependency;
let store: MongoSocialStore;
let redis: RedisDependency;
let cached: CachedSocialStore;
let locks: DocumentLocksDependency;

before(async () => {
  const endpoints = resolveEndpoints('east', process.env);
  mongo = createMongo({ url: endpoints.mongoUrl });
  locks = createDocumentLocks({ url: endpoints.postgresUrl, applicationName: 'meridian-social-store-test' });
  store = createMongoSocialStore(mongo.db, { region: 'east', prefix, locks });
  await store.ensureIndexes();
  redis = createRedis({ url: endpoints.redisUrl });
  cached = createCachedSocialStore(store, redis.client, { namespace: `${prefix}:post`, heavyMemoMs: 0 });
});
after(async () => {
  for (const c of await mongo.db.listCollections({}, { nameOnly: true }).toArray()) {
    if (c.name.startsWith(prefix)) await mongo.db.collection(c.name).drop();
  }
  await mongo.close();
  const keys = await redis.client.keys(`${prefix}:*`);
  if (keys.length) await redis.client.del(...keys);
  await redis.close();
  await locks.close();
});

async function pendingEvents(tenant: string, subject: string): Promise<string[]> {
  const types: string[] = [];
  for (const name of ['profiles', 'posts', 'comments', 'likes', 'follows']) {
    const docs = await mongo.db.collection(`${prefix}_${name}`).find({ tenant }).toArray();
    for (const d of docs as Document[]) {
      for (const e of (d._outbox ?? []) as Envelope[])
        if (e.subject === subject) types.push(`${e.time}\u0000${e.type}`);
    }
  }
  return types.sort().map((t) => t.split('\u0000')[1] as string);
}

socialStoreContract('FerretDB', () => ({ store, eventTypes: pendingEvents }));
socialStoreContract('FerretDB behind the Redis cache', () => ({ store: cached, eventTypes: pendingEvents }));

describe('SocialStore on FerretDB', () => {
  it('creates the indexes its queries use', async () => {
    const names = async (c: string) =>
      (await mongo.db.collection(`${prefix}_${c}`).listIndexes().toArray()).map((i) => i.name).sort();
    assert.deepEqual(await names('posts'), ['_id_', 'by_author', 'by_product', 'outbox_pending']);
    assert.deepEqual(await names('follows'), ['_id_', 'followers', 'following', 'outbox_pending']);
    assert.deepEqual(await names('comments'), ['_id_', 'by_post', 'outbox_pending']);
  });

  it('the cache never hides a post that arrives after a miss was cached', async () => {
    const post = aPost({ tenant: uniqueName('t').slice(0, 40) });
    assert.equal(await cached.getPost(post.tenant, post.id), undefined);
    await cached.applyPost(post);
    assert.deepEqual(await cached.getPost(post.tenant, post.id), post);
    assert.deepEqual(await cached.getPosts(post.tenant, [post.id, post.id]), [post]);
    assert.ok(cached.postCache.stats.hits >= 1);
  });

  it('keeps a post and its event in one document until the outbox moves it, then never again', async () => {
    const post = aPost({ tenant: uniqueName('t').slice(0, 40) });
    const event = socialEvent(SOCIAL_EVENTS.postCreated, post.id, post.tenant, {
      postId: post.id,
      authorId: post.authorId,
      body: post.body,
      productIds: post.productIds,
      createdAt: post.createdAt,
    });
    await store.insertPost(post, [event]);
    const moved: Envelope[] = [];
    const sink: OutboxSink = { append: async (envelopes) => void moved.push(...envelopes) };
    const source = store.outboxes.find((o) => o.name === `${prefix}_posts`);
    assert.ok(source);
    while ((await source.drain(sink, 100)) > 0);
    const mine = moved.filter((e) => e.subject === post.id);
    assert.deepEqual(
      mine.map((e) => [e.type, e.tenant, e.source, (e.data as { postId: string }).postId]),
      [[SOCIAL_EVENTS.postCreated, post.tenant, '/regions/east/social', post.id]],
    );
    await source.drain(sink, 100);
    assert.equal(moved.filter((e) => e.subject === post.id).length, 1, 'moved once');
  });
});
