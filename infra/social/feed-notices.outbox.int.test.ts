/**
 * Feed notices into a scratch PostgreSQL outbox: valid social.feed.updated.v1 events, chunked,
 * and once per cause however often the projector announces it.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { SOCIAL_EVENTS } from '../../domains/social/events.ts';
import { postgresOutboxSink } from '../outbox/document-outbox.ts';
import { type ScratchDatabase, scratchDatabase } from '../postgres/scratch-database.testing.ts';
import { CHUNK, outboxFeedNotices } from './feed-notices.outbox.ts';

let scratch: ScratchDatabase;
before(async () => {
  scratch = await scratchDatabase('feed_notices');
});
after(() => scratch?.drop());

describe('feed notices through the outbox', () => {
  it('announces each cause once, in chunks of at most CHUNK users, each user once', async () => {
    const notices = outboxFeedNotices(postgresOutboxSink(scratch.postgres.pool), { region: 'west' });
    const cause = randomUUID();
    const postId = randomUUID();
    const users = Array.from({ length: CHUNK * 2 + 7 }, (_, i) => `u${i}`);
    const change = { reason: 'post' as const, authorId: 'star', postId, userIds: [...users, 'u3'] };
    await notices.announce(cause, 'tn', change);
    await notices.announce(cause, 'tn', { ...change, userIds: [...users].reverse() });
    const { rows } = await scratch.postgres.pool.query<{
      topic: string;
      aggregate_id: string;
      envelope: { data: { userIds: string[]; region: string } };
    }>('SELECT topic, aggregate_id, envelope FROM outbox ORDER BY seq');
    assert.equal(rows.length, 3, 'three chunks, announced once');
    assert.ok(rows.every((r) => r.topic === SOCIAL_EVENTS.feedUpdated && r.aggregate_id === postId));
    const seen = rows.flatMap((r) => r.envelope.data.userIds);
    assert.equal(seen.length, users.length);
    assert.deepEqual([...seen].sort(), [...users].sort());
    assert.ok(rows.every((r) => r.envelope.data.region === 'west' && r.envelope.data.userIds.length <= CHUNK));
    await notices.announce(randomUUID(), 'tn', { reason: 'follow', authorId: 'star', userIds: ['u1'] });
    const { rows: after } = await scratch.postgres.pool.query('SELECT aggregate_id FROM outbox ORDER BY seq');
    assert.equal(after.length, 4, 'another cause is another notice');
    assert.equal(after[3]?.aggregate_id, 'u1', 'a follow notice is keyed by the follower');
  });
});
