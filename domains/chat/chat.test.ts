/** Chat's use cases over in-memory ports: rooms, messages, replication between two regions, typing, presence. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rejectsWith } from '../shared/testing.ts';
import { CHAT_EVENTS, type MessageSentData } from './events.ts';
import { goAway, heartbeat, online, setTyping, TYPING_TTL_MS } from './live.ts';
import { history, markRead, sendMessage, unreadCount } from './messages.ts';
import { cursorOf } from './model.ts';
import { applyReplicated } from './replication.ts';
import { addMembers, createRoom, findRoom, leaveRoom, myRooms, roomMembers } from './rooms.ts';
import { anActor, manualClock, memoryChat, memoryPresence, memorySignals } from './testing.ts';

const alice = anActor({ subject: 'alice' });
const bob = anActor({ subject: 'bob' });
const mallory = anActor({ subject: 'mallory' });
/** The same user id as alice, in another tenant: another person. */
const otherAlice = anActor({ subject: 'alice', tenant: 't2' });

const send = (body: string, clientMessageId = `cm-${crypto.randomUUID()}`) => ({ body, clientMessageId });

describe('chat rooms', () => {
  it('a room has its creator and members; to anyone else, another tenant included, it does not exist', async () => {
    const chat = memoryChat();
    const room = await createRoom(chat, alice, { name: '  Team  ', members: ['bob', 'bob'] });
    assert.equal(room.name, 'Team');
    assert.deepEqual(await roomMembers(chat.store, bob, room.id), ['alice', 'bob']);
    assert.equal(await findRoom(chat.store, mallory, room.id), undefined);
    assert.equal(await findRoom(chat.store, otherAlice, room.id), undefined);
    await assert.rejects(roomMembers(chat.store, otherAlice, room.id), rejectsWith('ROOM_NOT_FOUND'));
    await assert.rejects(
      sendMessage(chat, otherAlice, { roomId: room.id, ...send('hi') }),
      rejectsWith('ROOM_NOT_FOUND'),
    );
    await assert.rejects(addMembers(chat, otherAlice, room.id, ['alice']), rejectsWith('ROOM_NOT_FOUND'));
    assert.deepEqual(
      chat.outbox.map((e) => e.type),
      [CHAT_EVENTS.roomCreated],
    );
  });

  it('validates input and changes nothing on bad input', async () => {
    const chat = memoryChat();
    await assert.rejects(createRoom(chat, alice, { name: ' ' }), rejectsWith('BAD_USER_INPUT', { field: 'name' }));
    await assert.rejects(
      createRoom(chat, alice, { name: 'x'.repeat(101) }),
      rejectsWith('BAD_USER_INPUT', { field: 'name' }),
    );
    await assert.rejects(
      createRoom(chat, alice, { name: 'ok', members: [''] }),
      rejectsWith('BAD_USER_INPUT', { field: 'members' }),
    );
    await assert.rejects(
      createRoom(chat, alice, { name: 'ok', members: Array.from({ length: 1001 }, (_, i) => `u${i}`) }),
      rejectsWith('BAD_USER_INPUT', { field: 'members' }),
    );
    const room = await createRoom(chat, alice, { name: 'ok' });
    await assert.rejects(
      sendMessage(chat, alice, { roomId: room.id, ...send(' \n ') }),
      rejectsWith('BAD_USER_INPUT', { field: 'body' }),
    );
    await assert.rejects(
      sendMessage(chat, alice, { roomId: room.id, ...send('x'.repeat(4001)) }),
      rejectsWith('BAD_USER_INPUT', { field: 'body' }),
    );
    await assert.rejects(
      sendMessage(chat, alice, { roomId: room.id, body: 'hi', clientMessageId: 'short' }),
      rejectsWith('BAD_USER_INPUT', { field: 'clientMessageId' }),
    );
    await assert.rejects(
      sendMessage(chat, alice, { roomId: 'nope', ...send('hi') }),
      rejectsWith('BAD_USER_INPUT', { field: 'roomId' }),
    );
    await assert.rejects(history(chat.store, alice, room.id, { last: 101 }), rejectsWith('BAD_USER_INPUT'));
    await assert.rejects(
      history(chat.store, alice, room.id, { before: 'garbage' }),
      rejectsWith('BAD_USER_INPUT', { field: 'before' }),
    );
    await assert.rejects(history(chat.store, alice, room.id, { first: 1, last: 1 }), rejectsWith('BAD_USER_INPUT'));
    assert.deepEqual(
      chat.outbox.map((e) => e.type),
      [CHAT_EVENTS.roomCreated],
    );
  });

  it('adds members (members only) and lets one leave; a leaver no longer sees the room', async () => {
    const chat = memoryChat();
    const room = await createRoom(chat, alice, { name: 'r' });
    await assert.rejects(addMembers(chat, bob, room.id, ['mallory']), rejectsWith('ROOM_NOT_FOUND'));
    assert.deepEqual(await addMembers(chat, alice, room.id, ['bob', 'alice']), ['bob']);
    assert.deepEqual(await addMembers(chat, alice, room.id, ['bob']), [], 'already a member: no event');
    await leaveRoom(chat, bob, room.id);
    assert.equal(await findRoom(chat.store, bob, room.id), undefined);
    assert.deepEqual(
      chat.outbox.map((e) => e.type),
      [CHAT_EVENTS.roomCreated, CHAT_EVENTS.memberChanged, CHAT_EVENTS.memberChanged],
    );
  });
});

