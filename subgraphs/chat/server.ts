/**
 * The chat subgraph: SDL from schemas/subgraphs/chat.graphql and resolvers that only call chat
 * use cases through its ports. Nothing listens on import. A message's author (and a room's
 * members) are the federated `User` entity.
 */

import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { type GraphQLSchema, parse } from 'graphql';
import { goAway, heartbeat, online, setTyping } from '../../domains/chat/live.ts';
import {
  history,
  type MessageDeps,
  markRead,
  type SendMessageInput,
  sendMessage,
  unreadCount,
} from '../../domains/chat/messages.ts';
import { type ChatMessage, cursorOf, type Room } from '../../domains/chat/model.ts';
import type { Presence, Signals } from '../../domains/chat/ports.ts';
import {
  addMembers,
  createRoom,
  findRoom,
  leaveRoom,
  memberCount,
  myRooms,
  roomMembers,
} from '../../domains/chat/rooms.ts';
import type { Actor } from '../../domains/shared/actor.ts';
import { DomainError } from '../../domains/shared/errors.ts';
import { subgraphSdl } from '../shared/sdl.ts';

export const CHAT_SDL = subgraphSdl('chat');

/** Per-request context the HTTP layer builds. */
export interface ChatContext {
  readonly actor: Actor | undefined;
}

/** What the chat resolvers need. */
export interface ChatDeps extends MessageDeps {
  readonly signals: Signals;
  readonly presence: Presence;
}

function requireActor(ctx: ChatContext): Actor {
  if (!ctx.actor) throw new DomainError('UNAUTHENTICATED', 'a bearer token is required');
  return ctx.actor;
}

/** A room as the resolvers pass it on: with its unread count when already known. */
type RoomParent = Room & { readonly unread?: number };

const user = (id: string) => ({ id });

export function chatResolvers(deps: ChatDeps): GraphQLResolverMap<ChatContext> {
  const { store } = deps;
  const mustFind = async (actor: Actor, roomId: string): Promise<Room> => {
    const room = await findRoom(store, actor, roomId);
    if (!room)
      throw new DomainError('ROOM_NOT_FOUND', `no room ${roomId} that you are a member of`, { details: { roomId } });
    return room;
  };
  return {
    Query: {
      chatRooms: async (_: unknown, args: { first?: number | null }, ctx: ChatContext) =>
        (await myRooms(store, requireActor(ctx), args.first)).map(({ room, unread }) => ({ ...room, unread })),
      chatRoom: (_: unknown, args: { id: string }, ctx: ChatContext) => findRoom(store, requireActor(ctx), args.id),
    },
    Mutation: {
      createChatRoom: (_: unknown, args: { input: { name: string; members?: string[] | null } }, ctx: ChatContext) =>
        createRoom(deps, requireActor(ctx), { name: args.input.name, members: args.input.members ?? [] }),
      addChatMembers: async (_: unknown, args: { roomId: string; userIds: string[] }, ctx: ChatContext) => {
        const actor = requireActor(ctx);
        await addMembers(deps, actor, args.roomId, args.userIds);
        return mustFind(actor, args.roomId);
      },
      leaveChatRoom: async (_: unknown, args: { roomId: string }, ctx: ChatContext) => {
        await leaveRoom(deps, requireActor(ctx), args.roomId);
        return true;
      },
      sendMessage: async (_: unknown, args: { input: SendMessageInput }, ctx: ChatContext) =>
        (await sendMessage(deps, requireActor(ctx), args.input)).message,
      markChatRead: async (_: unknown, args: { roomId: string; messageId: string }, ctx: ChatContext) => {
        const actor = requireActor(ctx);
        const unread = await markRead(store, actor, args.roomId, args.messageId);
        return { ...(await mustFind(actor, args.roomId)), unread };
      },
      setTyping: async (_: unknown, args: { roomId: string; typing: boolean }, ctx: ChatContext) => {
        await setTyping(deps, requireActor(ctx), args.roomId, args.typing);
        return true;
      },
      chatHeartbeat: async (_: unknown, args: { roomId: string }, ctx: ChatContext) => {
        await heartbeat(deps, requireActor(ctx), args.roomId);
        return true;
      },
      chatGoAway: async (_: unknown, args: { roomId: string }, ctx: ChatContext) => {
        await goAway(deps, requireActor(ctx), args.roomId);
        return true;
      },
    },
    User: {
      __resolveReference: (ref: { id: string }) => user(ref.id),
      rooms: async (u: { id: string }, args: { first?: number | null }, ctx: ChatContext) => {
        const actor = requireActor(ctx);
        // The token's tenant and subject decide: another user's rooms are none of the caller's business.
        if (u.id !== actor.subject) return [];
        return (await myRooms(store, actor, args.first)).map(({ room, unread }) => ({ ...room, unread }));
      },
    },
    ChatRoom: {
      createdBy: (r: RoomParent) => user(r.createdBy),
      members: async (r: RoomParent, args: { first?: number | null }, ctx: ChatContext) =>
        (await roomMembers(store, requireActor(ctx), r.id, args.first)).map(user),
      memberCount: (r: RoomParent, _: unknown, ctx: ChatContext) => memberCount(store, requireActor(ctx), r.id),
      unreadCount: (r: RoomParent, _: unknown, ctx: ChatContext) =>
        r.unread ?? unreadCount(store, requireActor(ctx), r.id),
      messages: (
        r: RoomParent,
        args: { last?: number | null; before?: string | null; first?: number | null; after?: string | null },
        ctx: ChatContext,
      ) => history(store, requireActor(ctx), r.id, args),
      online: async (r: RoomParent, _: unknown, ctx: ChatContext) =>
        (await online(deps, requireActor(ctx), r.id)).map(user),
    },
    ChatMessage: {
      author: (m: ChatMessage) => user(m.authorId),
      cursor: (m: ChatMessage) => cursorOf(m),
    },
  };
}

export function chatSchema(deps: ChatDeps): GraphQLSchema {
  return buildSubgraphSchema([{ typeDefs: parse(CHAT_SDL), resolvers: chatResolvers(deps) }]);
}
