/**
 * The fan-out hub's core: in-process topics with a bounded history, and subscriptions that
 * transports (SSE now, WebSocket later) turn into client connections. Web-standard only.
 *
 * Delivery guarantees, per subscription (one client connection):
 * - At most once per connection: a message is handed to a subscription at most once, and a
 *   second publish of an id still in the topic's history is dropped (it absorbs Kafka
 *   redeliveries, which repeat the event id, within the history window).
 * - Ordered per topic, and in publish order across all topics of one subscription (every
 *   message gets a hub-wide sequence number; replays are merged by it).
 * - Resumable within the history window: `subscribe(topics, lastEventId)` replays every
 *   buffered message of those topics published after `lastEventId`. If that id is unknown,
 *   or some message after it has already left the history, nothing is replayed and the
 *   subscription says `reset: true` — the client must refetch its state, then follow live.
 * - Bounded memory: a subscription more than `clientBufferLimit` messages behind is closed
 *   with reason 'overflow' (the client reconnects and resumes, or resets). History is
 *   `historyPerTopic` messages for at most `topicLimit` topics (least recently published
 *   topics are forgotten first).
 * - Epochs: every hub instance has a random `epoch`. A resume that names another epoch (the
 *   client last read from a hub that has since restarted, or from another instance) resets,
 *   even when its event id happens to be known here: ids alone cannot prove that nothing
 *   was skipped across two instances' histories.
 * Nothing is persisted: a restarted hub has no history, so every resume after it resets.
 *
 * A Subscription is an async iterator (`for await (const d of sub)`, or `next()`); it ends
 * when closed by either side, and `closeReason` tells why.
 */

/** What a publisher hands the hub; `id` and `event` are single-line strings, `data` any JSON value. */
export interface HubMessage {
  readonly id: string;
  readonly event: string;
  readonly data: unknown;
}

/** A message as delivered: with its topic and hub-wide sequence number (publish order). */
export interface Delivery extends HubMessage {
  readonly topic: string;
  readonly seq: number;
}

/** Why a subscription ended: its owner closed it, it fell too far behind, or the hub shut down. */
export type CloseReason = 'closed' | 'overflow' | 'hub-closed';

/** How to subscribe: where to resume from, and who to tell when the subscription ends. */
export interface SubscribeOptions {
  /** Replay what was published after this id (within the history window), else reset. */
  readonly lastEventId?: string;
  /** The epoch the client read `lastEventId` from; another epoch than the hub's resets. */
  readonly epoch?: string;
  /**
   * Called once when the subscription ends, with why. Lets a transport that is blocked writing
   * to a slow client learn at once that the hub cut it off ('overflow').
   */
  readonly onEnd?: (reason: CloseReason) => void;
}

/** One consumer's view of some topics: an async iterator of deliveries, oldest first. */
export interface Subscription {
  readonly topics: readonly string[];
  /** A lastEventId was given but could not be resumed from: the consumer must refetch its state. */
  readonly reset: boolean;
  /** Undefined while open. */
  readonly closeReason: CloseReason | undefined;
  /** Deliveries not yet taken (replay plus live). */
  readonly pending: number;
  next(): Promise<IteratorResult<Delivery, undefined>>;
  return(): Promise<IteratorResult<Delivery, undefined>>;
  [Symbol.asyncIterator](): Subscription;
  /** Stops delivery and releases the buffer; idempotent. */
  close(): void;
}

/** Options of createHub. */
export interface HubOptions {
  /** Messages kept per topic for resume; 200 by default. */
  readonly historyPerTopic?: number;
  /** Undelivered messages a subscription may hold before it is cut off; 1000 by default. */
  readonly clientBufferLimit?: number;
  /** Topics whose history is kept (least recently published are dropped); 10 000 by default. */
  readonly topicLimit?: number;
}

/** The in-process pub/sub. */
export interface Hub {
  /** This instance's random id: resume points from another epoch reset. */
  readonly epoch: string;
  /** Delivers to current subscribers and records in history; false when the id was a duplicate. */
  publish(topic: string, message: HubMessage): boolean;
  /** Subscribes to topics; a string second argument is the lastEventId (same as `{ lastEventId }`). */
  subscribe(topics: readonly string[], resume?: string | SubscribeOptions): Subscription;
  stats(): { topics: number; subscriptions: number; pending: number };
  /** Ends every subscription with 'hub-closed'; later publishes are ignored. */
  close(): void;
}

// SSE (and most line protocols) cannot carry CR, LF or NUL in an id or event name.
const SINGLE_LINE = /^[^\r\n\0]+$/;
const MAX_ID_LENGTH = 1024;

