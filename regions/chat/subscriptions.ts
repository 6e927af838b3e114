/**
 * Chat's GraphQL subscription fields on the hub (schemas/subscriptions/chat.graphql), and the
 * two mutations a client may send over the same socket. `messageAdded(roomId)` and
 * `roomMembersChanged(roomId)` follow `chat.room.<id>`, `typingChanged(roomId)` its typing
 * topic; the hub authorizes them with chat's hub topics (members of the room only).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CHAT_EVENTS, type MemberChangedData, type TypingChangedData } from '../../domains/chat/events.ts';
import { setTyping } from '../../domains/chat/live.ts';
import { type MessageDeps, type SendMessageInput, sendMessage } from '../../domains/chat/messages.ts';
import { assertRoomId, cursorOf } from '../../domains/chat/model.ts';
import type { Signals } from '../../domains/chat/ports.ts';
import type { FieldArgs, FieldDelivery, SubscriptionPart } from '../host/domain-module.ts';
import { type LiveMessage, roomTopic, typingTopic } from './hub.ts';

const SDL = readFileSync(fileURLToPath(new URL('../../schemas/subscriptions/chat.graphql', import.meta.url)), 'utf8');

function roomOf(args: FieldArgs): string {
  assertRoomId(args.roomId);
  return args.roomId;
}

/** A live message as the ChatMessage type. */
function messageView(m: LiveMessage) {
  return {
    id: m.id,
    roomId: m.roomId,
    clientMessageId: m.clientMessageId,
    author: { id: m.authorId },
    body: m.body,
    sentAt: m.sentAt,
    cursor: m.cursor,
    region: m.region,
  };
}

const only = (type: string, map: (d: FieldDelivery) => unknown) => (d: FieldDelivery) =>
  d.event === type ? map(d) : undefined;

/** The part chat adds to the hub's schema; the mutations call the same use cases as the subgraph. */
export function chatSubscriptions(deps: MessageDeps & { readonly signals: Signals }, region: string): SubscriptionPart {
  return {
    typeDefs: SDL,
    subscriptions: {
      messageAdded: {
        topics: (args) => [roomTopic(roomOf(args))],
        payload: only(CHAT_EVENTS.messageSent, (d) => messageView(d.data as LiveMessage)),
      },
      roomMembersChanged: {
        topics: (args) => [roomTopic(roomOf(args))],
        payload: only(CHAT_EVENTS.memberChanged, (d) => {
          const m = d.data as MemberChangedData;
          return { roomId: m.roomId, user: { id: m.userId }, member: m.member, by: { id: m.by } };
        }),
      },
      typingChanged: {
        topics: (args) => [typingTopic(roomOf(args))],
        payload: only(CHAT_EVENTS.typingChanged, (d) => {
          const t = d.data as TypingChangedData;
          return { roomId: t.roomId, user: { id: t.userId }, typing: t.typing, expiresAt: t.expiresAt };
        }),
      },
    },
    mutations: {
      async sendMessage(args, actor) {
        const { message } = await sendMessage(deps, actor, args.input as SendMessageInput);
        return messageView({ ...message, cursor: cursorOf(message), region });
      },
      async setTyping(args, actor) {
        await setTyping(deps, actor, args.roomId, args.typing === true);
        return true;
      },
    },
  };
}
