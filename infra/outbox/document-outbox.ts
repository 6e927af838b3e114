/**
 * The outbox of a document store without multi-document transactions (FerretDB v1 has none:
 * a write is atomic per document only — and only under the document's lock, see below). A domain
 * that keeps its state in documents writes each change together with the events it causes INTO
 * THE SAME DOCUMENT (`_outbox`, one single-document update through `CollectionOutbox.update`).
 * The mover then copies pending events into the region's transactional outbox in PostgreSQL —
 * idempotent by event id (`ON CONFLICT DO NOTHING` on the outbox's unique event_id) — and only
 * after that commit clears them from the document. The relay publishes the PostgreSQL outbox to
 * Kafka exactly once as for every other domain, so the effect is the same:
 * - a crash before the copy commits leaves the events in the document: copied next pass;
 * - a crash after the copy, before the clear: copied again next pass, a no-op by event id;
 * - a write racing the mover waits for the document's lock (infra/adapters/document-locks.ts):
 *   FerretDB v1 applies an update by reading the document and writing all of it back, so an
 *   unlocked clear could erase events written between its read and its write (and an unlocked
 *   versioned write could win twice). Every update of an outbox-carrying document, the mover's
 *   copy-and-clear included, holds that document's lock; inserts need none (a duplicate id fails).
 * Order per document holds: events are appended in order, copied in order, and a document's
 * events share one aggregate id, hence one relay lane.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Collection, Document, Filter, OptionalUnlessRequiredId, UpdateFilter, UpdateResult } from 'mongodb';
import type pg from 'pg';
import { type DocumentLocks, documentKey } from '../adapters/document-locks.ts';
import type { Envelope } from '../events/envelope.ts';
import { laneOf, notifyOutbox } from '../events/outbox.ts';
import { type EventRegistry, eventRegistry } from '../events/registry.ts';

/** Where document outboxes deliver: the region's transactional outbox, idempotent by event id. */
export interface OutboxSink {
  /** Appends the envelopes (in order) unless their ids are already there; resolves once durable. */
  append(envelopes: readonly Envelope[]): Promise<void>;
}

/** Documents that carry their own pending events. */
export interface DocumentOutboxSource {
  /** Names the source in logs. */
  readonly name: string;
  /** Moves up to `limit` documents' pending events into `sink`; returns how many events it moved. */
  drain(sink: OutboxSink, limit: number): Promise<number>;
  /**
   * Calls `listener` after each write through this source that left events pending (writes in
   * this process only); returns the unsubscribe. The mover drains at once instead of at its poll.
   */
  onPending?(listener: () => void): () => void;
}

/** The fields the outbox adds to a document. */
export interface OutboxFields {
  /** Events not yet copied to the relational outbox, oldest first. */
  readonly _outbox?: readonly Envelope[];
  /** True while `_outbox` is not empty (an indexable flag: FerretDB cannot index array length). */
  readonly _outboxPending?: boolean;
  /** Bumped by every write through `withOutbox`; the mover clears only the revision it copied. */
  readonly _rev?: number;
}

/** An update that also records `events` in the document's outbox, in the same write (and bumps `_rev`). */
function withOutbox<T extends Document>(
  update: UpdateFilter<T>,
  events: readonly Envelope[],
  registry: EventRegistry = eventRegistry(),
): UpdateFilter<T> {
  for (const e of events) registry.assertValid(e);
  const u = update as Record<string, Record<string, unknown> | undefined>;
  return {
    ...update,
    $inc: { ...(u.$inc ?? {}), _rev: 1 },
    ...(events.length > 0
      ? {
          $push: { ...(u.$push ?? {}), _outbox: { $each: [...events] } },
          $set: { ...(u.$set ?? {}), _outboxPending: true },
        }
      : {}),
  } as unknown as UpdateFilter<T>;
}

/** A new document's outbox fields, for an insert that causes `events`. */
export function newOutbox(events: readonly Envelope[], registry: EventRegistry = eventRegistry()): OutboxFields {
  for (const e of events) registry.assertValid(e);
  return { _outbox: [...events], _outboxPending: events.length > 0, _rev: 1 };
}

/** A collection whose documents carry their own pending events. */
export interface CollectionOutbox<T extends Document> extends DocumentOutboxSource {
  /** Creates the index the mover's query uses; call at start. */
  ensureIndex(): Promise<void>;
  /**
   * The one way to change a document of this collection: `update` (its filter names the `_id`)
   * and `events` in one write, under the document's lock. Resolves like `updateOne`.
   */
  update(
    filter: Filter<T> & { _id: unknown },
    update: UpdateFilter<T>,
    events: readonly Envelope[],
  ): Promise<UpdateResult>;
  /** Inserts `doc` with `events` pending in it (no lock: a second insert of its id fails, E11000). */
  insert(doc: OptionalUnlessRequiredId<T>, events: readonly Envelope[]): Promise<void>;
}