/** A topic's bounded history, oldest first. */
class TopicHistory {
  readonly capacity: number;
  readonly items: Array<Delivery | undefined>;
  readonly ids = new Set<string>();
  head = 0;
  size = 0;
  /** Messages of this topic with seq ≤ floor may be missing from the history. */
  floor: number;

  constructor(capacity: number, floor: number) {
    this.capacity = capacity;
    this.items = new Array(capacity);
    this.floor = floor;
  }

  /** Appends; returns the message that fell out, if any. */
  push(d: Delivery): Delivery | undefined {
    if (this.capacity === 0) {
      this.floor = d.seq;
      return d;
    }
    let evicted: Delivery | undefined;
    if (this.size === this.capacity) {
      evicted = this.items[this.head];
      this.head = (this.head + 1) % this.capacity;
      this.size -= 1;
      if (evicted !== undefined) {
        this.ids.delete(evicted.id);
        this.floor = evicted.seq;
      }
    }
    this.items[(this.head + this.size) % this.capacity] = d;
    this.size += 1;
    this.ids.add(d.id);
    return evicted;
  }

  *all(): Generator<Delivery> {
    for (let i = 0; i < this.size; i += 1) {
      const d = this.items[(this.head + i) % this.capacity];
      if (d !== undefined) yield d;
    }
  }

  newestSeq(): number {
    const d = this.size === 0 ? undefined : this.items[(this.head + this.size - 1) % this.capacity];
    return d?.seq ?? this.floor;
  }
}

interface Subscriber {
  deliver(d: Delivery): void;
  end(reason: CloseReason): void;
  pending(): number;
}

function positiveInt(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new TypeError(`${name} must be an integer ≥ ${min}`);
  return value;
}

