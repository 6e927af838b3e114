/**
 * Social as a domain module: posts, comments, likes and follows in the document store (FerretDB
 * locally, through the official MongoDB driver), each change and its events in one document
 * write (the host's document outbox moves them to the relay); home feeds materialised in Redis
 * by the feed projector from local and mirrored events (fan-out on write, or on read past the
 * fan-out limit); the subgraph; live new-post notices on the hub; purges by entity.
 */
import { SOCIAL_EVENTS } from '../../domains/social/events.ts';
import type { FeedStore } from '../../domains/social/ports.ts';
import type { FeedPolicy, ProjectorDeps } from '../../domains/social/projector.ts';
import { postgresOutboxSink } from '../../infra/outbox/document-outbox.ts';
import { outboxFeedNotices } from '../../infra/social/feed-notices.outbox.ts';
import { createRedisFeedStore } from '../../infra/social/feed-store.redis.ts';
import { nameUuid } from '../../infra/social/name-uuid.ts';
import { type CachedSocialStore, createCachedSocialStore } from '../../infra/social/social-store.cached.ts';
import { createMongoSocialStore } from '../../infra/social/social-store.mongo.ts';
import { socialSchema } from '../../subgraphs/social/server.ts';
import type { RegionDependencies } from '../host/dependencies.ts';
import type { DomainModule } from '../host/domain-module.ts';
import { socialChangedEntities } from './changes.ts';
import { socialHubFeed, socialHubTopics } from './hub.ts';
import { feedProjector } from './projector.ts';
import { type SocialSettings, socialSettings } from './settings.ts';

/** What social exposes to tests and ops in a running region. */
export interface SocialHandle {
  readonly store: CachedSocialStore;
  readonly feeds: FeedStore;
  readonly settings: SocialSettings;
}

/** The projector's ports in a region (shared by the module and projector-main.ts). */
export function projectorDeps(
  region: string,
  deps: Pick<RegionDependencies, 'mongo' | 'documentLocks' | 'redis' | 'postgres'>,
  settings: SocialSettings,
): ProjectorDeps & { store: CachedSocialStore; policy: FeedPolicy } {
  return {
    store: createCachedSocialStore(
      createMongoSocialStore(deps.mongo.db, { region, locks: deps.documentLocks }),
      deps.redis.client,
    ),
    feeds: createRedisFeedStore(deps.redis.client, { cap: settings.feedCap }),
    notices: outboxFeedNotices(postgresOutboxSink(deps.postgres.pool), { region }),
    policy: settings.policy,
  };
}

export const socialModule: DomainModule<SocialHandle> = {
  name: 'social',
  events: Object.values(SOCIAL_EVENTS),
  ports: { subgraph: 14 },
  // Lists cost more than fields (each item resolves more); writes cost most.
  fieldCosts: {
    'Query.feed': 5,
    'User.posts': 3,
    'User.followers': 3,
    'User.following': 3,
    'Product.posts': 3,
    'Post.comments': 3,
    'Mutation.setProfile': 5,
    'Mutation.createPost': 10,
    'Mutation.addComment': 10,
    'Mutation.likePost': 5,
    'Mutation.unlikePost': 5,
    'Mutation.follow': 5,
    'Mutation.unfollow': 5,
  },
  changedEntities: socialChangedEntities,

  async setup(ctx) {
    const { region } = ctx.config;
    const settings = socialSettings(region, ctx.setting);
    const projection = projectorDeps(region, ctx.deps, settings);
    const { store, feeds } = projection;
    return {
      subgraph: socialSchema({
        store,
        feeds,
        clock: { now: () => new Date().toISOString() },
        ids: { uuid: () => crypto.randomUUID(), uuidFor: (name) => nameUuid(name) },
        pulledFeedMaxAge: settings.pulledFeedMaxAge,
      }),
      processors: settings.projectorExternal ? [] : [feedProjector(region, projection)],
      documentOutboxes: store.outboxes,
      hubTopics: socialHubTopics,
      hubFeed: socialHubFeed(region),
      services: [{ name: 'social.indexes', start: () => store.ensureIndexes(), stop: async () => {} }],
      handle: { store, feeds, settings },
    };
  },
};
