/**
 * ChatStore over PostgreSQL. Writes and their events (the outbox) commit together. Sends to one
 * room are serialised by a row lock on the room's clock, so each new message is stamped after
 * everything the region holds for the room. Replicated state is applied with conditional
 * upserts (keep the newest membership, the first message of an id, the furthest read marker),
 * so applying is idempotent and order-independent.
 */
import type pg from 'pg';
import type { ChatMessage, Membership, Position, Room, RoomSummary } from '../../domains/chat/model.ts';
import type { ChatStore, PageRequest } from '../../domains/chat/ports.ts';
import type { DomainEvent } from '../../domains/shared/events.ts';
import { inTransaction, translate } from '../commerce/pg.ts';
import { appendToOutbox } from '../events/outbox.ts';
import { currentTraceparent } from '../telemetry/context.ts';

interface MessageRow {
  tenant: string;
  room_id: string;
  message_id: string;
  client_message_id: string;
  author_id: string;
  body: string;
  sent_at: Date;
  hlc: string;
}

interface RoomRow {
  tenant: string;
  room_id: string;
  name: string;
  created_by: string;
  created_at: Date;
}

const MESSAGE_COLUMNS = 'tenant, room_id, message_id, client_message_id, author_id, body, sent_at, hlc';
const STORE = 'chat store';

const toMessage = (r: MessageRow): ChatMessage => ({
  tenant: r.tenant,
  roomId: r.room_id,
  id: r.message_id,
  clientMessageId: r.client_message_id,
  authorId: r.author_id,
  body: r.body,
  sentAt: r.sent_at.toISOString(),
  hlc: r.hlc,
});

const toRoom = (r: RoomRow): Room => ({
  tenant: r.tenant,
  id: r.room_id,
  name: r.name,
  createdBy: r.created_by,
  createdAt: r.created_at.toISOString(),
});

async function bumpClock(db: pg.ClientBase, tenant: string, roomId: string, hlc: string): Promise<void> {
  await db.query(
    `INSERT INTO chat_room_clocks (tenant, room_id, last_hlc) VALUES ($1, $2, $3)
     ON CONFLICT (tenant, room_id) DO UPDATE SET last_hlc = GREATEST(chat_room_clocks.last_hlc, EXCLUDED.last_hlc)`,
    [tenant, roomId, hlc],
  );
}

/** Last writer wins: true when this change is now the stored one. */
async function upsertMember(db: pg.ClientBase, m: Membership): Promise<boolean> {
  const r = await db.query(
    `INSERT INTO chat_members (tenant, room_id, user_id, member, hlc) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (tenant, room_id, user_id) DO UPDATE SET member = EXCLUDED.member, hlc = EXCLUDED.hlc
     WHERE chat_members.hlc < EXCLUDED.hlc
     RETURNING 1`,
    [m.tenant, m.roomId, m.userId, m.member, m.hlc],
  );
  return (r.rowCount ?? 0) > 0;
}

async function insertRoom(db: pg.ClientBase, room: Room): Promise<boolean> {
  const r = await db.query(
    `INSERT INTO chat_rooms (tenant, room_id, name, created_by, created_at) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (tenant, room_id) DO NOTHING`,
    [room.tenant, room.id, room.name, room.createdBy, room.createdAt],
  );
  return (r.rowCount ?? 0) > 0;
}

/** Options of createPostgresChatStore. */
export interface PostgresChatStoreOptions {
  /** Names the events' source: `/regions/<region>/chat`. */
  readonly region: string;
  readonly service?: string;
}