/** Creates an in-process hub with bounded history and bounded per-subscription buffers. */
export function createHub(options: HubOptions = {}): Hub {
  const historyPerTopic = positiveInt('historyPerTopic', options.historyPerTopic ?? 200, 0);
  const clientBufferLimit = positiveInt('clientBufferLimit', options.clientBufferLimit ?? 1000, 1);
  const topicLimit = positiveInt('topicLimit', options.topicLimit ?? 10_000, 1);

  const epoch = crypto.randomUUID();
  let sequence = 0;
  let closed = false;
  /** Map order is least recently published first, so the first key is the one to drop. */
  const histories = new Map<string, TopicHistory>();
  /** Highest seq held by a history that was dropped whole: any topic may have lost messages up to it. */
  let droppedUpTo = 0;
  /** Event id → newest seq with that id, and how many histories still hold it (one event may go to many topics). */
  const idIndex = new Map<string, { seq: number; copies: number }>();
  const subscribers = new Map<string, Set<Subscriber>>();
  const everyone = new Set<Subscriber>();

  function forget(d: Delivery): void {
    const entry = idIndex.get(d.id);
    if (entry === undefined) return;
    entry.copies -= 1;
    if (entry.copies <= 0) idIndex.delete(d.id);
  }

  function historyOf(topic: string): TopicHistory {
    let history = histories.get(topic);
    if (history !== undefined) {
      histories.delete(topic); // re-insert: most recently published goes last
    } else {
      history = new TopicHistory(historyPerTopic, droppedUpTo);
    }
    histories.set(topic, history);
    while (histories.size > topicLimit) {
      const [oldestTopic, oldest] = histories.entries().next().value as [string, TopicHistory];
      histories.delete(oldestTopic);
      droppedUpTo = Math.max(droppedUpTo, oldest.newestSeq());
      for (const d of oldest.all()) forget(d);
    }
    return history;
  }

  function publish(topic: string, message: HubMessage): boolean {
    if (typeof topic !== 'string' || topic === '') throw new TypeError('topic must be a non-empty string');
    const { id, event, data } = message;
    if (typeof id !== 'string' || id.length > MAX_ID_LENGTH || !SINGLE_LINE.test(id)) {
      throw new TypeError(`message id must be 1-${MAX_ID_LENGTH} characters without CR, LF or NUL`);
    }
    if (typeof event !== 'string' || !SINGLE_LINE.test(event)) {
      throw new TypeError('message event must be a non-empty string without CR, LF or NUL');
    }
    if (closed) return false;
    const history = historyOf(topic);
    if (history.ids.has(id)) return false;
    sequence += 1;
    const delivery: Delivery = Object.freeze({ topic, seq: sequence, id, event, data });
    const evicted = history.push(delivery);
    if (evicted !== delivery) {
      const entry = idIndex.get(id);
      if (entry === undefined) idIndex.set(id, { seq: delivery.seq, copies: 1 });
      else {
        entry.seq = delivery.seq;
        entry.copies += 1;
      }
    }
    if (evicted !== undefined && evicted !== delivery) forget(evicted);
    for (const subscriber of subscribers.get(topic) ?? []) subscriber.deliver(delivery);
    return true;
  }

  /** Replay for a resume, or undefined when the resume point is unknown or has a gap after it. */
  function replayAfter(topics: readonly string[], lastEventId: string): Delivery[] | undefined {
    const after = idIndex.get(lastEventId)?.seq;
    if (after === undefined) return undefined;
    const replay: Delivery[] = [];
    for (const topic of topics) {
      const history = histories.get(topic);
      if ((history?.floor ?? droppedUpTo) > after) return undefined;
      for (const d of history?.all() ?? []) if (d.seq > after) replay.push(d);
    }
    return replay.sort((a, b) => a.seq - b.seq);
  }

  function subscribe(topicList: readonly string[], resume?: string | SubscribeOptions): Subscription {
    const topics = [...new Set(topicList)];
    if (topics.length === 0) throw new TypeError('subscribe needs at least one topic');
    const options: SubscribeOptions = typeof resume === 'string' ? { lastEventId: resume } : (resume ?? {});
    const { lastEventId, onEnd } = options;
    const otherEpoch = options.epoch !== undefined && options.epoch !== epoch;
    const replayed =
      lastEventId === undefined || closed ? [] : otherEpoch ? undefined : replayAfter(topics, lastEventId);
    const reset = lastEventId !== undefined && replayed === undefined;
    let replay = replayed ?? [];
    let replayAt = 0;
    let live: Delivery[] = [];
    let liveAt = 0;
    let waiters: Array<(r: IteratorResult<Delivery, undefined>) => void> = [];
    let closeReason: CloseReason | undefined;
    const done = (): IteratorResult<Delivery, undefined> => ({ done: true, value: undefined });

    const subscriber: Subscriber = {
      deliver(d) {
        const waiter = waiters.shift();
        if (waiter !== undefined) return waiter({ done: false, value: d });
        if (live.length - liveAt >= clientBufferLimit) return subscriber.end('overflow');
        live.push(d);
      },
      end(reason) {
        if (closeReason !== undefined) return;
        closeReason = reason;
        for (const topic of topics) {
          const set = subscribers.get(topic);
          set?.delete(subscriber);
          if (set?.size === 0) subscribers.delete(topic);
        }
        everyone.delete(subscriber);
        // Drop what was not taken: a closed subscription must not pin memory.
        replay = [];
        live = [];
        for (const waiter of waiters) waiter(done());
        waiters = [];
        onEnd?.(reason);
      },
      pending: () => replay.length - replayAt + live.length - liveAt,
    };

    function take(): Delivery | undefined {
      if (replayAt < replay.length) {
        const d = replay[replayAt];
        replayAt += 1;
        if (replayAt === replay.length) {
          replay = [];
          replayAt = 0;
        }
        return d;
      }
      if (liveAt < live.length) {
        const d = live[liveAt];
        liveAt += 1;
        // Compact now and then instead of shift() on every take (shift is O(n)).
        if (liveAt === live.length) {
          live = [];
          liveAt = 0;
        } else if (liveAt >= 1024) {
          live = live.slice(liveAt);
          liveAt = 0;
        }
        return d;
      }
      return undefined;
    }

    const subscription: Subscription = {
      topics,
      reset,
      get closeReason() {
        return closeReason;
      },
      get pending() {
        return subscriber.pending();
      },
      next() {
        const d = take();
        if (d !== undefined) return Promise.resolve({ done: false, value: d });
        if (closeReason !== undefined) return Promise.resolve(done());
        return new Promise((resolve) => waiters.push(resolve));
      },
      return() {
        subscriber.end('closed');
        return Promise.resolve(done());
      },
      [Symbol.asyncIterator]() {
        return subscription;
      },
      close() {
        subscriber.end('closed');
      },
    };

    if (closed) {
      subscriber.end('hub-closed');
      return subscription;
    }
    for (const topic of topics) {
      const set = subscribers.get(topic) ?? new Set<Subscriber>();
      subscribers.set(topic, set);
      set.add(subscriber);
    }
    everyone.add(subscriber);
    return subscription;
  }

  return {
    epoch,
    publish,
    subscribe,
    stats() {
      let pending = 0;
      for (const s of everyone) pending += s.pending();
      return { topics: histories.size, subscriptions: everyone.size, pending };
    },
    close() {
      closed = true;
      for (const s of [...everyone]) s.end('hub-closed');
    },
  };
}
