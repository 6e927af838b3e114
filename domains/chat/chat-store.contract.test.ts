/**
 * The ChatStore contract (ports.ts), run by every adapter's tests: memory (unit) and
 * PostgreSQL (integration). Not a test file by itself: it exports the suite. Every test works
 * in tenants of its own, so the real store can be shared between tests and runs.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { DomainEvent } from '../shared/events.ts';
import { CHAT_EVENTS, chatEvent } from './events.ts';
import { encodeHlc } from './hlc.ts';
import type { ChatMessage, Membership, Room } from './model.ts';
import type { ChatStore } from './ports.ts';

export interface ChatStoreFixture {
  readonly store: ChatStore;
  /** Types of the events committed for the room (its outbox rows), oldest first. */
  eventTypes(roomId: string): Promise<string[]>;
}

const fresh = (prefix: string) => `${prefix}-${randomUUID().replaceAll('-', '').slice(0, 12)}`;
const at = (wall: number, counter = 0, region = 'east') => encodeHlc({ wall, counter, region });

function aRoom(tenant: string, overrides: Partial<Room> = {}): Room {
  return {
    tenant,
    id: randomUUID(),
    name: 'room',
    createdBy: 'u1',
    createdAt: '2026-01-01T00:00:00.000Z',
    ...overrides,
  };
}

function memberships(room: Room, users: string[], hlc = at(1000)): Membership[] {
  return users.map((userId) => ({ tenant: room.tenant, roomId: room.id, userId, member: true, hlc }));
}

function aMessage(room: Room, overrides: Partial<ChatMessage> = {}): ChatMessage {
  return {
    tenant: room.tenant,
    roomId: room.id,
    id: randomUUID(),
    clientMessageId: fresh('cm'),
    authorId: 'u1',
    body: 'hello',
    sentAt: '2026-01-01T00:00:01.000Z',
    hlc: at(2000),
    ...overrides,
  };
}

function sentEvent(m: ChatMessage): DomainEvent {
  const { tenant, id, ...data } = m;
  return chatEvent(CHAT_EVENTS.messageSent, tenant, { ...data, messageId: id });
}

async function newRoom(store: ChatStore, users = ['u1', 'u2']): Promise<Room> {
  const room = aRoom(fresh('t'));
  await store.createRoom(room, memberships(room, users), [
    chatEvent(CHAT_EVENTS.roomCreated, room.tenant, {
      roomId: room.id,
      name: room.name,
      createdBy: 'u1',
      members: users,
      hlc: at(1000),
    }),
  ]);
  return room;
}

