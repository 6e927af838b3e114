import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Actor } from '../../domains/shared/actor.ts';
import { globalTopicKey, type HubTopic, TOPIC, tenantTopicKey, topicResolver, topicSegment } from './topics.ts';

const actor = (subject: string, tenant: string, scopes: string[] = []): Actor => ({ subject, tenant, scopes });

describe('hub topic keys', () => {
  it("scopes a tenant topic by the tenant, so one name in two tenants is two topics; globals are no tenant's", () => {
    assert.equal(tenantTopicKey('acme', 'user.u1.things'), 'acme/user.u1.things');
    assert.notEqual(tenantTopicKey('acme', 'user.u1.things'), tenantTopicKey('globex', 'user.u1.things'));
    assert.equal(globalTopicKey('edge.purge'), '*/edge.purge');
  });

  it('encodes subjects injectively into the topic grammar', () => {
    const subjects = ['Alice', 'alice', 'a:41lice', 'a b', 'ü', 'u1'];
    const segments = subjects.map(topicSegment);
    assert.equal(new Set(segments).size, subjects.length);
    for (const s of segments) assert.match(`x.${s}`, TOPIC);
  });
});

describe('topic resolver', () => {
  const mine: HubTopic = {
    pattern: /^user\.[^.]+\.things$/,
    authorize: async (a, topic) => topic === `user.${topicSegment(a.subject)}.things`,
  };
  const denyAll: HubTopic = { pattern: /^secret\./, authorize: async () => false };
  const resolve = topicResolver([mine, denyAll], [{ topic: 'edge.purge', scope: 'edge:purge' }]);

  it('gives the key in the actor’s own tenant when the family allows it', async () => {
    assert.equal(await resolve(actor('u1', 'acme'), 'user.u1.things'), 'acme/user.u1.things');
    assert.equal(await resolve(actor('u1', 'globex'), 'user.u1.things'), 'globex/user.u1.things');
    assert.equal(await resolve(actor('u2', 'acme'), 'user.u1.things'), undefined);
  });

  it('denies topics no family claims, families that say no, and malformed names', async () => {
    assert.equal(await resolve(actor('u1', 'acme'), 'unknown.topic'), undefined);
    assert.equal(await resolve(actor('u1', 'acme'), 'secret.x'), undefined);
    assert.equal(await resolve(actor('u1', 'acme'), 'acme/user.u1.things'), undefined, 'a key is not a topic');
  });

  it('a global topic needs its scope, whatever the tenant', async () => {
    assert.equal(await resolve(actor('edge-1', 'meridian', ['edge:purge']), 'edge.purge'), '*/edge.purge');
    assert.equal(await resolve(actor('u1', 'acme', ['orders:read']), 'edge.purge'), undefined);
  });
});
