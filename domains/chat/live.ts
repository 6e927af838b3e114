/**
 * What is live and never stored: typing indicators (ephemeral signals to the room, expiring on
 * their own) and presence (per-region heartbeats that expire; not replicated, each region
 * knows who is connected to it).
 */
import type { Actor } from '../shared/actor.ts';
import { CHAT_EVENTS, chatEvent } from './events.ts';
import type { ChatStore, Clock, Presence, Signals } from './ports.ts';
import { memberRoom } from './rooms.ts';

/** A typing indicator holds this long unless renewed (clients resend while typing). */
export const TYPING_TTL_MS = 6000;
/** A presence heartbeat holds this long: clients beat every ~10 s. */
export const PRESENCE_TTL_MS = 30_000;
export const MAX_ONLINE = 1000;

/** Tells a room the actor started or stopped typing. */
export async function setTyping(
  deps: { readonly store: ChatStore; readonly signals: Signals; readonly clock: Clock },
  actor: Actor,
  roomId: unknown,
  typing: boolean,
): Promise<{ expiresAt: string }> {
  const room = await memberRoom(deps.store, actor, roomId);
  const expiresAt = new Date(deps.clock.now() + (typing ? TYPING_TTL_MS : 0)).toISOString();
  await deps.signals.publish(
    chatEvent(CHAT_EVENTS.typingChanged, room.tenant, { roomId: room.id, userId: actor.subject, typing, expiresAt }),
  );
  return { expiresAt };
}

/** A presence heartbeat of the actor in a room they are in. */
export async function heartbeat(
  deps: { readonly store: ChatStore; readonly presence: Presence },
  actor: Actor,
  roomId: unknown,
) {
  const room = await memberRoom(deps.store, actor, roomId);
  await deps.presence.heartbeat(room.tenant, room.id, actor.subject, PRESENCE_TTL_MS);
}

/** The actor is no longer present in the room. */
export async function goAway(
  deps: { readonly store: ChatStore; readonly presence: Presence },
  actor: Actor,
  roomId: unknown,
) {
  const room = await memberRoom(deps.store, actor, roomId);
  await deps.presence.leave(room.tenant, room.id, actor.subject);
}

/** Who is present in a room the actor is in (this region's heartbeats). */
export async function online(
  deps: { readonly store: ChatStore; readonly presence: Presence },
  actor: Actor,
  roomId: unknown,
) {
  const room = await memberRoom(deps.store, actor, roomId);
  return deps.presence.online(room.tenant, room.id, MAX_ONLINE);
}