/** Registers the contract suite for one adapter. */
export function chatStoreContract(name: string, fixture: () => ChatStoreFixture | Promise<ChatStoreFixture>): void {
  describe(`ChatStore contract: ${name}`, () => {
    it('creates a room once, with its members and event; scoped to its tenant', async () => {
      const { store, eventTypes } = await fixture();
      const room = await newRoom(store);
      await store.createRoom(room, memberships(room, ['u9']), [
        chatEvent(CHAT_EVENTS.roomCreated, room.tenant, {
          roomId: room.id,
          name: 'x',
          createdBy: 'u9',
          members: ['u9'],
          hlc: at(1),
        }),
      ]);
      assert.deepEqual(await store.getRoom(room.tenant, room.id), room);
      assert.deepEqual(await store.members(room.tenant, room.id, 10), ['u1', 'u2']);
      assert.equal(await store.memberCount(room.tenant, room.id), 2);
      assert.equal(await store.isMember(room.tenant, room.id, 'u9'), false, 'a second create changed nothing');
      assert.deepEqual(await eventTypes(room.id), [CHAT_EVENTS.roomCreated]);
      const other = fresh('t');
      assert.equal(await store.getRoom(other, room.id), undefined, 'another tenant does not see the room');
      assert.equal(await store.isMember(other, room.id, 'u1'), false, 'nor is the same user id a member there');
    });

    it("appends a message once per id, giving build the room's newest timestamp as its floor", async () => {
      const { store, eventTypes } = await fixture();
      const room = await newRoom(store);
      const floors: Array<string | undefined> = [];
      const m1 = aMessage(room, { hlc: at(5000) });
      const first = await store.appendMessage(room.tenant, room.id, m1.id, (floor) => {
        floors.push(floor);
        return { message: m1, events: [sentEvent(m1)] };
      });
      assert.deepEqual(first, { message: m1, created: true });
      let called = false;
      const again = await store.appendMessage(room.tenant, room.id, m1.id, () => {
        called = true;
        return { message: aMessage(room, { id: m1.id, body: 'other' }), events: [] };
      });
      assert.deepEqual(again, { message: m1, created: false });
      assert.equal(called, false);
      const m2 = aMessage(room, { hlc: at(5000, 1) });
      await store.appendMessage(room.tenant, room.id, m2.id, (floor) => {
        floors.push(floor);
        return { message: m2, events: [sentEvent(m2)] };
      });
      assert.deepEqual(floors, [at(1000), at(5000)], 'the membership timestamp, then the first message');
      assert.deepEqual(await eventTypes(room.id), [
        CHAT_EVENTS.roomCreated,
        CHAT_EVENTS.messageSent,
        CHAT_EVENTS.messageSent,
      ]);
      assert.deepEqual(await store.getMessage(room.tenant, room.id, m2.id), m2);
      assert.equal(await store.getMessage(fresh('t'), room.id, m2.id), undefined);
    });

    it('concurrent sends of one id store one message; of many ids, every one', async () => {
      const { store } = await fixture();
      const room = await newRoom(store);
      const id = randomUUID();
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          store.appendMessage(room.tenant, room.id, id, () => {
            const m = aMessage(room, { id, body: `try ${i}`, hlc: at(3000 + i) });
            return { message: m, events: [sentEvent(m)] };
          }),
        ),
      );
      assert.equal(results.filter((r) => r.created).length, 1);
      assert.equal(new Set(results.map((r) => r.message.body)).size, 1, 'everyone got the stored one');
      const many = await Promise.all(
        Array.from({ length: 8 }, (_, i) => {
          const m = aMessage(room, { hlc: at(4000 + i) });
          return store.appendMessage(room.tenant, room.id, m.id, () => ({ message: m, events: [] }));
        }),
      );
      assert.ok(many.every((r) => r.created));
      assert.equal(
        (await store.messages(room.tenant, room.id, { direction: 'forward', size: 100 })).messages.length,
        9,
      );
    });

    it('pages history by (timestamp, id) both ways with cursors', async () => {
      const { store } = await fixture();
      const room = await newRoom(store);
      const ids = [randomUUID(), randomUUID()].sort();
      const all = [
        aMessage(room, { hlc: at(10, 0, 'west') }),
        aMessage(room, { hlc: at(10, 0, 'east') }),
        aMessage(room, { hlc: at(11), id: ids[1] as string }),
        aMessage(room, { hlc: at(11), id: ids[0] as string }),
        aMessage(room, { hlc: at(9) }),
      ];
      for (const m of all) await store.applyMessage(m);
      const order = [all[4], all[1], all[0], all[3], all[2]].map((m) => m?.id);
      const newest = await store.messages(room.tenant, room.id, { direction: 'backward', size: 2 });
      assert.deepEqual(
        newest.messages.map((m) => m.id),
        order.slice(3),
      );
      assert.equal(newest.hasMore, true);
      const older = await store.messages(room.tenant, room.id, {
        direction: 'backward',
        size: 10,
        before: newest.messages[0] as ChatMessage,
      });
      assert.deepEqual(
        older.messages.map((m) => m.id),
        order.slice(0, 3),
      );
      assert.equal(older.hasMore, false);
      const fwd = await store.messages(room.tenant, room.id, {
        direction: 'forward',
        size: 2,
        after: older.messages[0] as ChatMessage,
      });
      assert.deepEqual(
        fwd.messages.map((m) => m.id),
        order.slice(1, 3),
      );
      assert.equal(fwd.hasMore, true);
      assert.deepEqual((await store.messages(fresh('t'), room.id, { direction: 'forward', size: 10 })).messages, []);
    });

    it('membership is last writer wins by timestamp; only winning changes get events', async () => {
      const { store, eventTypes } = await fixture();
      const room = await newRoom(store);
      const ev = (won: readonly Membership[]) =>
        won.map((c) =>
          chatEvent(CHAT_EVENTS.memberChanged, c.tenant, {
            roomId: c.roomId,
            userId: c.userId,
            member: c.member,
            by: 'u1',
            hlc: c.hlc,
          }),
        );
      const leave = { tenant: room.tenant, roomId: room.id, userId: 'u2', member: false, hlc: at(3000) };
      const stale = { tenant: room.tenant, roomId: room.id, userId: 'u2', member: true, hlc: at(2000) };
      const join = { tenant: room.tenant, roomId: room.id, userId: 'u3', member: true, hlc: at(3000) };
      assert.deepEqual(await store.changeMembers([leave, join], ev), [leave, join]);
      assert.deepEqual(await store.changeMembers([stale], ev), [], 'an older change loses');
      assert.equal(await store.isMember(room.tenant, room.id, 'u2'), false);
      await store.applyMembership(stale);
      assert.equal(await store.isMember(room.tenant, room.id, 'u2'), false, 'applied in either order: the newest wins');
      await store.applyMembership({ ...stale, hlc: at(4000) });
      assert.equal(await store.isMember(room.tenant, room.id, 'u2'), true);
      assert.deepEqual(await store.members(room.tenant, room.id, 10), ['u1', 'u2', 'u3']);
      assert.deepEqual(await eventTypes(room.id), [
        CHAT_EVENTS.roomCreated,
        CHAT_EVENTS.memberChanged,
        CHAT_EVENTS.memberChanged,
      ]);
    });

    it("read markers only move forward; unread counts others' messages after the marker", async () => {
      const { store, eventTypes } = await fixture();
      const room = await newRoom(store);
      const msgs = [1, 2, 3, 4].map((i) => aMessage(room, { hlc: at(100 + i), authorId: i === 3 ? 'u2' : 'u1' }));
      for (const m of msgs) await store.applyMessage(m);
      assert.equal(await store.unreadCount(room.tenant, room.id, 'u2'), 3, 'its own message is not unread');
      assert.equal(await store.unreadCount(room.tenant, room.id, 'u1'), 1);
      const read = (m: ChatMessage) =>
        chatEvent(CHAT_EVENTS.memberRead, room.tenant, { roomId: room.id, userId: 'u2', hlc: m.hlc, messageId: m.id });
      const two = msgs[1] as ChatMessage;
      assert.equal(await store.markRead(room.tenant, room.id, 'u2', two, [read(two)]), true);
      assert.equal(await store.unreadCount(room.tenant, room.id, 'u2'), 1);
      const one = msgs[0] as ChatMessage;
      assert.equal(await store.markRead(room.tenant, room.id, 'u2', one, [read(one)]), false);
      await store.applyRead(room.tenant, room.id, 'u2', one);
      assert.equal(await store.unreadCount(room.tenant, room.id, 'u2'), 1, 'a replicated older marker changes nothing');
      await store.applyRead(room.tenant, room.id, 'u2', msgs[3] as ChatMessage);
      assert.equal(await store.unreadCount(room.tenant, room.id, 'u2'), 0);
      assert.deepEqual(await eventTypes(room.id), [CHAT_EVENTS.roomCreated, CHAT_EVENTS.memberRead]);
      assert.equal(await store.unreadCount(fresh('t'), room.id, 'u2'), 0);
    });

    it('replicated messages are a set by id; of two copies of one id, the first in order stays', async () => {
      const { store } = await fixture();
      const room = await newRoom(store);
      const id = randomUUID();
      const eastCopy = aMessage(room, { id, body: 'from east', hlc: at(7000, 0, 'east') });
      const westCopy = aMessage(room, { id, body: 'from west', hlc: at(7000, 0, 'west') });
      await store.applyMessage(westCopy);
      await store.applyMessage(eastCopy);
      await store.applyMessage(westCopy);
      const page = await store.messages(room.tenant, room.id, { direction: 'forward', size: 10 });
      assert.deepEqual(page.messages, [eastCopy]);
      // The room's newest timestamp moved with the applied messages: a new send sorts after them.
      await store.appendMessage(room.tenant, room.id, randomUUID(), (floor) => {
        assert.equal(floor, at(7000, 0, 'west'));
        const m = aMessage(room, { hlc: at(7000, 1) });
        return { message: m, events: [] };
      });
    });

    it("a replicated room arrives once, in any order with its members' changes", async () => {
      const { store } = await fixture();
      const room = aRoom(fresh('t'));
      await store.applyMembership({ tenant: room.tenant, roomId: room.id, userId: 'u2', member: false, hlc: at(5000) });
      await store.applyRoom(room, memberships(room, ['u1', 'u2'], at(1000)));
      await store.applyRoom(room, memberships(room, ['u1', 'u2'], at(1000)));
      assert.deepEqual(await store.getRoom(room.tenant, room.id), room);
      assert.deepEqual(
        await store.members(room.tenant, room.id, 10),
        ['u1'],
        'the later leave wins over the earlier creation',
      );
    });

    it("lists the user's rooms, most recently active first, with unread counts", async () => {
      const { store } = await fixture();
      const tenant = fresh('t');
      const quiet = aRoom(tenant, { name: 'quiet' });
      const busy = aRoom(tenant, { name: 'busy' });
      const notMine = aRoom(tenant, { name: 'not mine' });
      await store.createRoom(quiet, memberships(quiet, ['u1', 'u2'], at(100)), []);
      await store.createRoom(busy, memberships(busy, ['u1', 'u2'], at(100)), []);
      await store.createRoom(notMine, memberships(notMine, ['u3'], at(100)), []);
      await store.applyMessage(aMessage(busy, { authorId: 'u2', hlc: at(900) }));
      await store.applyMessage(aMessage(quiet, { authorId: 'u1', hlc: at(800) }));
      const rooms = await store.roomsOf(tenant, 'u1', 10);
      assert.deepEqual(
        rooms.map((r) => [r.room.name, r.unread]),
        [
          ['busy', 1],
          ['quiet', 0],
        ],
      );
      assert.deepEqual(await store.roomsOf(tenant, 'u1', 1).then((r) => r.map((x) => x.room.name)), ['busy']);
      assert.deepEqual(await store.roomsOf(fresh('t'), 'u1', 10), []);
    });
  });
}
