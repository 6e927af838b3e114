/**
 * The document outbox against the real east FerretDB (events kept in the document they
 * describe) and a scratch PostgreSQL database (the relational outbox the relay publishes).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Collection } from 'mongodb';
import { createMongo, type MongoDependency } from '../adapters/mongo.ts';
import { uniqueName } from '../adapters/testing.ts';
import { resolveEndpoints } from '../config/endpoints.ts';
import { type Envelope, envelope } from '../events/envelope.ts';
import { TESTING_EVENTS, type TestingEventType, testingRegistry, thingEvent } from '../events/testing.ts';
import { type ScratchDatabase, scratchDatabase } from '../postgres/scratch-database.testing.ts';
import {
  collectionOutbox,
  createDocumentOutboxMover,
  newOutbox,
  type OutboxFields,
  type OutboxSink,
  postgresOutboxSink,
  withOutbox,
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

  before(async () => {
    const { mongoUrl } = resolveEndpoints('east', process.env);
    mongo = createMongo({ url: mongoUrl });
    things = mongo.db.collection<Thing>(uniqueName('outbox_things', '_'));
    scratch = await scratchDatabase('document_outbox');
    sink = postgresOutboxSink(scratch.postgres.pool, REGISTRY);
  });

  after(async () => {
    await things?.drop().catch(() => {});
    await mongo?.close();
    await scratch?.drop();
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
    await things.insertOne({ _id: id, name: 'a thing', step: 0, ...newOutbox([created], REGISTRY) });
    const changed = event(TESTING_EVENTS.changed, id, 1);
    const noted = event(TESTING_EVENTS.noted, id, 2);
    await things.updateOne({ _id: id }, withOutbox<Thing>({ $set: { step: 2 } }, [changed, noted], REGISTRY));
    return { id, events: [created, changed, noted] };
  }

  it('keeps the state change and its events in one document write, then moves them once, in order', async () => {
    const source = collectionOutbox('things', things);
    await source.ensureIndex();
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
    const source = collectionOutbox('things', things);
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

  it('a write racing the clear keeps its event: the clear misses and the next pass moves it', async () => {
    const { id, events } = await thingWithThreeEvents();
    const late = event(TESTING_EVENTS.changed, id, 3);
    const source = collectionOutbox('things', things);
    const racing: OutboxSink = {
      async append(envelopes) {
        await sink.append(envelopes);
        // Another writer changes the document after the mover read it, before it clears.
        if (envelopes.some((e) => e.subject === id)) {
          await things.updateOne({ _id: id }, withOutbox<Thing>({ $set: { step: 3 } }, [late], REGISTRY));
        }
      },
    };
    await source.drain(racing, 100);
    assert.deepEqual(
      (await things.findOne({ _id: id }))?._outbox?.map((e) => e.id),
      [...events, late].map((e) => e.id),
      'the stale clear did not drop the late event',
    );
    await source.drain(sink, 100);
    assert.deepEqual(
      (await outboxRows(id)).map((r) => r.id),
      [...events, late].map((e) => e.id),
    );
    assert.deepEqual((await things.findOne({ _id: id }))?._outbox, []);
  });

  it('the mover drains on its own until stopped, and refuses invalid events at write time', async () => {
    const mover = createDocumentOutboxMover({
      sources: [collectionOutbox('things', things)],
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
