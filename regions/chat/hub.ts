/**
 * Chat on the hub: a room's topic (`chat.room.<id>`: messages and membership changes) and its
 * typing topic (`chat.room.<id>.typing`), each followed only by members of the room in the
 * caller's tenant; and the projection of chat events (local and mirrored alike) onto them.
 */
import {
  CHAT_EVENTS,
  type MemberChangedData,
  type MessageSentData,
  type TypingChangedData,
} from '../../domains/chat/events.ts';
import { cursorOf, ROOM_ID } from '../../domains/chat/model.ts';
import type { ChatStore } from '../../domains/chat/ports.ts';
import type { Envelope } from '../../infra/events/envelope.ts';
import type { HubFeed, HubPublication, HubTopic } from '../host/domain-module.ts';

const ROOM_TOPIC = /^chat\.room\.([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
const TYPING_TOPIC = /^chat\.room\.([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.typing$/;

function checkedRoomId(roomId: string): string {
  if (!ROOM_ID.test(roomId)) throw new TypeError(`room id "${roomId}" is not a lower-case UUID`);
  return roomId;
}

/** A room's messages and membership changes. */
export const roomTopic = (roomId: string) => `chat.room.${checkedRoomId(roomId)}`;
/** A room's typing indicators. */
export const typingTopic = (roomId: string) => `chat.room.${checkedRoomId(roomId)}.typing`;

/** Who may follow chat topics: members of the room, in their tenant. */
export function chatHubTopics(store: Pick<ChatStore, 'isMember'>): HubTopic[] {
  const memberOf = (pattern: RegExp): HubTopic => ({
    pattern,
    async authorize(actor, topic) {
      const roomId = pattern.exec(topic)?.[1];
      return roomId !== undefined && (await store.isMember(actor.tenant, roomId, actor.subject));
    },
  });
  return [memberOf(ROOM_TOPIC), memberOf(TYPING_TOPIC)];
}

/** The region that made an event, from its CloudEvents source `/regions/<region>/<service>`. */
export function regionOf(event: Pick<Envelope, 'source'>): string {
  return event.source.split('/')[2] ?? '';
}

/** What a live message carries (the same fields as the subgraph's ChatMessage). */
export interface LiveMessage {
  readonly id: string;
  readonly roomId: string;
  readonly clientMessageId: string;
  readonly authorId: string;
  readonly body: string;
  readonly sentAt: string;
  readonly hlc: string;
  readonly cursor: string;
  readonly region: string;
}

const FEED_TYPES: readonly string[] = [CHAT_EVENTS.messageSent, CHAT_EVENTS.memberChanged, CHAT_EVENTS.typingChanged];

/**
 * Messages and membership changes to the room's topic, typing to its typing topic; the event id
 * is the message id on the hub, so the local and the mirrored copy of one event are one message.
 * A typing signal that arrives after it expired (a slow mirror) is dropped.
 */
export function chatHubFeed(now: () => number = Date.now): HubFeed {
  return {
    topics: FEED_TYPES,
    publications(event: Envelope): HubPublication[] {
      switch (event.type) {
        case CHAT_EVENTS.messageSent: {
          const d = event.data as MessageSentData;
          const data: LiveMessage = {
            id: d.messageId,
            roomId: d.roomId,
            clientMessageId: d.clientMessageId,
            authorId: d.authorId,
            body: d.body,
            sentAt: d.sentAt,
            hlc: d.hlc,
            cursor: cursorOf({ hlc: d.hlc, id: d.messageId }),
            region: regionOf(event),
          };
          return [{ topic: roomTopic(d.roomId), message: { id: event.id, event: event.type, data } }];
        }
        case CHAT_EVENTS.memberChanged: {
          const d = event.data as MemberChangedData;
          return [{ topic: roomTopic(d.roomId), message: { id: event.id, event: event.type, data: d } }];
        }
        case CHAT_EVENTS.typingChanged: {
          const d = event.data as TypingChangedData;
          if (d.typing && Date.parse(d.expiresAt) <= now()) return [];
          return [{ topic: typingTopic(d.roomId), message: { id: event.id, event: event.type, data: d } }];
        }
        default:
          return [];
      }
    },
  };
}