/** The pending events of one collection, written and moved under `locks`. */
export function collectionOutbox<T extends Document>(
  name: string,
  collection: Collection<T>,
  opts: { readonly locks: DocumentLocks; readonly registry?: EventRegistry },
): CollectionOutbox<T> {
  const pending = { _outboxPending: true } as unknown as Filter<T>;
  const lockOf = (id: unknown) => documentKey(collection.namespace, id);
  const listeners = new Set<() => void>();
  const announce = () => {
    for (const l of listeners) l();
  };
  return {
    name,
    async ensureIndex() {
      await collection.createIndex({ _outboxPending: 1 } as never, { name: 'outbox_pending' });
    },
    async update(filter, update, events) {
      const write = withOutbox<T>(update, events, opts.registry);
      const result = await opts.locks.withLock(lockOf(filter._id), () => collection.updateOne(filter, write));
      if (events.length > 0 && result.modifiedCount > 0) announce();
      return result;
    },
    async insert(doc, events) {
      await collection.insertOne({ ...doc, ...newOutbox(events, opts.registry) } as OptionalUnlessRequiredId<T>);
      if (events.length > 0) announce();
    },
    onPending(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async drain(sink, limit) {
      const found = await collection.find(pending, { limit, projection: { _id: 1 } }).toArray();
      let moved = 0;
      for (const { _id } of found) {
        moved += await opts.locks.withLock(lockOf(_id), async () => {
          // Read again under the lock: what the search saw may have changed since.
          const doc = (await collection.findOne({ _id } as Filter<T>)) as (Document & OutboxFields) | null;
          if (!doc?._outboxPending) return 0;
          const events = doc._outbox ?? [];
          if (events.length > 0) await sink.append(events);
          await collection.updateOne(
            { _id, _rev: doc._rev } as unknown as Filter<T>,
            { $set: { _outbox: [], _outboxPending: false } } as unknown as UpdateFilter<T>,
          );
          return events.length;
        });
      }
      return moved;
    },
  };
}

/** The region's PostgreSQL outbox as a sink: one transaction per append, duplicates by event id skipped. */
export function postgresOutboxSink(pool: pg.Pool, registry: EventRegistry = eventRegistry()): OutboxSink {
  return {
    async append(envelopes) {
      for (const e of envelopes) registry.assertValid(e);
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        for (const e of envelopes) {
          await client.query(
            `INSERT INTO outbox (event_id, topic, aggregate_id, lane, envelope) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (event_id) DO NOTHING`,
            [e.id, e.type, e.subject, laneOf(e.subject), JSON.stringify(e)],
          );
        }
        if (envelopes.length > 0)
          await notifyOutbox(
            client,
            envelopes.map((e) => laneOf(e.subject)),
          );
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch((rollbackErr: Error) => {
          broken = rollbackErr;
        });
        throw err;
      } finally {
        client.release(broken);
      }
    },
  };
}

export interface DocumentOutboxMover {
  start(): void;
  stop(): Promise<void>;
  /** One pass over every source; resolves with the events moved. */
  drainOnce(): Promise<number>;
}

/**
 * Moves every source's pending events into the sink: at once after a write a source announces
 * (`onPending`), else at its next poll (writes made by other processes, or announced while it
 * was stopped).
 */
export function createDocumentOutboxMover(opts: {
  readonly sources: readonly DocumentOutboxSource[];
  readonly sink: OutboxSink;
  /** Documents per source per pass; 100 by default. */
  readonly batch?: number;
  /** Wait between passes that found nothing, unless a write is announced; 1000 ms by default. */
  readonly idleMs?: number;
  readonly onError?: (err: unknown) => void;
}): DocumentOutboxMover {
  const batch = opts.batch ?? 100;
  const idleMs = opts.idleMs ?? 1000;
  let stopping = false;
  let loop: Promise<void> | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  /** A write was announced since the current pass started. */
  let announced = false;
  let wakeUp: (() => void) | undefined;
  const stopped = new AbortController();
  const unsubscribe: Array<() => void> = [];

  function wake(): void {
    announced = true;
    wakeUp?.();
  }
  /** Waits `ms`, or less when a write is announced or stop() is called. */
  function idle(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakeUp = undefined;
        resolve();
      }
      wakeUp = done;
    });
  }
  async function pass(): Promise<number> {
    let moved = 0;
    for (const source of opts.sources) moved += await source.drain(opts.sink, batch);
    return moved;
  }
  function drainOnce(): Promise<number> {
    // Serialised: the loop and direct callers never copy the same document at once.
    const run = queue.then(pass, pass);
    queue = run.catch(() => {});
    return run;
  }
  async function run(): Promise<void> {
    let failures = 0;
    while (!stopping) {
      announced = false;
      let delay = 0;
      try {
        if ((await drainOnce()) === 0) delay = idleMs;
        failures = 0;
      } catch (err) {
        failures++;
        if (!stopping) opts.onError?.(err);
        delay = Math.min(5000, 100 * 2 ** Math.min(failures, 6));
      }
      // A failure backs off whatever is announced; an idle mover wakes for an announced write.
      if (delay > 0 && !stopping && (failures > 0 || !announced)) {
        if (failures > 0) await sleep(delay, undefined, { signal: stopped.signal }).catch(() => {});
        else await idle(delay);
      }
    }
  }
  return {
    start() {
      if (loop) return;
      for (const s of opts.sources) {
        const off = s.onPending?.(wake);
        if (off) unsubscribe.push(off);
      }
      loop = run();
    },
    async stop() {
      stopping = true;
      for (const off of unsubscribe.splice(0)) off();
      stopped.abort();
      wakeUp?.();
      await loop;
      await queue;
    },
    drainOnce,
  };
}
