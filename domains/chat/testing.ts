/** Builders and in-memory ports for chat unit tests (integration tests use the real adapters). */
import type { Actor } from '../shared/actor.ts';
import type { DomainEvent } from '../shared/events.ts';
import { createHybridClock, type HybridClock } from './hlc.ts';
import {
  type ChatMessage,
  comparePositions,
  type Membership,
  type Position,
  type Room,
  type RoomSummary,
} from './model.ts';
import type { ChatStore, Clock, Ids, PageRequest, Presence, Signals } from './ports.ts';

export function anActor(overrides: Partial<Actor> = {}): Actor {
  return { subject: 'u1', tenant: 't1', scopes: [], ...overrides };
}

/** A wall clock tests move by hand. */
export function manualClock(start = Date.UTC(2026, 0, 1)): Clock & { advance(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    advance(ms) {
      now += ms;
    },
  };
}

/** Random ids, and name-derived ids that are stable per name (any stable injective map will do in memory). */
export function testIds(): Ids {
  const named = new Map<string, string>();
  return {
    uuid: () => crypto.randomUUID(),
    fromName(name) {
      let id = named.get(name);
      if (id === undefined) {
        id = crypto.randomUUID();
        named.set(name, id);
      }
      return id;
    },
  };
}

/** Everything the chat use cases need, in memory. */
export function memoryChat(region = 'east', clock = manualClock()) {
  const { store, outbox } = memoryChatStore();
  const hlc: HybridClock = createHybridClock(region, () => clock.now());
  return { store, outbox, clock, hlc, ids: testIds() };
}

const key = (...parts: string[]) => JSON.stringify(parts);