describe('chat messages', () => {
  it('sends once per clientMessageId; the same id with another body is IDEMPOTENCY_KEY_REUSED', async () => {
    const chat = memoryChat();
    const room = await createRoom(chat, alice, { name: 'r', members: ['bob'] });
    const first = await sendMessage(chat, alice, { roomId: room.id, ...send('hello', 'client-1') });
    const again = await sendMessage(chat, alice, { roomId: room.id, ...send('hello', 'client-1') });
    assert.equal(first.created, true);
    assert.deepEqual(again, { message: first.message, created: false });
    await assert.rejects(
      sendMessage(chat, alice, { roomId: room.id, ...send('changed', 'client-1') }),
      rejectsWith('IDEMPOTENCY_KEY_REUSED'),
    );
    const bobs = await sendMessage(chat, bob, { roomId: room.id, ...send('hello', 'client-1') });
    assert.notEqual(bobs.message.id, first.message.id, 'another author, another message');
    const sent = chat.outbox.filter((e) => e.type === CHAT_EVENTS.messageSent);
    assert.equal(sent.length, 2);
    assert.deepEqual(sent[0]?.data as MessageSentData, {
      roomId: room.id,
      messageId: first.message.id,
      clientMessageId: 'client-1',
      authorId: 'alice',
      body: 'hello',
      sentAt: first.message.sentAt,
      hlc: first.message.hlc,
    });
  });

  it('orders history by timestamp even when the wall clock steps back, and pages it with cursors', async () => {
    const chat = memoryChat();
    const room = await createRoom(chat, alice, { name: 'r', members: ['bob'] });
    const bodies = ['one', 'two', 'three', 'four', 'five'];
    for (const [i, body] of bodies.entries()) {
      chat.clock.advance(i === 2 ? -60_000 : 5);
      await sendMessage(chat, i % 2 ? bob : alice, { roomId: room.id, ...send(body) });
    }
    const newest = await history(chat.store, alice, room.id, { last: 2 });
    assert.deepEqual(
      newest.messages.map((m) => m.body),
      ['four', 'five'],
    );
    assert.equal(newest.hasMore, true);
    const older = await history(chat.store, alice, room.id, {
      last: 10,
      before: cursorOf(newest.messages[0] as never),
    });
    assert.deepEqual(
      older.messages.map((m) => m.body),
      ['one', 'two', 'three'],
    );
    const fwd = await history(chat.store, alice, room.id, { first: 2, after: cursorOf(older.messages[0] as never) });
    assert.deepEqual(
      fwd.messages.map((m) => m.body),
      ['two', 'three'],
    );
  });

  it('counts unread messages from others until read; markRead never moves back', async () => {
    const chat = memoryChat();
    const room = await createRoom(chat, alice, { name: 'r', members: ['bob'] });
    const a1 = await sendMessage(chat, alice, { roomId: room.id, ...send('a1') });
    await sendMessage(chat, bob, { roomId: room.id, ...send('b1') });
    const a2 = await sendMessage(chat, alice, { roomId: room.id, ...send('a2') });
    assert.equal(await unreadCount(chat.store, bob, room.id), 2);
    assert.equal(await unreadCount(chat.store, alice, room.id), 1);
    assert.equal(await markRead(chat.store, bob, room.id, a2.message.id), 0);
    assert.equal(
      await markRead(chat.store, bob, room.id, a1.message.id),
      0,
      'an older message does not move the marker back',
    );
    await assert.rejects(markRead(chat.store, bob, room.id, crypto.randomUUID()), rejectsWith('NOT_FOUND'));
    const [summary] = await myRooms(chat.store, alice);
    assert.deepEqual([summary?.room.id, summary?.unread], [room.id, 1]);
  });
});

