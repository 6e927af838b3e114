/**
 * Chat in one real region (on a database of its own): rooms and messages through the region
 * gateway, live delivery through the hub's WebSocket with the `graphql-ws` client, messages
 * sent over the socket, typing, presence over gRPC, and tenants kept apart everywhere.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { east } from '../east.ts';
import type { DomainModule } from '../host/domain-module.ts';
import { type IsolatedRegion, isolatedRegion, testIdentity } from '../host/testing.ts';
import { hubSocketUrl, type LiveResult, live, liveClient, untilSubscriptions } from '../hub/testing.ts';
import type { Identity } from '../identity/identity.ts';
import { chatModule } from './module.ts';

let identity: Identity;
let east1: IsolatedRegion;
/** The region's own hub subscriptions (none of this file's): a test waits for this plus its own. */
let idleSubscriptions: number;
const tenant = `t-chat-${randomUUID().slice(0, 8)}`;
const otherTenant = `${tenant}-b`;

async function token(sub: string, t = tenant): Promise<string> {
  const issued = await identity.issuer?.issue({ sub, tenant: t, scopes: [] });
  assert.ok(issued);
  return issued.access_token;
}

interface Gql<T> {
  data?: T;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

async function gql<T = Record<string, unknown>>(
  as: string,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<Gql<T>> {
  const res = await fetch(`http://127.0.0.1:${east1.region.gatewayPort}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${as}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as Gql<T>;
}

const SEND = 'mutation($i: SendMessageInput!) { sendMessage(input: $i) { id body cursor author { id } } }';
const ADDED = 'subscription($r: ID!) { messageAdded(roomId: $r) { id body author { id } region cursor } }';
const bodyOf = (r: LiveResult) => (r.data?.messageAdded as { body?: string } | undefined)?.body;

before(async () => {
  identity = testIdentity();
  east1 = await isolatedRegion(east, [chatModule as DomainModule<unknown>], { identity });
  idleSubscriptions = east1.region.hub.stats().subscriptions;
});
after(() => east1?.stop());

describe('chat in one region', () => {
  let alice: string;
  let bob: string;
  let roomId: string;
  before(async () => {
    alice = await token('alice');
    bob = await token('bob');
    const created = await gql<{ createChatRoom: { id: string; members: Array<{ id: string }> } }>(
      alice,
      'mutation($i: CreateChatRoomInput!) { createChatRoom(input: $i) { id members { id } } }',
      { i: { name: 'general', members: ['bob'] } },
    );
    assert.ok(created.data, JSON.stringify(created.errors));
    assert.deepEqual(created.data.createChatRoom.members, [{ id: 'alice' }, { id: 'bob' }]);
    roomId = created.data.createChatRoom.id;
  });

  it('delivers a message sent through the gateway and one sent over the socket, live and in history', async () => {
    const bobLive = liveClient(hubSocketUrl(east1.region.hubPort), bob);
    const aliceLive = liveClient(hubSocketUrl(east1.region.hubPort), alice);
    try {
      const inbox = live(bobLive, { query: ADDED, variables: { r: roomId } });
      await untilSubscriptions(east1.region.hub, idleSubscriptions + 1);
      const viaGateway = await gql<{ sendMessage: { id: string; cursor: string } }>(alice, SEND, {
        i: { roomId, clientMessageId: `cm-${randomUUID()}`, body: 'hello through the gateway' },
      });
      assert.ok(viaGateway.data, JSON.stringify(viaGateway.errors));
      const first = await inbox.next(10_000);
      assert.deepEqual(first.data?.messageAdded, {
        id: viaGateway.data.sendMessage.id,
        body: 'hello through the gateway',
        author: { id: 'alice' },
        region: 'east',
        cursor: viaGateway.data.sendMessage.cursor,
      });
      const overSocket = live(aliceLive, {
        query: 'mutation($i: SendMessageInput!) { sendMessage(input: $i) { id body region } }',
        variables: { i: { roomId, clientMessageId: `cm-${randomUUID()}`, body: 'hello over the socket' } },
      });
      const sent = await overSocket.next();
      assert.deepEqual(sent.errors, undefined);
      assert.equal(bodyOf(await inbox.next(10_000)), 'hello over the socket');
      inbox.dispose();

      const page = await gql<{ chatRoom: { unreadCount: number; messages: { messages: Array<{ body: string }> } } }>(
        bob,
        'query($r: ID!) { chatRoom(id: $r) { unreadCount messages(last: 10) { messages { body } } } }',
        { r: roomId },
      );
      assert.deepEqual(
        page.data?.chatRoom.messages.messages.map((m) => m.body),
        ['hello through the gateway', 'hello over the socket'],
      );
      assert.equal(page.data?.chatRoom.unreadCount, 2);
      const read = await gql<{ markChatRead: { unreadCount: number } }>(
        bob,
        'mutation($r: ID!, $m: ID!) { markChatRead(roomId: $r, messageId: $m) { unreadCount } }',
        { r: roomId, m: (sent.data?.sendMessage as { id?: string } | undefined)?.id },
      );
      assert.equal(read.data?.markChatRead.unreadCount, 0);
    } finally {
      await bobLive.dispose();
      await aliceLive.dispose();
    }
  });

  it('is idempotent by clientMessageId: a retried send is the same message and is delivered once', async () => {
    const bobLive = liveClient(hubSocketUrl(east1.region.hubPort), bob);
    try {
      const inbox = live(bobLive, { query: ADDED, variables: { r: roomId } });
      await untilSubscriptions(east1.region.hub, idleSubscriptions + 1);
      const input = { roomId, clientMessageId: `cm-${randomUUID()}`, body: 'only once' };
      const a = await gql<{ sendMessage: { id: string } }>(alice, SEND, { i: input });
      const b = await gql<{ sendMessage: { id: string } }>(alice, SEND, { i: input });
      assert.equal(a.data?.sendMessage.id, b.data?.sendMessage.id);
      const reused = await gql(alice, SEND, { i: { ...input, body: 'something else' } });
      assert.equal(reused.errors?.[0]?.extensions?.code, 'IDEMPOTENCY_KEY_REUSED');
      const marker = await gql<{ sendMessage: { id: string } }>(alice, SEND, {
        i: { roomId, clientMessageId: `cm-${randomUUID()}`, body: 'marker' },
      });
      assert.ok(marker.data);
      const bodies: string[] = [];
      for (;;) {
        const body = bodyOf(await inbox.next(10_000));
        bodies.push(body ?? '');
        if (body === 'marker') break;
      }
      assert.deepEqual(bodies, ['only once', 'marker']);
      inbox.dispose();
    } finally {
      await bobLive.dispose();
    }
  });

  it('refuses bad input with codes and changes nothing', async () => {
    const before = await gql<{ chatRoom: { messages: { messages: unknown[] } } }>(
      alice,
      'query($r: ID!) { chatRoom(id: $r) { messages(last: 100) { messages { id } } } }',
      { r: roomId },
    );
    for (const [i, field] of [
      [{ roomId, clientMessageId: `cm-${randomUUID()}`, body: '   ' }, 'body'],
      [{ roomId, clientMessageId: 'x', body: 'hi' }, 'clientMessageId'],
      [{ roomId: 'not-a-room', clientMessageId: `cm-${randomUUID()}`, body: 'hi' }, 'roomId'],
    ] as const) {
      const r = await gql<unknown>(alice, SEND, { i });
      assert.equal(r.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', field);
    }
    const afterwards = await gql<{ chatRoom: { messages: { messages: unknown[] } } }>(
      alice,
      'query($r: ID!) { chatRoom(id: $r) { messages(last: 100) { messages { id } } } }',
      { r: roomId },
    );
    assert.deepEqual(afterwards.data, before.data);
  });

  it('typing reaches the room over the socket; presence heartbeats go through the region gRPC service', async () => {
    const bobLive = liveClient(hubSocketUrl(east1.region.hubPort), bob);
    const aliceLive = liveClient(hubSocketUrl(east1.region.hubPort), alice);
    try {
      const typing = live(bobLive, {
        query: 'subscription($r: ID!) { typingChanged(roomId: $r) { user { id } typing expiresAt } }',
        variables: { r: roomId },
      });
      await untilSubscriptions(east1.region.hub, idleSubscriptions + 1);
      await live(aliceLive, {
        query: 'mutation($r: ID!) { setTyping(roomId: $r, typing: true) }',
        variables: { r: roomId },
      }).next();
      const t = (await typing.next(10_000)).data?.typingChanged as {
        user: { id: string };
        typing: boolean;
        expiresAt: string;
      };
      assert.deepEqual([t.user.id, t.typing], ['alice', true]);
      assert.ok(Date.parse(t.expiresAt) > Date.now());
      typing.dispose();

      const beat = await gql<{ chatHeartbeat: boolean }>(bob, 'mutation($r: ID!) { chatHeartbeat(roomId: $r) }', {
        r: roomId,
      });
      assert.equal(beat.data?.chatHeartbeat, true, JSON.stringify(beat.errors));
      const who = await gql<{ chatRoom: { online: Array<{ id: string }> } }>(
        alice,
        'query($r: ID!) { chatRoom(id: $r) { online { id } } }',
        {
          r: roomId,
        },
      );
      assert.deepEqual(who.data?.chatRoom.online, [{ id: 'bob' }]);
      await gql(bob, 'mutation($r: ID!) { chatGoAway(roomId: $r) }', { r: roomId });
      const gone = await gql<{ chatRoom: { online: unknown[] } }>(
        alice,
        'query($r: ID!) { chatRoom(id: $r) { online { id } } }',
        { r: roomId },
      );
      assert.deepEqual(gone.data?.chatRoom.online, []);
    } finally {
      await bobLive.dispose();
      await aliceLive.dispose();
    }
  });

  it('a member of another tenant, even with the same user id, can never join or read the room', async () => {
    const intruders = [await token('alice', otherTenant), await token('mallory', otherTenant), await token('mallory')];
    for (const as of intruders) {
      const read = await gql<{ chatRoom: unknown }>(as, 'query($r: ID!) { chatRoom(id: $r) { id name } }', {
        r: roomId,
      });
      assert.equal(read.data?.chatRoom, null);
      const send = await gql(as, SEND, { i: { roomId, clientMessageId: `cm-${randomUUID()}`, body: 'let me in' } });
      assert.equal(send.errors?.[0]?.extensions?.code, 'ROOM_NOT_FOUND');
      const join = await gql(as, 'mutation($r: ID!, $u: [ID!]!) { addChatMembers(roomId: $r, userIds: $u) { id } }', {
        r: roomId,
        u: ['mallory', 'alice'],
      });
      assert.equal(join.errors?.[0]?.extensions?.code, 'ROOM_NOT_FOUND');
      const client = liveClient(hubSocketUrl(east1.region.hubPort), as);
      try {
        for (const query of [ADDED, 'subscription($r: ID!) { typingChanged(roomId: $r) { typing } }']) {
          const sub = live(client, { query, variables: { r: roomId } });
          assert.equal((await sub.next()).errors?.[0]?.extensions?.code, 'FORBIDDEN');
        }
        const raw = live(client, {
          query: 'subscription($t: [String!]!) { hubEvents(topics: $t) { id } }',
          variables: { t: [`chat.room.${roomId}`] },
        });
        assert.equal((await raw.next()).errors?.[0]?.extensions?.code, 'FORBIDDEN');
        const socketSend = live(client, {
          query: SEND,
          variables: { i: { roomId, clientMessageId: `cm-${randomUUID()}`, body: 'let me in' } },
        });
        assert.equal((await socketSend.next()).errors?.[0]?.extensions?.code, 'ROOM_NOT_FOUND');
      } finally {
        await client.dispose();
      }
    }
    const members = await gql<{ chatRoom: { members: Array<{ id: string }> } }>(
      alice,
      'query($r: ID!) { chatRoom(id: $r) { members { id } } }',
      {
        r: roomId,
      },
    );
    assert.deepEqual(members.data?.chatRoom.members, [{ id: 'alice' }, { id: 'bob' }]);
    const sso = await gql<{ chatRooms: unknown[] }>(await token('alice', otherTenant), '{ chatRooms { id } }');
    assert.deepEqual(sso.data?.chatRooms, [], 'alice of the other tenant has no rooms');
  });
});
