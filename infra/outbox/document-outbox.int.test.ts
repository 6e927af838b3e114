/**
 * The document outbox against the real east FerretDB (events kept in the document they
 * describe), a scratch PostgreSQL database (the relational outbox the relay publishes) and the
 * document locks on east's PostgreSQL.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Collection } from 'mongodb';
import { createDocumentLocks, type DocumentLocksDependency } from '../adapters/document-locks.ts';
import { createMongo, type MongoDependency } from '../adapters/mongo.ts';
import { uniqueName } from '../adapters/testing.ts';
import { resolveEndpoints } from '../config/endpoints.ts';
import { type Envelope, envelope } from '../events/envelope.ts';
import { TESTING_EVENTS, type TestingEventType, testingRegistry, thingEvent } from '../events/testing.ts';
import { type ScratchDatabase, scratchDatabase } from '../postgres/scratch-database.testing.ts';
import {
  type CollectionOutbox,
  collectionOutbox,
  createDocumentOutboxMover,
  newOutbox,
  type OutboxFields,
  type OutboxSink,
  postgresOutboxSink,
} from './document-outbox.ts';

const REGISTRY = testingRegistry();
const TENANT = 'outbox-test';

interface Thing extends OutboxFields {
  _id: string;
  name: string;
  step: number;
}

const event = (type: TestingEventType, id: string, step: number): Envelope =>
  envelope(thingEvent(type, id, TENANT, step), { region: 'east', service: 'things' });

describe('document outbox (FerretDB → PostgreSQL outbox)', () => {
  let mongo: MongoDependency;
  let things: Collection<Thing>;
  let scratch: ScratchDatabase;
  let sink: OutboxSink;
  let locks: DocumentLocksDependency;
  let source: CollectionOutbox<Thing>;

  before(async () => {
    const { mongoUrl, postgresUrl } = resolveEndpoints('east', process.env);
    mongo = createMongo({ url: mongoUrl });
    things = mongo.db.collection<Thing>(uniqueName('outbox_things', '_'));
    scratch = await scratchDatabase('document_outbox');
    sink = postgresOutboxSink(scratch.postgres.pool, REGISTRY);
    locks = createDocumentLocks({ url: postgresUrl, applicationName: 'meridian-document-outbox-test' });
    source = collectionOutbox('things', things, { locks, registry: REGISTRY });
    await source.ensureIndex();
  });

  after(async () => {
    await things?.drop().catch(() => {});
    await mongo?.close();
    await scratch?.drop();
    await locks?.close();
  });

  async function outboxRows(aggregate: string): Promise<Array<{ id: string; type: string }>> {
    const { rows } = await scratch.postgres.pool.query<{ id: string; type: string }>(
      'SELECT event_id::text AS id, topic AS type FROM outbox WHERE aggregate_id = $1 ORDER BY seq',
      [aggregate],
    );
    return rows;
  }

  /** A thing created with one event, then changed with two more (each change one atomic write). */
  async function thingWithThreeEvents(): Promise<{ id: string; events: Envelope[] }> {
    const id = randomUUID();
    const created = event(TESTING_EVENTS.created, id, 0);
    await source.insert({ _id: id, name: 'a thing', step: 0 }, [created]);
    const changed = event(TESTING_EVENTS.changed, id, 1);
    const noted = event(TESTING_EVENTS.noted, id, 2);
    await source.update({ _id: id }, { $set: { step: 2 } }, [changed, noted]);
    return { id, events: [created, changed, noted] };
  }

  it('keeps the state change and its events in one document write, then moves them once, in order', async () => {
    const { id, events } = await thingWithThreeEvents();
    const doc = await things.findOne({ _id: id });
    assert.equal(doc?.step, 2);
    assert.deepEqual(
      doc?._outbox?.map((e) => e.id),
      events.map((e) => e.id),
    );

    assert.ok((await source.drain(sink, 100)) >= 3);
    assert.deepEqual(
      await outboxRows(id),
      events.map((e) => ({ id: e.id, type: e.type })),
    );
    const cleared = await things.findOne({ _id: id });
    assert.deepEqual([cleared?._outbox, cleared?._outboxPending, cleared?.step], [[], false, 2]);
    assert.equal(await source.drain(sink, 100), 0, 'nothing left to move');
    assert.equal((await outboxRows(id)).length, 3);
  });

  it('a crash after the copy and before the clear copies again next pass, a no-op by event id', async () => {
    const { id, events } = await thingWithThreeEvents();
    const crashing: OutboxSink = {
      async append(envelopes) {
        await sink.append(envelopes);
        throw new Error('killed between the copy and the clear');
      },
    };
    await assert.rejects(source.drain(crashing, 100), /killed between/);
    assert.equal((await things.findOne({ _id: id }))?._outboxPending, true, 'the document still holds its events');
    await source.drain(sink, 100);
    assert.deepEqual(
      (await outboxRows(id)).map((r) => r.id),
      events.map((e) => e.id),
      'each event once, in order',
    );
  });

  it('versioned writes racing on one document: exactly one wins, and only its event is kept', async () => {
    // Unlocked, FerretDB v1 let five of six such writers through (each read step 0, each wrote).
    const { id, events } = await thingWithThreeEvents();
    const tries = Array.from({ length: 6 }, (_, k) => event(TESTING_EVENTS.noted, id, 10 + k));
    const results = await Promise.all(
      tries.map((e, k) => source.update({ _id: id, step: 2 }, { $set: { step: 10 + k } }, [e])),
    );
    const winners = results.flatMap((r, k) => (r.matchedCount === 1 ? [k] : []));
    assert.equal(winners.length, 1, `winners: ${winners.join(', ')}`);
    const doc = await things.findOne({ _id: id });
    const winner = winners[0] as number;
    assert.equal(doc?.step, 10 + winner);
    assert.deepEqual(
      doc?._outbox?.map((e) => e.id),
      [...events, tries[winner]].map((e) => e?.id),
    );
  });

  it('writers racing the mover lose nothing: every acknowledged change and event survives, in order', async () => {
    // Unlocked, the mover's clear rewrote documents from a stale read and erased events (and
    // FerretDB v1 lost most of six concurrent $push or $inc updates of one document).
    const id = randomUUID();
    await source.insert({ _id: id, name: 'busy', step: 0 }, []);
    const mover = createDocumentOutboxMover({ sources: [source], sink, idleMs: 1 });
    mover.start();
    const written: string[] = [];
    try {
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          for (let i = 0; i < 15; i++) {
            const e = event(TESTING_EVENTS.changed, id, i);
            await source.update({ _id: id }, { $inc: { step: 1 } }, [e]);
            written.push(e.id);
          }
        }),
      );
      const deadline = Date.now() + 20_000;
      while ((await outboxRows(id)).length < written.length && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      await mover.stop();
    }
    assert.equal((await things.findOne({ _id: id }))?.step, 60, 'no $inc lost');
    assert.deepEqual(
      (await outboxRows(id)).map((r) => r.id),
      written,
      'every event once, in the order the writes were acknowledged',
    );
  });

  it('a write through the source wakes an idle mover: moved at once, not at the next poll', async () => {
    const mover = createDocumentOutboxMover({ sources: [source], sink, idleMs: 600_000 });
    mover.start();
    try {
      // The first pass finds nothing of this test's; the mover then idles for ten minutes.
      await new Promise((r) => setTimeout(r, 300));
      const id = randomUUID();
      const created = event(TESTING_EVENTS.created, id, 0);
      await source.insert({ _id: id, name: 'announced', step: 0 }, [created]);
      const changed = event(TESTING_EVENTS.changed, id, 1);
      await source.update({ _id: id }, { $set: { step: 1 } }, [changed]);
      const deadline = Date.now() + 20_000;
      while ((await outboxRows(id)).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(
        (await outboxRows(id)).map((r) => r.id),
        [created.id, changed.id],
      );
    } finally {
      await mover.stop();
    }
  });

  it('the mover drains on its own until stopped, and refuses invalid events at write time', async () => {
    const mover = createDocumentOutboxMover({
      sources: [source],
      sink,
      idleMs: 10,
    });
    mover.start();
    try {
      const { id, events } = await thingWithThreeEvents();
      // Eventually, not at once: on a freshly started stack under the integration tier's load,
      // FerretDB's first writes took more than 5 s here.
      const deadline = Date.now() + 20_000;
      while ((await outboxRows(id)).length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(
        (await outboxRows(id)).map((r) => r.id),
        events.map((e) => e.id),
      );
    } finally {
      await mover.stop();
    }
    const bad = { ...event(TESTING_EVENTS.created, randomUUID(), 0), tenant: 'Not A Tenant' };
    assert.throws(() => newOutbox([bad], REGISTRY), /tenant/);
  });
});
