-- Chat: rooms, members (last writer wins by hybrid timestamp), messages, read markers.
-- Timestamps (`hlc`) sort as text byte by byte: COLLATE "C", never the database's locale,
-- which could order '.' and digits differently.
CREATE TABLE chat_rooms (
  tenant      text NOT NULL,
  room_id     uuid NOT NULL,
  name        text NOT NULL,
  created_by  text NOT NULL,
  created_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant, room_id)
);

-- The newest timestamp of anything in a room: the floor a new message must sort after, and the
-- room's activity. Kept apart from chat_rooms because replicated messages may arrive before
-- their room; its row is also the lock that serialises sends to one room in a region.
CREATE TABLE chat_room_clocks (
  tenant    text NOT NULL,
  room_id   uuid NOT NULL,
  last_hlc  text COLLATE "C",
  PRIMARY KEY (tenant, room_id)
);

CREATE TABLE chat_members (
  tenant   text NOT NULL,
  room_id  uuid NOT NULL,
  user_id  text NOT NULL,
  member   boolean NOT NULL,
  hlc      text COLLATE "C" NOT NULL,
  PRIMARY KEY (tenant, room_id, user_id)
);
CREATE INDEX chat_members_by_user ON chat_members (tenant, user_id) WHERE member;

CREATE TABLE chat_messages (
  tenant             text NOT NULL,
  room_id            uuid NOT NULL,
  message_id         uuid NOT NULL,
  client_message_id  text NOT NULL,
  author_id          text NOT NULL,
  body               text NOT NULL,
  sent_at            timestamptz NOT NULL,
  hlc                text COLLATE "C" NOT NULL,
  PRIMARY KEY (tenant, room_id, message_id)
);
CREATE INDEX chat_messages_in_order ON chat_messages (tenant, room_id, hlc, message_id);

CREATE TABLE chat_read_markers (
  tenant      text NOT NULL,
  room_id     uuid NOT NULL,
  user_id     text NOT NULL,
  hlc         text COLLATE "C" NOT NULL,
  message_id  uuid NOT NULL,
  PRIMARY KEY (tenant, room_id, user_id)
);
