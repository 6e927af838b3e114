/**
 * Social on the hub: live new-post notices. Topics are relative to the client's tenant (the
 * host scopes them to the token's tenant), so the rules here only decide within one tenant.
 * - `user.<sub>.feed`: a post entered the caller's home feed in this region (only that user);
 *   from this region's own `feed.updated` (the other region's announce its own feeds, which
 *   this region's readers do not read).
 * - `author.<sub>.posts`: every post of that author (anyone of the tenant: posts are public in
 *   it). Authors past the fan-out limit are not fanned out, so their followers' feed topics
 *   stay quiet for them: clients follow these authors here instead (one publication per post,
 *   however many followers).
 */
import { type FeedUpdatedData, type PostCreatedData, SOCIAL_EVENTS } from '../../domains/social/events.ts';
import type { Envelope } from '../../infra/events/envelope.ts';
import type { HubFeed, HubPublication, HubTopic } from '../host/domain-module.ts';
import { topicSegment } from '../hub/topics.ts';

const USER_FEED_TOPIC = /^user\.[a-z0-9_.:-]+\.feed$/;
const AUTHOR_POSTS_TOPIC = /^author\.[a-z0-9_.:-]+\.posts$/;

/** The topic of one user's home feed notices: `user.<sub>.feed`. */
export function userFeedTopic(userId: string): string {
  return `user.${topicSegment(userId)}.feed`;
}

/** The topic of one author's posts: `author.<sub>.posts`. */
export function authorPostsTopic(userId: string): string {
  return `author.${topicSegment(userId)}.posts`;
}

/** Who may follow social topics: a feed topic its owner; an author's posts anyone in the tenant. */
export const socialHubTopics: readonly HubTopic[] = [
  { pattern: USER_FEED_TOPIC, authorize: async (actor, topic) => topic === userFeedTopic(actor.subject) },
  { pattern: AUTHOR_POSTS_TOPIC, authorize: async () => true },
];

/** The hub feed of the region `region`. */
export function socialHubFeed(region: string): HubFeed {
  return {
    topics: [SOCIAL_EVENTS.postCreated, SOCIAL_EVENTS.feedUpdated],
    publications(event: Envelope): HubPublication[] {
      if (event.type === SOCIAL_EVENTS.postCreated) {
        const d = event.data as PostCreatedData;
        const data = { ...d, source: event.source };
        return [{ topic: authorPostsTopic(d.authorId), message: { id: event.id, event: event.type, data } }];
      }
      if (event.type === SOCIAL_EVENTS.feedUpdated) {
        const d = event.data as FeedUpdatedData;
        if (d.region !== region || d.reason !== 'post' || !d.postId) return [];
        const data = { postId: d.postId, authorId: d.authorId, time: event.time };
        const message = { id: event.id, event: event.type, data };
        return d.userIds.map((userId) => ({ topic: userFeedTopic(userId), message }));
      }
      return [];
    },
  };
}