/** The ChatStore on a pool (the region's database). */
export function createPostgresChatStore(pool: pg.Pool, opts: PostgresChatStoreOptions): ChatStore {
  const outboxContext = () => ({
    region: opts.region,
    service: opts.service ?? 'chat',
    traceparent: currentTraceparent(),
  });
  const tx = <T>(work: (client: pg.PoolClient) => Promise<T>) => inTransaction(pool, work, { store: STORE });
  const read = async <R extends pg.QueryResultRow>(sql: string, params: unknown[]) => {
    try {
      return (await pool.query<R>(sql, params)).rows;
    } catch (err) {
      throw translate(err, STORE);
    }
  };
  const append = async (client: pg.ClientBase, events: readonly DomainEvent[]) => {
    if (events.length > 0) await appendToOutbox(client, events, outboxContext());
  };

  async function unreadCount(tenant: string, roomId: string, userId: string): Promise<number> {
    const rows = await read<{ n: string }>(
      `SELECT count(*) AS n FROM chat_messages m
       WHERE m.tenant = $1 AND m.room_id = $2 AND m.author_id <> $3
         AND NOT EXISTS (
           SELECT 1 FROM chat_read_markers r
           WHERE r.tenant = $1 AND r.room_id = $2 AND r.user_id = $3 AND (m.hlc, m.message_id) <= (r.hlc, r.message_id))`,
      [tenant, roomId, userId],
    );
    return Number(rows[0]?.n ?? 0);
  }

  return {
    async createRoom(room, members, events) {
      await tx(async (client) => {
        if (!(await insertRoom(client, room))) return;
        for (const m of members) await upsertMember(client, m);
        for (const hlc of new Set(members.map((m) => m.hlc))) await bumpClock(client, room.tenant, room.id, hlc);
        await append(client, events);
      });
    },

    async getRoom(tenant, roomId) {
      const rows = await read<RoomRow>(
        'SELECT tenant, room_id, name, created_by, created_at FROM chat_rooms WHERE tenant = $1 AND room_id = $2',
        [tenant, roomId],
      );
      return rows[0] && toRoom(rows[0]);
    },

    async isMember(tenant, roomId, userId) {
      const rows = await read(
        'SELECT 1 FROM chat_members WHERE tenant = $1 AND room_id = $2 AND user_id = $3 AND member',
        [tenant, roomId, userId],
      );
      return rows.length > 0;
    },

    async members(tenant, roomId, limit) {
      const rows = await read<{ user_id: string }>(
        'SELECT user_id FROM chat_members WHERE tenant = $1 AND room_id = $2 AND member ORDER BY user_id COLLATE "C" LIMIT $3',
        [tenant, roomId, limit],
      );
      return rows.map((r) => r.user_id);
    },

    async memberCount(tenant, roomId) {
      const rows = await read<{ n: string }>(
        'SELECT count(*) AS n FROM chat_members WHERE tenant = $1 AND room_id = $2 AND member',
        [tenant, roomId],
      );
      return Number(rows[0]?.n ?? 0);
    },

    async roomsOf(tenant, userId, first) {
      const rows = await read<RoomRow>(
        `SELECT r.tenant, r.room_id, r.name, r.created_by, r.created_at
         FROM chat_members mb
         JOIN chat_rooms r ON r.tenant = mb.tenant AND r.room_id = mb.room_id
         LEFT JOIN chat_room_clocks c ON c.tenant = mb.tenant AND c.room_id = mb.room_id
         WHERE mb.tenant = $1 AND mb.user_id = $2 AND mb.member
         ORDER BY c.last_hlc DESC NULLS LAST, r.room_id
         LIMIT $3`,
        [tenant, userId, first],
      );
      return Promise.all(
        rows.map(
          async (r): Promise<RoomSummary> => ({
            room: toRoom(r),
            unread: await unreadCount(tenant, r.room_id, userId),
          }),
        ),
      );
    },

    async changeMembers(changes, events) {
      return tx(async (client) => {
        const won: Membership[] = [];
        for (const c of changes) if (await upsertMember(client, c)) won.push(c);
        for (const c of won) await bumpClock(client, c.tenant, c.roomId, c.hlc);
        await append(client, events(won));
        return won;
      });
    },

    async appendMessage(tenant, roomId, messageId, build) {
      return tx(async (client) => {
        await client.query(
          'INSERT INTO chat_room_clocks (tenant, room_id, last_hlc) VALUES ($1, $2, NULL) ON CONFLICT DO NOTHING',
          [tenant, roomId],
        );
        const clock = await client.query<{ last_hlc: string | null }>(
          'SELECT last_hlc FROM chat_room_clocks WHERE tenant = $1 AND room_id = $2 FOR UPDATE',
          [tenant, roomId],
        );
        const existing = await client.query<MessageRow>(
          `SELECT ${MESSAGE_COLUMNS} FROM chat_messages WHERE tenant = $1 AND room_id = $2 AND message_id = $3`,
          [tenant, roomId, messageId],
        );
        if (existing.rows[0]) return { message: toMessage(existing.rows[0]), created: false };
        const { message, events } = build(clock.rows[0]?.last_hlc ?? undefined);
        await client.query(`INSERT INTO chat_messages (${MESSAGE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, [
          message.tenant,
          message.roomId,
          message.id,
          message.clientMessageId,
          message.authorId,
          message.body,
          message.sentAt,
          message.hlc,
        ]);
        await bumpClock(client, tenant, roomId, message.hlc);
        await append(client, events);
        return { message, created: true };
      });
    },

    async getMessage(tenant, roomId, messageId) {
      const rows = await read<MessageRow>(
        `SELECT ${MESSAGE_COLUMNS} FROM chat_messages WHERE tenant = $1 AND room_id = $2 AND message_id = $3`,
        [tenant, roomId, messageId],
      );
      return rows[0] && toMessage(rows[0]);
    },

    async messages(tenant, roomId, page: PageRequest) {
      const forward = page.direction === 'forward';
      const from: Position | undefined = forward ? page.after : page.before;
      const params: unknown[] = [tenant, roomId, page.size + 1];
      let cursor = '';
      if (from) {
        params.push(from.hlc, from.id);
        cursor = `AND (hlc, message_id) ${forward ? '>' : '<'} ($4, $5::uuid)`;
      }
      const dir = forward ? 'ASC' : 'DESC';
      const rows = await read<MessageRow>(
        `SELECT ${MESSAGE_COLUMNS} FROM chat_messages WHERE tenant = $1 AND room_id = $2 ${cursor}
         ORDER BY hlc ${dir}, message_id ${dir} LIMIT $3`,
        params,
      );
      const hasMore = rows.length > page.size;
      const taken = rows.slice(0, page.size).map(toMessage);
      return { messages: forward ? taken : taken.reverse(), hasMore };
    },

    async markRead(tenant, roomId, userId, upTo, events) {
      return tx(async (client) => {
        const r = await client.query(
          `INSERT INTO chat_read_markers (tenant, room_id, user_id, hlc, message_id) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (tenant, room_id, user_id) DO UPDATE SET hlc = EXCLUDED.hlc, message_id = EXCLUDED.message_id
           WHERE (chat_read_markers.hlc, chat_read_markers.message_id) < (EXCLUDED.hlc, EXCLUDED.message_id)
           RETURNING 1`,
          [tenant, roomId, userId, upTo.hlc, upTo.id],
        );
        const moved = (r.rowCount ?? 0) > 0;
        if (moved) await append(client, events);
        return moved;
      });
    },

    unreadCount,

    async applyRoom(room, members) {
      await tx(async (client) => {
        await insertRoom(client, room);
        for (const m of members) await upsertMember(client, m);
        for (const hlc of new Set(members.map((m) => m.hlc))) await bumpClock(client, room.tenant, room.id, hlc);
      });
    },

    async applyMembership(change) {
      await tx(async (client) => {
        await upsertMember(client, change);
        await bumpClock(client, change.tenant, change.roomId, change.hlc);
      });
    },

    async applyMessage(m) {
      await tx(async (client) => {
        // Two regions made the same id (a send retried across a failover): the copy ordered first wins everywhere.
        await client.query(
          `INSERT INTO chat_messages (${MESSAGE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (tenant, room_id, message_id) DO UPDATE SET
             client_message_id = EXCLUDED.client_message_id, author_id = EXCLUDED.author_id, body = EXCLUDED.body,
             sent_at = EXCLUDED.sent_at, hlc = EXCLUDED.hlc
           WHERE EXCLUDED.hlc < chat_messages.hlc`,
          [m.tenant, m.roomId, m.id, m.clientMessageId, m.authorId, m.body, m.sentAt, m.hlc],
        );
        await bumpClock(client, m.tenant, m.roomId, m.hlc);
      });
    },

    async applyRead(tenant, roomId, userId, upTo) {
      await tx(async (client) => {
        await client.query(
          `INSERT INTO chat_read_markers (tenant, room_id, user_id, hlc, message_id) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (tenant, room_id, user_id) DO UPDATE SET hlc = EXCLUDED.hlc, message_id = EXCLUDED.message_id
           WHERE (chat_read_markers.hlc, chat_read_markers.message_id) < (EXCLUDED.hlc, EXCLUDED.message_id)`,
          [tenant, roomId, userId, upTo.hlc, upTo.id],
        );
      });
    },
  };
}
