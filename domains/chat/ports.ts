/**
 * The ports chat needs, owned here and implemented in infra/chat. Each states its guarantees;
 * the store's contract suite (chat-store.contract.test.ts) runs against every adapter.
 */
import type { DomainEvent } from '../shared/events.ts';
import type { ChatMessage, Membership, MessagePage, Position, Room, RoomSummary } from './model.ts';

/** Where to read a page of history from. */
export type PageRequest =
  | { readonly direction: 'backward'; readonly size: number; readonly before?: Position }
  | { readonly direction: 'forward'; readonly size: number; readonly after?: Position };

/**
 * A region's chat state. Tenant-scoped throughout: every lookup takes the tenant, and the
 * same room id or user id in another tenant is another room or user. Writes that produce
 * events append them to the outbox in the same transaction (all or nothing). The `apply…`
 * methods take state made in either region and are idempotent and commutative: applied in
 * any order, any number of times, every region ends with the same state.
 */
export interface ChatStore {
  /** Creates a room with its first members; events in the same transaction. A room id that exists changes nothing. */
  createRoom(room: Room, members: readonly Membership[], events: readonly DomainEvent[]): Promise<void>;
  getRoom(tenant: string, roomId: string): Promise<Room | undefined>;
  /** Whether the user is a member now. */
  isMember(tenant: string, roomId: string, userId: string): Promise<boolean>;
  /** Current members, at most `limit`, in user id order. */
  members(tenant: string, roomId: string, limit: number): Promise<string[]>;
  /** How many members the room has now. */
  memberCount(tenant: string, roomId: string): Promise<number>;
  /** The rooms the user is a member of, newest activity first, with unread counts; at most `first`. */
  roomsOf(tenant: string, userId: string, first: number): Promise<RoomSummary[]>;
  /**
   * Applies membership changes (last writer wins by `hlc` per room and user) and appends the
   * events of those that won, in one transaction; returns the changes that won.
   */
  changeMembers(
    changes: readonly Membership[],
    events: (won: readonly Membership[]) => readonly DomainEvent[],
  ): Promise<Membership[]>;
  /**
   * Appends a message once per id. Under the room's lock: when a message with `messageId` is
   * there it is returned with `created: false` and `build` is not called; otherwise `build`
   * gets the room's newest timestamp (the floor its message must sort after) and its message
   * and events are committed together.
   */
  appendMessage(
    tenant: string,
    roomId: string,
    messageId: string,
    build: (floor: string | undefined) => { message: ChatMessage; events: readonly DomainEvent[] },
  ): Promise<{ message: ChatMessage; created: boolean }>;
  getMessage(tenant: string, roomId: string, messageId: string): Promise<ChatMessage | undefined>;
  /** A page of history, returned oldest first either way. */
  messages(tenant: string, roomId: string, page: PageRequest): Promise<MessagePage>;
  /**
   * Moves the user's read marker forward to `upTo` (never back) and appends the events when it
   * moved; returns whether it moved.
   */
  markRead(
    tenant: string,
    roomId: string,
    userId: string,
    upTo: Position,
    events: readonly DomainEvent[],
  ): Promise<boolean>;
  /** Messages by others after the user's read marker. */
  unreadCount(tenant: string, roomId: string, userId: string): Promise<number>;

  /** A room made in either region (its creation event). */
  applyRoom(room: Room, members: readonly Membership[]): Promise<void>;
  /** A membership change made in either region: kept when its timestamp is newer than what is stored. */
  applyMembership(change: Membership): Promise<void>;
  /**
   * A message made in either region. Stored once by id; when two regions made the same id
   * (a retried send), the one ordered first is kept everywhere.
   */
  applyMessage(message: ChatMessage): Promise<void>;
  /** A read marker moved in either region: kept when further than the stored one. */
  applyRead(tenant: string, roomId: string, userId: string, upTo: Position): Promise<void>;
}

/** Who is in a room right now, per region: heartbeats that expire. At most once, best effort. */
export interface Presence {
  /** Marks the user present in the room for `ttlMs` from now (a heartbeat). */
  heartbeat(tenant: string, roomId: string, userId: string, ttlMs: number): Promise<void>;
  /** Ends the user's presence in the room now. */
  leave(tenant: string, roomId: string, userId: string): Promise<void>;
  /** Users whose presence has not expired, in user id order, at most `limit`. */
  online(tenant: string, roomId: string, limit: number): Promise<string[]>;
}

/** Ephemeral signals (typing): delivered live to the room, at most once, never stored. */
export interface Signals {
  publish(event: DomainEvent): Promise<void>;
}

/** Wall time and ids, injected so the domain stays deterministic under test. */
export interface Clock {
  /** ms since the epoch. */
  now(): number;
}
export interface Ids {
  uuid(): string;
  /** A UUID derived from `name` (the same name, the same id, in every region). */
  fromName(name: string): string;
}
