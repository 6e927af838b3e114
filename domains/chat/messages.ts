/**
 * Messages: sent in the sender's region (local first), idempotent by the client's message id,
 * ordered per room by hybrid timestamp; history pages in either direction; read markers and
 * unread counts.
 */
import type { Actor } from '../shared/actor.ts';
import { DomainError } from '../shared/errors.ts';
import { CHAT_EVENTS, chatEvent } from './events.ts';
import type { HybridClock } from './hlc.ts';
import {
  assertClientMessageId,
  assertRoomId,
  type ChatMessage,
  type MessagePage,
  messageBody,
  pageSize,
  positionOf,
} from './model.ts';
import type { ChatStore, Clock, Ids } from './ports.ts';
import { memberRoom } from './rooms.ts';

/** What message use cases need. */
export interface MessageDeps {
  readonly store: ChatStore;
  readonly hlc: HybridClock;
  readonly clock: Clock;
  readonly ids: Ids;
}

/** A send, as the client asks for it. */
export interface SendMessageInput {
  readonly roomId: unknown;
  readonly clientMessageId: unknown;
  readonly body: unknown;
}

/** The id every region gives the same send: one message per (tenant, room, author, client message id). */
export function messageIdOf(
  ids: Ids,
  tenant: string,
  roomId: string,
  authorId: string,
  clientMessageId: string,
): string {
  return ids.fromName(JSON.stringify(['chat.message', tenant, roomId, authorId, clientMessageId]));
}

/**
 * Appends a message to a room the actor is in and publishes chat.message.sent.v1 with it.
 * The same clientMessageId again returns the stored message (nothing new is published);
 * with another body it is IDEMPOTENCY_KEY_REUSED.
 */
export async function sendMessage(
  deps: MessageDeps,
  actor: Actor,
  input: SendMessageInput,
): Promise<{ message: ChatMessage; created: boolean }> {
  assertRoomId(input.roomId);
  assertClientMessageId(input.clientMessageId);
  const body = messageBody(input.body);
  const room = await memberRoom(deps.store, actor, input.roomId);
  const clientMessageId = input.clientMessageId;
  const id = messageIdOf(deps.ids, room.tenant, room.id, actor.subject, clientMessageId);
  const result = await deps.store.appendMessage(room.tenant, room.id, id, (floor) => {
    const message: ChatMessage = {
      tenant: room.tenant,
      roomId: room.id,
      id,
      clientMessageId,
      authorId: actor.subject,
      body,
      sentAt: new Date(deps.clock.now()).toISOString(),
      hlc: deps.hlc.next(floor),
    };
    const { tenant: _t, id: messageId, ...data } = message;
    return { message, events: [chatEvent(CHAT_EVENTS.messageSent, room.tenant, { ...data, messageId })] };
  });
  if (!result.created && result.message.body !== body) {
    throw new DomainError('IDEMPOTENCY_KEY_REUSED', 'this clientMessageId was already used for another message', {
      details: { messageId: result.message.id },
    });
  }
  return result;
}

/** Which page of history: the newest `last` (before a cursor), or the oldest `first` after one. */
export interface HistoryQuery {
  readonly last?: number | null;
  readonly before?: string | null;
  readonly first?: number | null;
  readonly after?: string | null;
}

/** A page of a room's history, oldest first; backward from the newest unless `first`/`after` asks forward. */
export async function history(
  store: ChatStore,
  actor: Actor,
  roomId: unknown,
  q: HistoryQuery = {},
): Promise<MessagePage> {
  const room = await memberRoom(store, actor, roomId);
  const forward = (q.first ?? null) !== null || (q.after ?? null) !== null;
  if (forward && ((q.last ?? null) !== null || (q.before ?? null) !== null)) {
    throw new DomainError('BAD_USER_INPUT', 'page forward (first/after) or backward (last/before), not both', {
      details: { field: 'first' },
    });
  }
  if (forward) {
    return store.messages(room.tenant, room.id, {
      direction: 'forward',
      size: pageSize(q.first),
      ...(q.after ? { after: positionOf(q.after, 'after') } : {}),
    });
  }
  return store.messages(room.tenant, room.id, {
    direction: 'backward',
    size: pageSize(q.last),
    ...(q.before ? { before: positionOf(q.before, 'before') } : {}),
  });
}

/** Marks everything up to `messageId` read (never moves back); returns the unread count after. */
export async function markRead(store: ChatStore, actor: Actor, roomId: unknown, messageId: unknown): Promise<number> {
  const room = await memberRoom(store, actor, roomId);
  assertRoomId(messageId, 'messageId');
  const message = await store.getMessage(room.tenant, room.id, messageId);
  if (message === undefined) {
    throw new DomainError('NOT_FOUND', `no message ${messageId} in this room`, { details: { messageId } });
  }
  const upTo = { hlc: message.hlc, id: message.id };
  await store.markRead(room.tenant, room.id, actor.subject, upTo, [
    chatEvent(CHAT_EVENTS.memberRead, room.tenant, {
      roomId: room.id,
      userId: actor.subject,
      hlc: upTo.hlc,
      messageId: upTo.id,
    }),
  ]);
  return store.unreadCount(room.tenant, room.id, actor.subject);
}

/** Messages from others in the room the actor has not read. */
export async function unreadCount(store: ChatStore, actor: Actor, roomId: unknown): Promise<number> {
  const room = await memberRoom(store, actor, roomId);
  return store.unreadCount(room.tenant, room.id, actor.subject);
}