describe('chat across two regions', () => {
  /** Replays every event of `from` into `to` (what the replicator does with the mirrored topic). */
  async function replicate(
    from: ReturnType<typeof memoryChat>,
    to: ReturnType<typeof memoryChat>,
    order: 'asis' | 'reversed',
  ) {
    const events = order === 'asis' ? [...from.outbox] : [...from.outbox].reverse();
    for (const e of events) await applyReplicated(to, { ...e, time: '2026-01-01T00:00:00.000Z' });
  }

  it('both regions converge on the same history in the same order, whatever order events arrive in, with no duplicates', async () => {
    const wall = manualClock();
    const east = memoryChat('east', wall);
    const west = memoryChat('west', wall);
    west.ids.fromName = east.ids.fromName; // one derivation everywhere, as the UUID v5 adapter is
    const room = await createRoom(east, alice, { name: 'r', members: ['bob'] });
    await replicate(east, west, 'asis');
    east.outbox.length = 0;
    // Both send in the same millisecond: the region breaks the tie; the clocks agree on wall time.
    await sendMessage(east, alice, { roomId: room.id, ...send('from east 1') });
    await sendMessage(west, bob, { roomId: room.id, ...send('from west 1') });
    wall.advance(1);
    await sendMessage(west, bob, { roomId: room.id, ...send('from west 2') });
    await sendMessage(east, alice, { roomId: room.id, ...send('from east 2') });
    // The same send retried in the other region (the client failed over): the same message id.
    await sendMessage(west, alice, { roomId: room.id, ...send('retried', 'retry-0001') });
    wall.advance(1);
    await sendMessage(east, alice, { roomId: room.id, ...send('retried', 'retry-0001') });
    const eastOwn = [...east.outbox];
    const westOwn = [...west.outbox];
    await replicate(west, east, 'reversed');
    await replicate(east, west, 'asis');
    // Redelivery and the local copies (the replicator reads its own topic too) change nothing.
    for (const e of [...eastOwn, ...westOwn]) {
      await applyReplicated(east, { ...e, time: 'x' });
      await applyReplicated(west, { ...e, time: 'x' });
    }
    const page = async (c: ReturnType<typeof memoryChat>) =>
      (await history(c.store, alice, room.id, { first: 100 })).messages.map((m) => [m.body, m.hlc, m.id]);
    const eastHistory = await page(east);
    assert.deepEqual(eastHistory, await page(west));
    assert.deepEqual(
      eastHistory.map(([body]) => body),
      // Same millisecond, no causal link: the region breaks the tie (east before west), whatever the send order.
      ['from east 1', 'from west 1', 'from east 2', 'from west 2', 'retried'],
    );
  });

  it("a reply sorts after the remote message it answers, even when the replying region's clock lags", async () => {
    const eastWall = manualClock(1_000_000);
    const westWall = manualClock(1_000_000 - 5000);
    const east = memoryChat('east', eastWall);
    const west = memoryChat('west', westWall);
    const room = await createRoom(east, alice, { name: 'r', members: ['bob'] });
    await sendMessage(east, alice, { roomId: room.id, ...send('question') });
    await replicate(east, west, 'asis');
    await sendMessage(west, bob, { roomId: room.id, ...send('answer') });
    const bodies = (await history(west.store, bob, room.id)).messages.map((m) => m.body);
    assert.deepEqual(bodies, ['question', 'answer']);
  });
});

describe('chat typing and presence', () => {
  it('typing goes out as an ephemeral signal that expires; only members may signal', async () => {
    const chat = memoryChat();
    const signals = memorySignals();
    const room = await createRoom(chat, alice, { name: 'r', members: ['bob'] });
    const { expiresAt } = await setTyping({ ...chat, signals }, bob, room.id, true);
    assert.equal(Date.parse(expiresAt), chat.clock.now() + TYPING_TTL_MS);
    assert.deepEqual(
      signals.sent.map((e) => [e.type, (e.data as { typing: boolean }).typing]),
      [[CHAT_EVENTS.typingChanged, true]],
    );
    await assert.rejects(setTyping({ ...chat, signals }, otherAlice, room.id, true), rejectsWith('ROOM_NOT_FOUND'));
    assert.equal(chat.outbox.filter((e) => e.type === CHAT_EVENTS.typingChanged).length, 0, 'never stored');
  });

  it('presence holds while heartbeats come, and ends on leave or expiry', async () => {
    const chat = memoryChat();
    const presence = memoryPresence(chat.clock);
    const room = await createRoom(chat, alice, { name: 'r', members: ['bob'] });
    await heartbeat({ ...chat, presence }, alice, room.id);
    await heartbeat({ ...chat, presence }, bob, room.id);
    assert.deepEqual(await online({ ...chat, presence }, alice, room.id), ['alice', 'bob']);
    await goAway({ ...chat, presence }, bob, room.id);
    chat.clock.advance(31_000);
    assert.deepEqual(await online({ ...chat, presence }, alice, room.id), []);
    await assert.rejects(heartbeat({ ...chat, presence }, otherAlice, room.id), rejectsWith('ROOM_NOT_FOUND'));
  });
});
