import type { DomainEvent as AnyDomainEvent } from '../shared/events.ts';

/**
 * Chat domain events. The type is also the Kafka topic; the subject (the Kafka key) is the
 * room id for every chat event, so one room's events keep their order within a topic.
 * Replicated events are applied in any order and any number of times with the same result:
 * messages are a set (by id), membership is last-writer-wins by timestamp, read markers only
 * move forward. Typing is ephemeral: published straight to Kafka, never stored.
 */
export const CHAT_EVENTS = {
  roomCreated: 'chat.room.created.v1',
  memberChanged: 'chat.member.changed.v1',
  messageSent: 'chat.message.sent.v1',
  memberRead: 'chat.member.read.v1',
  typingChanged: 'chat.typing.changed.v1',
} as const;

export type ChatEventType = (typeof CHAT_EVENTS)[keyof typeof CHAT_EVENTS];

export interface RoomCreatedData {
  readonly roomId: string;
  readonly name: string;
  readonly createdBy: string;
  readonly members: readonly string[];
  readonly hlc: string;
}

export interface MemberChangedData {
  readonly roomId: string;
  readonly userId: string;
  /** true: joined (or added); false: left. */
  readonly member: boolean;
  readonly by: string;
  readonly hlc: string;
}

export interface MessageSentData {
  readonly roomId: string;
  readonly messageId: string;
  readonly clientMessageId: string;
  readonly authorId: string;
  readonly body: string;
  readonly sentAt: string;
  readonly hlc: string;
}

export interface MemberReadData {
  readonly roomId: string;
  readonly userId: string;
  /** The newest message read: its timestamp and id. */
  readonly hlc: string;
  readonly messageId: string;
}

export interface TypingChangedData {
  readonly roomId: string;
  readonly userId: string;
  readonly typing: boolean;
  /** After this, a `typing: true` is stale (the client stopped telling us). */
  readonly expiresAt: string;
}

export interface ChatEventData {
  'chat.room.created.v1': RoomCreatedData;
  'chat.member.changed.v1': MemberChangedData;
  'chat.message.sent.v1': MessageSentData;
  'chat.member.read.v1': MemberReadData;
  'chat.typing.changed.v1': TypingChangedData;
}

/** A chat event before infra wraps it. */
export type DomainEvent<T extends ChatEventType = ChatEventType> = AnyDomainEvent<T, ChatEventData[T]>;

export function chatEvent<T extends ChatEventType>(type: T, tenant: string, data: ChatEventData[T]): DomainEvent<T> {
  return { type, subject: data.roomId, tenant, data };
}