/** The ChatStore in memory, with the events its writes committed (its outbox). */
export function memoryChatStore(): { store: ChatStore; outbox: DomainEvent[] } {
  const outbox: DomainEvent[] = [];
  const rooms = new Map<string, Room>();
  const lastHlc = new Map<string, string>();
  const members = new Map<string, Membership>();
  const messages = new Map<string, Map<string, ChatMessage>>();
  const reads = new Map<string, Position>();

  const roomKey = (tenant: string, roomId: string) => key(tenant, roomId);
  const roomMessages = (tenant: string, roomId: string) => {
    const k = roomKey(tenant, roomId);
    let m = messages.get(k);
    if (!m) {
      m = new Map();
      messages.set(k, m);
    }
    return m;
  };
  const bump = (tenant: string, roomId: string, hlc: string) => {
    const k = roomKey(tenant, roomId);
    const cur = lastHlc.get(k);
    if (cur === undefined || hlc > cur) lastHlc.set(k, hlc);
  };
  const sorted = (tenant: string, roomId: string) =>
    [...roomMessages(tenant, roomId).values()].sort((a, b) => comparePositions(a, b));
  const applyMember = (m: Membership): boolean => {
    const k = key(m.tenant, m.roomId, m.userId);
    const cur = members.get(k);
    if (cur !== undefined && cur.hlc >= m.hlc) return false;
    members.set(k, m);
    return true;
  };
  const isMember = async (tenant: string, roomId: string, userId: string) =>
    members.get(key(tenant, roomId, userId))?.member === true;
  const currentMembers = (tenant: string, roomId: string) =>
    [...members.values()]
      .filter((m) => m.tenant === tenant && m.roomId === roomId && m.member)
      .map((m) => m.userId)
      .sort();
  const unread = (tenant: string, roomId: string, userId: string) => {
    const marker = reads.get(key(tenant, roomId, userId));
    return sorted(tenant, roomId).filter(
      (m) => m.authorId !== userId && (marker === undefined || comparePositions(m, marker) > 0),
    ).length;
  };

  const store: ChatStore = {
    async createRoom(room, ms, events) {
      const k = roomKey(room.tenant, room.id);
      if (rooms.has(k)) return;
      rooms.set(k, room);
      for (const m of ms) {
        applyMember(m);
        bump(room.tenant, room.id, m.hlc);
      }
      outbox.push(...events);
    },
    getRoom: async (tenant, roomId) => rooms.get(roomKey(tenant, roomId)),
    isMember,
    members: async (tenant, roomId, limit) => currentMembers(tenant, roomId).slice(0, limit),
    memberCount: async (tenant, roomId) => currentMembers(tenant, roomId).length,
    async roomsOf(tenant, userId, first) {
      const mine = [...rooms.values()].filter(
        (r) => r.tenant === tenant && members.get(key(tenant, r.id, userId))?.member === true,
      );
      const activity = (r: Room) => lastHlc.get(roomKey(r.tenant, r.id)) ?? '';
      return mine
        .sort((a, b) => (activity(a) < activity(b) ? 1 : activity(a) > activity(b) ? -1 : a.id < b.id ? -1 : 1))
        .slice(0, first)
        .map((room): RoomSummary => ({ room, unread: unread(tenant, room.id, userId) }));
    },
    async changeMembers(changes, events) {
      const won = changes.filter((c) => applyMember(c));
      for (const c of won) bump(c.tenant, c.roomId, c.hlc);
      outbox.push(...events(won));
      return won;
    },
    async appendMessage(tenant, roomId, messageId, build) {
      const existing = roomMessages(tenant, roomId).get(messageId);
      if (existing) return { message: existing, created: false };
      const { message, events } = build(lastHlc.get(roomKey(tenant, roomId)));
      roomMessages(tenant, roomId).set(message.id, message);
      bump(tenant, roomId, message.hlc);
      outbox.push(...events);
      return { message, created: true };
    },
    getMessage: async (tenant, roomId, messageId) => roomMessages(tenant, roomId).get(messageId),
    async messages(tenant, roomId, page: PageRequest) {
      const all = sorted(tenant, roomId);
      if (page.direction === 'forward') {
        const after = page.after;
        const rest = after ? all.filter((m) => comparePositions(m, after) > 0) : all;
        return { messages: rest.slice(0, page.size), hasMore: rest.length > page.size };
      }
      const before = page.before;
      const rest = before ? all.filter((m) => comparePositions(m, before) < 0) : all;
      return { messages: rest.slice(Math.max(0, rest.length - page.size)), hasMore: rest.length > page.size };
    },
    async markRead(tenant, roomId, userId, upTo, events) {
      const k = key(tenant, roomId, userId);
      const cur = reads.get(k);
      if (cur !== undefined && comparePositions(upTo, cur) <= 0) return false;
      reads.set(k, upTo);
      outbox.push(...events);
      return true;
    },
    unreadCount: async (tenant, roomId, userId) => unread(tenant, roomId, userId),
    async applyRoom(room, ms) {
      const k = roomKey(room.tenant, room.id);
      if (!rooms.has(k)) rooms.set(k, room);
      for (const m of ms) {
        applyMember(m);
        bump(room.tenant, room.id, m.hlc);
      }
    },
    async applyMembership(change) {
      if (applyMember(change)) bump(change.tenant, change.roomId, change.hlc);
    },
    async applyMessage(message) {
      const existing = roomMessages(message.tenant, message.roomId).get(message.id);
      if (existing === undefined || message.hlc < existing.hlc) {
        roomMessages(message.tenant, message.roomId).set(message.id, message);
      }
      bump(message.tenant, message.roomId, message.hlc);
    },
    async applyRead(tenant, roomId, userId, upTo) {
      const k = key(tenant, roomId, userId);
      const cur = reads.get(k);
      if (cur === undefined || comparePositions(upTo, cur) > 0) reads.set(k, upTo);
    },
  };
  return { store, outbox };
}

/** Presence in memory, expiring by the given wall clock. */
export function memoryPresence(clock: Clock): Presence {
  const k = (tenant: string, roomId: string) => key(tenant, roomId);
  const room = new Map<string, Map<string, number>>();
  return {
    async heartbeat(tenant, roomId, userId, ttlMs) {
      const m = room.get(k(tenant, roomId)) ?? new Map<string, number>();
      m.set(userId, clock.now() + ttlMs);
      room.set(k(tenant, roomId), m);
    },
    async leave(tenant, roomId, userId) {
      room.get(k(tenant, roomId))?.delete(userId);
    },
    async online(tenant, roomId, limit) {
      const m = room.get(k(tenant, roomId)) ?? new Map<string, number>();
      return [...m]
        .filter(([, t]) => t > clock.now())
        .map(([u]) => u)
        .sort()
        .slice(0, limit);
    },
  };
}

/** Signals kept in a list. */
export function memorySignals(): Signals & { readonly sent: DomainEvent[] } {
  const sent: DomainEvent[] = [];
  return {
    sent,
    async publish(event) {
      sent.push(event);
    },
  };
}
