/**
 * Rooms: create one with members, add members, leave. Only members act on a room; to anyone
 * else (another tenant included) it does not exist. Membership changes carry a hybrid
 * timestamp so both regions settle on the same members whatever order the changes arrive in.
 */
import type { Actor } from '../shared/actor.ts';
import { DomainError } from '../shared/errors.ts';
import { CHAT_EVENTS, chatEvent } from './events.ts';
import type { HybridClock } from './hlc.ts';
import {
  assertRoomId,
  MAX_MEMBERS,
  MAX_MEMBERS_PER_CALL,
  type Membership,
  memberList,
  pageSize,
  type Room,
  type RoomSummary,
  roomName,
  roomNotFound,
} from './model.ts';
import type { ChatStore, Clock, Ids } from './ports.ts';

/** What room use cases need. */
export interface RoomDeps {
  readonly store: ChatStore;
  readonly hlc: HybridClock;
  readonly clock: Clock;
  readonly ids: Ids;
}

/** The room, when the actor is a member of it in their tenant; else ROOM_NOT_FOUND. */
export async function memberRoom(store: ChatStore, actor: Actor, roomId: unknown): Promise<Room> {
  assertRoomId(roomId);
  const [room, member] = await Promise.all([
    store.getRoom(actor.tenant, roomId),
    store.isMember(actor.tenant, roomId, actor.subject),
  ]);
  if (room === undefined || !member) throw roomNotFound(roomId);
  return room;
}

/** Creates a room in the actor's tenant with the actor and `members` in it. */
export async function createRoom(
  deps: RoomDeps,
  actor: Actor,
  input: { readonly name: unknown; readonly members?: unknown },
): Promise<Room> {
  const name = roomName(input.name);
  const members = [...new Set([actor.subject, ...memberList(input.members ?? [])])];
  const hlc = deps.hlc.next();
  const room: Room = {
    tenant: actor.tenant,
    id: deps.ids.uuid(),
    name,
    createdBy: actor.subject,
    createdAt: new Date(deps.clock.now()).toISOString(),
  };
  const memberships = members.map(
    (userId): Membership => ({ tenant: room.tenant, roomId: room.id, userId, member: true, hlc }),
  );
  const created = chatEvent(CHAT_EVENTS.roomCreated, room.tenant, {
    roomId: room.id,
    name,
    createdBy: room.createdBy,
    members,
    hlc,
  });
  await deps.store.createRoom(room, memberships, [created]);
  return room;
}

/** Adds users to a room the actor is in; returns those who were not members before. */
export async function addMembers(deps: RoomDeps, actor: Actor, roomId: unknown, userIds: unknown): Promise<string[]> {
  const room = await memberRoom(deps.store, actor, roomId);
  const wanted = memberList(userIds, 'userIds');
  if (wanted.length === 0) return [];
  const count = await deps.store.memberCount(room.tenant, room.id);
  if (count + wanted.length > MAX_MEMBERS) {
    throw new DomainError('BAD_USER_INPUT', `a room has at most ${MAX_MEMBERS} members`, {
      details: { field: 'userIds' },
    });
  }
  const already = await Promise.all(wanted.map((u) => deps.store.isMember(room.tenant, room.id, u)));
  const joining = wanted.filter((_, i) => !already[i]);
  if (joining.length === 0) return [];
  const hlc = deps.hlc.next();
  const won = await deps.store.changeMembers(
    joining.map((userId) => ({ tenant: room.tenant, roomId: room.id, userId, member: true, hlc })),
    (changes) =>
      changes.map((c) =>
        chatEvent(CHAT_EVENTS.memberChanged, room.tenant, {
          roomId: room.id,
          userId: c.userId,
          member: true,
          by: actor.subject,
          hlc,
        }),
      ),
  );
  return won.map((c) => c.userId);
}

/** The actor leaves the room. */
export async function leaveRoom(deps: RoomDeps, actor: Actor, roomId: unknown): Promise<void> {
  const room = await memberRoom(deps.store, actor, roomId);
  const hlc = deps.hlc.next();
  await deps.store.changeMembers(
    [{ tenant: room.tenant, roomId: room.id, userId: actor.subject, member: false, hlc }],
    (won) =>
      won.map(() =>
        chatEvent(CHAT_EVENTS.memberChanged, room.tenant, {
          roomId: room.id,
          userId: actor.subject,
          member: false,
          by: actor.subject,
          hlc,
        }),
      ),
  );
}

/** The actor's rooms with unread counts, most recently active first. */
export function myRooms(store: ChatStore, actor: Actor, first?: number | null): Promise<RoomSummary[]> {
  return store.roomsOf(actor.tenant, actor.subject, pageSize(first));
}

/** A room the actor is in, or undefined (absent, another tenant's, or not a member: the same answer). */
export async function findRoom(store: ChatStore, actor: Actor, roomId: unknown): Promise<Room | undefined> {
  try {
    return await memberRoom(store, actor, roomId);
  } catch (err) {
    if (err instanceof DomainError && err.code === 'ROOM_NOT_FOUND') return undefined;
    throw err;
  }
}

/** The members of a room the actor is in, in id order, at most `first` (1-1000, 100 by default). */
export async function roomMembers(
  store: ChatStore,
  actor: Actor,
  roomId: unknown,
  first?: number | null,
): Promise<string[]> {
  const limit = first ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_MEMBERS_PER_CALL) {
    throw new DomainError('BAD_USER_INPUT', `first must be 1-${MAX_MEMBERS_PER_CALL}`, { details: { field: 'first' } });
  }
  const room = await memberRoom(store, actor, roomId);
  return store.members(room.tenant, room.id, limit);
}

/** How many members a room the actor is in has. */
export async function memberCount(store: ChatStore, actor: Actor, roomId: unknown): Promise<number> {
  const room = await memberRoom(store, actor, roomId);
  return store.memberCount(room.tenant, room.id);
}
