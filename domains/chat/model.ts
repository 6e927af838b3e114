/**
 * Chat's entities and their rules: rooms of one tenant with members, and messages ordered per
 * room by (hybrid logical timestamp, message id). Pure values and validation; the use cases
 * (rooms.ts, messages.ts, replication.ts, live.ts) apply them through the ports.
 */
import { DomainError } from '../shared/errors.ts';

/** A room. Members are kept apart (they change on their own). */
export interface Room {
  readonly tenant: string;
  readonly id: string;
  readonly name: string;
  readonly createdBy: string;
  readonly createdAt: string;
}

/** A message as stored and delivered. */
export interface ChatMessage {
  readonly tenant: string;
  readonly roomId: string;
  /** Derived from (tenant, room, author, clientMessageId): the same send retried anywhere has the same id. */
  readonly id: string;
  readonly clientMessageId: string;
  readonly authorId: string;
  readonly body: string;
  readonly sentAt: string;
  /** Hybrid logical timestamp (hlc.ts): with the id, the message's place in the room. */
  readonly hlc: string;
}

/** A position in a room's history: after every message ordered before it. */
export interface Position {
  readonly hlc: string;
  readonly id: string;
}

/** A member's last-writer-wins state in a room. */
export interface Membership {
  readonly tenant: string;
  readonly roomId: string;
  readonly userId: string;
  readonly member: boolean;
  readonly hlc: string;
}

/** A room the caller is in, with how many messages from others they have not read. */
export interface RoomSummary {
  readonly room: Room;
  readonly unread: number;
}

/** One page of a room's history, oldest first. */
export interface MessagePage {
  readonly messages: readonly ChatMessage[];
  /** More messages exist beyond this page in the direction asked. */
  readonly hasMore: boolean;
}

export const ROOM_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const CLIENT_MESSAGE_ID = /^[A-Za-z0-9_.:-]{8,128}$/;
/** A user id as tokens carry it (the JWT subject). */
export const USER_ID = /^[^\s\p{Cc}]{1,128}$/u;
export const MAX_BODY = 4000;
export const MAX_ROOM_NAME = 100;
/** Members added in one call (room creation included). */
export const MAX_MEMBERS_PER_CALL = 1000;
/** Members a room may have. */
export const MAX_MEMBERS = 10_000;
export const MAX_PAGE = 100;
export const DEFAULT_PAGE = 50;

function bad(message: string, field: string): DomainError {
  return new DomainError('BAD_USER_INPUT', message, { details: { field } });
}

/** Order of two history positions: by timestamp, then id. */
export function comparePositions(a: Position, b: Position): number {
  if (a.hlc !== b.hlc) return a.hlc < b.hlc ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export function assertRoomId(id: unknown, field = 'roomId'): asserts id is string {
  if (typeof id !== 'string' || !ROOM_ID.test(id)) throw bad(`${field} must be a room id (a lower-case UUID)`, field);
}

export function assertUserId(id: unknown, field = 'userId'): asserts id is string {
  if (typeof id !== 'string' || !USER_ID.test(id)) throw bad(`${field} must be 1-128 visible characters`, field);
}

/** A room name, trimmed; 1-100 characters. */
export function roomName(name: unknown): string {
  const trimmed = typeof name === 'string' ? name.trim() : '';
  if (trimmed === '' || [...trimmed].length > MAX_ROOM_NAME)
    throw bad(`name must be 1-${MAX_ROOM_NAME} characters`, 'name');
  return trimmed;
}

/** A message body: not blank, at most 4000 characters (code points), kept as sent. */
export function messageBody(body: unknown): string {
  if (typeof body !== 'string' || body.trim() === '') throw bad('body must not be blank', 'body');
  if ([...body].length > MAX_BODY) throw bad(`body is longer than ${MAX_BODY} characters`, 'body');
  return body;
}

export function assertClientMessageId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || !CLIENT_MESSAGE_ID.test(id)) {
    throw bad('clientMessageId must be 8-128 of [A-Za-z0-9_.:-]', 'clientMessageId');
  }
}

/** Distinct member ids of one call, validated. */
export function memberList(ids: unknown, field = 'members'): string[] {
  if (!Array.isArray(ids)) throw bad(`${field} must be a list of user ids`, field);
  const unique = [...new Set(ids)];
  if (unique.length > MAX_MEMBERS_PER_CALL) throw bad(`at most ${MAX_MEMBERS_PER_CALL} ${field} per call`, field);
  for (const id of unique) assertUserId(id, field);
  return unique as string[];
}

/** A page size: 1-100, 50 when not given. */
export function pageSize(n: number | null | undefined): number {
  if (n === null || n === undefined) return DEFAULT_PAGE;
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE) throw bad(`page size must be 1-${MAX_PAGE}`, 'first');
  return n;
}

/** The opaque cursor of a history position (what clients pass back as before/after). */
export function cursorOf(p: Position): string {
  return `${p.hlc}~${p.id}`;
}

/** A cursor back to a position; BAD_USER_INPUT when it is not one. */
export function positionOf(cursor: string, field: string): Position {
  const [hlc, id, ...rest] = cursor.split('~');
  if (rest.length > 0 || !hlc || !id || !/^\d{18}\.\d{6}\.[a-z][a-z0-9-]{0,31}$/.test(hlc) || !ROOM_ID.test(id)) {
    throw bad(`${field} is not a cursor of this room's history`, field);
  }
  return { hlc, id };
}

/** The room is not there for this caller (absent, another tenant's, or they are not a member: the same answer). */
export function roomNotFound(roomId: string): DomainError {
  return new DomainError('ROOM_NOT_FOUND', `no room ${roomId} that you are a member of`, { details: { roomId } });
}
