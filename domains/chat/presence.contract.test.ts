/**
 * The Presence contract (ports.ts), run by every adapter: memory (unit), Redis and the gRPC
 * service in front of Redis (integration). Not a test file by itself: it exports the suite.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Presence } from './ports.ts';

const tenant = () => `t-${randomUUID().slice(0, 8)}`;

/** Registers the suite; `presence` is built per test. */
export function presenceContract(name: string, presence: () => Presence | Promise<Presence>): void {
  describe(`Presence contract: ${name}`, () => {
    it('lists users with a live heartbeat, in id order, up to the limit', async () => {
      const p = await presence();
      const t = tenant();
      const room = randomUUID();
      for (const u of ['carol', 'alice', 'bob']) await p.heartbeat(t, room, u, 30_000);
      assert.deepEqual(await p.online(t, room, 10), ['alice', 'bob', 'carol']);
      assert.deepEqual(await p.online(t, room, 2), ['alice', 'bob']);
      assert.deepEqual(await p.online(t, randomUUID(), 10), []);
    });

    it('a heartbeat expires after its ttl unless renewed; leave ends it at once', async () => {
      const p = await presence();
      const t = tenant();
      const room = randomUUID();
      await p.heartbeat(t, room, 'brief', 1000);
      await p.heartbeat(t, room, 'renewed', 1000);
      await p.heartbeat(t, room, 'leaver', 30_000);
      await p.leave(t, room, 'leaver');
      await sleep(600);
      await p.heartbeat(t, room, 'renewed', 1000);
      await sleep(600);
      assert.deepEqual(await p.online(t, room, 10), ['renewed']);
    });

    it('keeps tenants apart: the same room id and user id in another tenant is someone else', async () => {
      const p = await presence();
      const [a, b] = [tenant(), tenant()];
      const room = randomUUID();
      await p.heartbeat(a, room, 'u1', 30_000);
      assert.deepEqual(await p.online(b, room, 10), []);
      await p.heartbeat(b, room, 'u2', 30_000);
      await p.leave(b, room, 'u1');
      assert.deepEqual(await p.online(a, room, 10), ['u1']);
    });
  });
}
