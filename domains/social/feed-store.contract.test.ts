/**
 * The FeedStore contract (ports.ts), run by every adapter's tests: memory (unit) and Redis
 * (integration). Every test works in a tenant of its own.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { FeedEntry, FeedStore } from './ports.ts';

const fresh = (prefix: string) => `${prefix}-${randomUUID().replaceAll('-', '').slice(0, 12)}`;
const at = (ms: number) => new Date(Date.parse('2030-01-01T00:00:00.000Z') + ms).toISOString();
const entry = (ms: number, authorId = 'a', id = randomUUID()): FeedEntry => ({ id, createdAt: at(ms), authorId });
const ids = (list: readonly FeedEntry[]) => list.map((e) => e.id);

/** Runs the contract; `cap` is the feed length the fixture's store keeps. */
export function feedStoreContract(name: string, fixture: () => { store: FeedStore; cap: number }): void {
  describe(`FeedStore contract: ${name}`, () => {
    it('pages newest first with an exclusive cursor, ties broken by post id', async () => {
      const { store } = fixture();
      const tenant = fresh('t');
      const same = [entry(2), entry(2)].sort((x, y) => (x.id < y.id ? 1 : -1));
      const entries = [entry(1), ...same, entry(3)];
      await store.add(tenant, ['u'], entries);
      const first = await store.page(tenant, 'u', 2);
      assert.deepEqual(ids(first), [entries[3]?.id, same[0]?.id]);
      assert.deepEqual(first[0], entries[3], 'an entry comes back as it went in');
      const rest = await store.page(tenant, 'u', 10, first[1]);
      assert.deepEqual(ids(rest), [same[1]?.id, entries[0]?.id]);
      assert.deepEqual(await store.page(tenant, 'u', 10, rest[1]), []);
    });

    it('is a set by post id: adding again never doubles an entry; users and tenants are apart', async () => {
      const { store } = fixture();
      const tenant = fresh('t');
      const e = entry(1);
      await store.add(tenant, ['u', 'v'], [e]);
      await store.add(tenant, ['u'], [e, e]);
      assert.deepEqual(ids(await store.page(tenant, 'u', 10)), [e.id]);
      assert.deepEqual(ids(await store.page(tenant, 'v', 10)), [e.id]);
      assert.deepEqual(await store.page(tenant, 'w', 10), []);
      assert.deepEqual(await store.page(fresh('t'), 'u', 10), [], 'the same user id in another tenant');
    });

    it('removes one author’s entries from one feed', async () => {
      const { store } = fixture();
      const tenant = fresh('t');
      const keep = entry(1, 'keep');
      const gone = [entry(2, 'gone|with:odd.chars'), entry(3, 'gone|with:odd.chars')];
      await store.add(tenant, ['u', 'v'], [keep, ...gone]);
      assert.equal(await store.removeAuthor(tenant, 'u', 'gone|with:odd.chars'), 2);
      assert.deepEqual(ids(await store.page(tenant, 'u', 10)), [keep.id]);
      assert.equal((await store.page(tenant, 'v', 10)).length, 3, 'other feeds keep theirs');
      assert.equal(await store.removeAuthor(tenant, 'u', 'gone|with:odd.chars'), 0);
    });

    it('keeps the newest `cap` entries of each feed', async () => {
      const { store, cap } = fixture();
      const tenant = fresh('t');
      const all = Array.from({ length: cap + 5 }, (_, i) => entry(i));
      await store.add(tenant, ['u'], all.slice(0, 3));
      await store.add(tenant, ['u'], all.slice(3));
      const kept = await store.page(tenant, 'u', cap + 10);
      assert.equal(kept.length, cap);
      assert.equal(kept[0]?.id, all[all.length - 1]?.id);
      assert.equal(kept[cap - 1]?.id, all[5]?.id);
    });
  });
}
