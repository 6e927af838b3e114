import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Actor } from '../../domains/shared/actor.ts';
import { SOCIAL_EVENTS, socialEvent } from '../../domains/social/events.ts';
import { envelope } from '../../infra/events/envelope.ts';
import { TOPIC, topicResolver } from '../hub/topics.ts';
import { authorPostsTopic, socialHubFeed, socialHubTopics, userFeedTopic } from './hub.ts';

const POST = '0b5e6a1e-8d2c-4f6a-9a51-3c1f2d4e5a6b';
const T = '2030-01-01T00:00:00.000Z';
const actor = (subject: string, tenant = 'acme'): Actor => ({ subject, tenant, scopes: [] });
const resolve = topicResolver(socialHubTopics);

describe('social hub topics', () => {
  it('encodes subjects into the topic grammar', () => {
    assert.equal(userFeedTopic('u1'), 'user.u1.feed');
    assert.equal(authorPostsTopic('auth0|Ab'), 'author.auth0:7c:41b.posts');
    for (const t of [userFeedTopic('Ann@x'), authorPostsTopic('a+b')]) assert.match(t, TOPIC);
  });

  it('a feed topic is its owner’s only, in the owner’s tenant; an author’s posts anyone’s in the tenant', async () => {
    assert.equal(await resolve(actor('u1'), 'user.u1.feed'), 'acme/user.u1.feed');
    assert.equal(await resolve(actor('u2'), 'user.u1.feed'), undefined);
    assert.equal(
      await resolve(actor('u1', 'globex'), 'user.u1.feed'),
      'globex/user.u1.feed',
      'the same id elsewhere is another topic',
    );
    assert.equal(await resolve(actor('u2'), 'author.u1.posts'), 'acme/author.u1.posts');
    assert.equal(await resolve(actor('u2', 'globex'), 'author.u1.posts'), 'globex/author.u1.posts');
    assert.equal(await resolve(actor('u2'), 'author.u1.comments'), undefined);
  });
});

describe('social hub feed', () => {
  const feed = socialHubFeed('west');
  it('publishes every post on its author’s topic, with the event id as message id', () => {
    const e = envelope(
      socialEvent(SOCIAL_EVENTS.postCreated, POST, 'acme', {
        postId: POST,
        authorId: 'ann',
        body: 'hi',
        productIds: [],
        createdAt: T,
      }),
      { region: 'east', service: 'social' },
    );
    const [p, ...rest] = feed.publications(e);
    assert.equal(rest.length, 0);
    assert.equal(p?.topic, 'author.ann.posts');
    assert.equal(p?.message.id, e.id);
    assert.deepEqual((p?.message.data as { body?: string } | undefined)?.body, 'hi');
  });

  it('notifies each user whose feed this region changed with a post; not other regions’, nor follows', () => {
    const notice = (region: string, reason: 'post' | 'follow') =>
      envelope(
        socialEvent(SOCIAL_EVENTS.feedUpdated, POST, 'acme', {
          region,
          reason,
          authorId: 'ann',
          ...(reason === 'post' ? { postId: POST } : {}),
          userIds: ['b', 'C'],
        }),
        { region: 'west', service: 'social' },
      );
    assert.deepEqual(
      feed.publications(notice('west', 'post')).map((p) => [p.topic, (p.message.data as { postId: string }).postId]),
      [
        ['user.b.feed', POST],
        ['user.:43.feed', POST],
      ],
    );
    assert.deepEqual(feed.publications(notice('east', 'post')), []);
    assert.deepEqual(feed.publications(notice('west', 'follow')), []);
  });
});
