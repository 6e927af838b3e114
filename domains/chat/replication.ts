/**
 * Applying chat events from either region (the local topic and the peer's mirrored copy) to
 * this region's state. Every apply is idempotent and commutative, so it does not matter that
 * the two topics interleave differently in each region or that Kafka redelivers: both regions
 * converge on the same rooms, members, read markers and message history in the same order.
 * Nothing here publishes anything, so no event can echo back and forth between the regions.
 */
import type { DomainEvent } from '../shared/events.ts';
import {
  CHAT_EVENTS,
  type MemberChangedData,
  type MemberReadData,
  type MessageSentData,
  type RoomCreatedData,
} from './events.ts';
import type { HybridClock } from './hlc.ts';
import type { ChatStore } from './ports.ts';

/** What applying needs. */
export interface ReplicationDeps {
  readonly store: ChatStore;
  /** Observes every applied timestamp, so later local events sort after them. */
  readonly hlc: HybridClock;
}

/** The event types replicated into each region's state. */
export const REPLICATED_EVENTS: readonly string[] = [
  CHAT_EVENTS.roomCreated,
  CHAT_EVENTS.memberChanged,
  CHAT_EVENTS.messageSent,
  CHAT_EVENTS.memberRead,
];

/** Applies one event (already schema-checked); `time` is when it happened. Other types are ignored. */
export async function applyReplicated(
  deps: ReplicationDeps,
  event: DomainEvent & { readonly time: string },
): Promise<void> {
  const { store } = deps;
  const tenant = event.tenant;
  switch (event.type) {
    case CHAT_EVENTS.roomCreated: {
      const d = event.data as RoomCreatedData;
      deps.hlc.observe(d.hlc);
      await store.applyRoom(
        { tenant, id: d.roomId, name: d.name, createdBy: d.createdBy, createdAt: event.time },
        d.members.map((userId) => ({ tenant, roomId: d.roomId, userId, member: true, hlc: d.hlc })),
      );
      return;
    }
    case CHAT_EVENTS.memberChanged: {
      const d = event.data as MemberChangedData;
      deps.hlc.observe(d.hlc);
      await store.applyMembership({ tenant, roomId: d.roomId, userId: d.userId, member: d.member, hlc: d.hlc });
      return;
    }
    case CHAT_EVENTS.messageSent: {
      const d = event.data as MessageSentData;
      deps.hlc.observe(d.hlc);
      await store.applyMessage({
        tenant,
        roomId: d.roomId,
        id: d.messageId,
        clientMessageId: d.clientMessageId,
        authorId: d.authorId,
        body: d.body,
        sentAt: d.sentAt,
        hlc: d.hlc,
      });
      return;
    }
    case CHAT_EVENTS.memberRead: {
      const d = event.data as MemberReadData;
      await store.applyRead(tenant, d.roomId, d.userId, { hlc: d.hlc, id: d.messageId });
      return;
    }
    default:
      return;
  }
}
