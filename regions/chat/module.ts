/**
 * Chat as a domain module: rooms and messages in the region's PostgreSQL through the outbox,
 * replicated from the local and the mirrored topics into each region's history, the chat
 * subgraph, presence over the region's gRPC server (per-region Redis heartbeats), typing as
 * ephemeral signals, and the hub topics and subscription fields for live delivery.
 */
import { CHAT_EVENTS } from '../../domains/chat/events.ts';
import { createHybridClock } from '../../domains/chat/hlc.ts';
import type { ChatStore } from '../../domains/chat/ports.ts';
import { applyReplicated, REPLICATED_EVENTS } from '../../domains/chat/replication.ts';
import { createPostgresChatStore } from '../../infra/chat/chat-store.postgres.ts';
import { chatIds } from '../../infra/chat/ids.ts';
import { CHAT_MIGRATIONS } from '../../infra/chat/migrations.ts';
import { createGrpcPresence } from '../../infra/chat/presence.grpc.ts';
import { createRedisPresence } from '../../infra/chat/presence.redis.ts';
import { createKafkaSignals } from '../../infra/chat/signals.kafka.ts';
import { chatSchema } from '../../subgraphs/chat/server.ts';
import type { DomainModule } from '../host/domain-module.ts';
import { chatHubFeed, chatHubTopics } from './hub.ts';
import { presenceGrpcService } from './presence-grpc.ts';
import { chatSubscriptions } from './subscriptions.ts';

/** What chat exposes to tests and ops in a running region. */
export interface ChatHandle {
  /** This region's chat state (what the replicator converged). */
  readonly store: ChatStore;
}

export const chatModule: DomainModule<ChatHandle> = {
  name: 'chat',
  events: Object.values(CHAT_EVENTS),
  migrations: CHAT_MIGRATIONS,
  ports: { subgraph: 12 },
  // Listing rooms counts each one's unread messages; a history page reads up to 100 rows.
  fieldCosts: {
    'Query.chatRooms': 5,
    'ChatRoom.messages': 5,
    'ChatRoom.unreadCount': 2,
    'ChatRoom.online': 3,
    'Mutation.createChatRoom': 10,
    'Mutation.addChatMembers': 10,
    'Mutation.sendMessage': 5,
  },

  async setup(ctx) {
    const { region } = ctx.config;
    const store = createPostgresChatStore(ctx.deps.postgres.pool, { region });
    const hlc = createHybridClock(region, Date.now);
    const clock = { now: Date.now };
    const presence = createGrpcPresence({ address: () => ctx.grpcAddress() });
    const signals = createKafkaSignals(ctx.deps.kafka, { region });
    const deps = { store, hlc, clock, ids: chatIds, signals, presence };
    return {
      subgraph: chatSchema(deps),
      grpc: [presenceGrpcService(createRedisPresence(ctx.deps.redis.client))],
      processors: [
        {
          // Each region's history from its own topic and the peer's mirrored copy: applying is
          // idempotent and order-independent, and publishes nothing (no echo between regions).
          name: 'replicator',
          topics: REPLICATED_EVENTS,
          mirrored: true,
          // Order-independent, so four at a time per partition: a region back from an outage
          // catches up with the peer's history while the conversation goes on.
          unorderedConcurrency: 4,
          handle: (event) => applyReplicated({ store, hlc }, event),
        },
      ],
      hubTopics: chatHubTopics(store),
      hubFeed: chatHubFeed(),
      subscriptions: chatSubscriptions(deps, region),
      services: [{ name: 'chat.presence-client', start: async () => {}, stop: async () => presence.close() }],
      handle: { store },
    };
  },
};
