/**
 * FeedNotices through the region's PostgreSQL outbox: each announcement becomes
 * `social.feed.updated.v1` events (at most CHUNK users each), appended idempotently by event id.
 * The ids are name-based on (cause event id, region, chunk), so a projector that handles the
 * same event again after a crash appends nothing new: each notice reaches Kafka once.
 * (The feed write in Redis and this append cannot share a transaction; replaying both is what
 * makes them agree.) Users are sorted before chunking so a replay cuts the same chunks.
 */

import { type FeedUpdatedData, SOCIAL_EVENTS } from '../../domains/social/events.ts';
import type { FeedNotices } from '../../domains/social/ports.ts';
import { type Envelope, envelope } from '../events/envelope.ts';
import type { OutboxSink } from '../outbox/document-outbox.ts';
import { currentTraceparent } from '../telemetry/context.ts';
import { nameUuid } from './name-uuid.ts';

/** Users per feed.updated event (its schema's maxItems). */
export const CHUNK = 500;

export function outboxFeedNotices(sink: OutboxSink, opts: { readonly region: string }): FeedNotices {
  return {
    async announce(causeId, tenant, change) {
      const userIds = [...new Set(change.userIds)].sort();
      const envelopes: Envelope[] = [];
      for (let i = 0; i * CHUNK < userIds.length; i++) {
        const chunk = userIds.slice(i * CHUNK, (i + 1) * CHUNK);
        const data: FeedUpdatedData = {
          region: opts.region,
          reason: change.reason,
          authorId: change.authorId,
          ...(change.postId ? { postId: change.postId } : {}),
          userIds: chunk,
        };
        const subject = change.postId ?? (chunk[0] as string);
        envelopes.push(
          envelope(
            { type: SOCIAL_EVENTS.feedUpdated, subject, tenant, data },
            {
              region: opts.region,
              service: 'social',
              traceparent: currentTraceparent(),
              uuid: () => nameUuid(`feed.updated\n${causeId}\n${opts.region}\n${i}`),
            },
          ),
        );
      }
      if (envelopes.length > 0) await sink.append(envelopes);
    },
  };
}
