/**
 * The region's event projections that serve every domain alike, each driven by what the
 * modules declare:
 * - cache invalidation: a consumer group per region; each event's `changedEntities` (asked of
 *   the module that owns the event type) goes to every module's regional cache; the live feed
 *   does the same first, and a processor that applied a peer's event does it again after, and
 *   purges the edges again (`droppingAppliedPeerChanges`), on every process's hub (the region's
 *   purge channel in Redis, `purgeEchoService`);
 * - the live feed, per process:
 *   - edge purges: the same change as entity tags on the global hub topic `edge.purge`, which
 *     every edge instance follows;
 *   - the hub feed: each module's publications for an event, on topics scoped to the event's
 *     tenant.
 * Both run one consumer per domain that owns the types they read (`byOwner`).
 * Each reads local and mirrored (`<peer>.`) copies: a change made in either region reaches
 * this region's caches, edges and clients. The hub message id is the event id, so a Kafka
 * redelivery is dropped by the hub; the same event arriving through both regions purges the
 * edge twice, once as each region has it (edge/purge/subscriber.ts).
 */
import { DomainError, isDomainError } from '../../domains/shared/errors.ts';
import type { Channel } from '../../infra/adapters/redis-channel.ts';
import {
  type ConsumedMeta,
  createEventConsumer,
  type EventConsumer,
  ephemeralGroupId,
  withMirrored,
} from '../../infra/events/consumer.ts';
import type { Envelope } from '../../infra/events/envelope.ts';
import { writerGroupId } from '../../infra/events/groups.ts';
import { withTelemetry } from '../../infra/telemetry/context.ts';
import type { Hub, HubMessage } from '../hub/hub.ts';
import { type GlobalTopic, globalTopicKey, tenantTopicKey } from '../hub/topics.ts';
import type { RegionDependencies } from './dependencies.ts';
import type { DomainModule, DomainParts, EntityChange, Processor, ProcessorMeta } from './domain-module.ts';
import type { Service } from './services.ts';
import type { WriterFence } from './writer-fence.ts';

/** The global hub topic every edge instance follows for cache purges. */
export const PURGE_TOPIC = 'edge.purge';
/** The scope a token needs to follow PURGE_TOPIC: edge instances hold it, clients do not. */
export const PURGE_SCOPE = 'edge:purge';
/** The global hub topics the host serves. */
export const GLOBAL_TOPICS: readonly GlobalTopic[] = [{ topic: PURGE_TOPIC, scope: PURGE_SCOPE }];

/** The `data` of a purge message on PURGE_TOPIC. */
export interface PurgeMessageData {
  readonly tags: readonly string[];
  /** true: mark stale (serve while revalidating); false: drop now. */
  readonly soft: boolean;
  /** The CloudEvents source of the event that caused the purge, e.g. `/regions/east/<domain>`. */
  readonly source: string;
  readonly type: string;
  readonly time: string;
}

/** A module with the parts its setup built. */
export interface ComposedDomain {
  readonly module: DomainModule<unknown>;
  readonly parts: DomainParts<unknown>;
}

/** What an event changed, asked of the module that owns its type; undefined when nothing cached changed. */
export function changeOf(domains: readonly ComposedDomain[], event: Envelope): EntityChange | undefined {
  const owner = domains.find((d) => d.module.events.includes(event.type));
  const change = owner?.module.changedEntities?.(event);
  return change && change.entities.length > 0 ? change : undefined;
}

/** Drops what `change` changed from every module's regional cache. */
async function dropFromCaches(domains: readonly ComposedDomain[], change: EntityChange): Promise<void> {
  await Promise.all(domains.map((d) => d.parts.cache?.invalidate(change)));
}

/** Entity tags as the edge tags cached data (`<__typename>:<id>`), each once. */
export function purgeTags(change: EntityChange): string[] {
  return [...new Set(change.entities.map((e) => `${e.type}:${e.id}`))];
}

/**
 * Publishes the event's purge on PURGE_TOPIC, under the event's id unless told another; false when
 * it purges nothing or the hub already had that id.
 */
export function publishPurge(
  hub: Pick<Hub, 'publish'>,
  domains: readonly ComposedDomain[],
  event: Envelope,
  id = event.id,
): boolean {
  const change = changeOf(domains, event);
  return change !== undefined && publishChangePurge(hub, event, change, id);
}

/** Publishes `change` (what `event` changed) as a purge on PURGE_TOPIC under `id`; false when the hub had that id. */
function publishChangePurge(hub: Pick<Hub, 'publish'>, event: Envelope, change: EntityChange, id: string): boolean {
  const data: PurgeMessageData = {
    tags: purgeTags(change),
    soft: change.soft,
    source: event.source,
    type: event.type,
    time: event.time,
  };
  return hub.publish(globalTopicKey(PURGE_TOPIC), { id, event: 'purge', data });
}

/** Publishes the event's hub messages, each on its topic in the event's tenant; returns how many were new. */
export function publishToHub(hub: Pick<Hub, 'publish'>, domains: readonly ComposedDomain[], event: Envelope): number {
  const feeding = domains.filter(({ parts }) => parts.hubFeed?.topics.includes(event.type));
  if (feeding.length === 0) return 0;
  // The push to live clients is the last hop of the event's trace.
  return withTelemetry(
    { traceparent: event.traceparent },
    () => {
      let published = 0;
      for (const { parts } of feeding) {
        for (const p of parts.hubFeed?.publications(event) ?? []) {
          if (hub.publish(tenantTopicKey(event.tenant, p.topic), p.message)) published++;
        }
      }
      return published;
    },
    {
      name: `publish hub ${event.type}`,
      kind: 'producer',
      attributes: { 'messaging.system': 'meridian-hub', 'messaging.operation.type': 'send' },
    },
  );
}

/** Every event type some module can say a change for. */
export function changingTypes(domains: readonly Pick<ComposedDomain, 'module'>[]): string[] {
  return domains.filter((d) => d.module.changedEntities).flatMap((d) => d.module.changingEvents ?? d.module.events);
}

interface FeedContext {
  readonly region: string;
  readonly peer: string;
  readonly deps: RegionDependencies;
  readonly domains: readonly ComposedDomain[];
  readonly log: (line: string) => void;
  /** What every consumer waits for (migrations, topics…): all consumers then join their groups at once. */
  readonly needs: readonly string[];
  /** This process's hub: the live feed publishes on it, and processors purge the edges of a peer's change they applied. */
  readonly hub: Pick<Hub, 'publish'>;
  /** The region's purge channel (`purgeChannelName`): purges one process makes reach every process's hub. */
  readonly purges: Pick<Channel, 'publish' | 'follow'>;
}

/** A service that runs one event consumer. */
export interface ConsumerService extends Service {
  readonly consumer: EventConsumer;
}

/** A consumer as a service, stopped with the consumer. */
export function consumerService(name: string, needs: readonly string[], consumer: EventConsumer): ConsumerService {
  return {
    name,
    needs,
    consumer,
    start: () => consumer.start(),
    stop: () => consumer.stop(),
    check: async () => {
      const { handled, retries, deadLettered } = consumer.stats;
      return `handled ${handled}, retried ${retries}, dead-lettered ${deadLettered}`;
    },
  };
}

/** The consumer a service runs, if it is a consumer service. */
export function consumerOf(service: Service): EventConsumer | undefined {
  return (service as Partial<ConsumerService>).consumer;
}

function onError(ctx: FeedContext, role: string) {
  return (err: unknown, meta: { topic: string; offset: string }) =>
    ctx.log(`${role} ${ctx.region}: ${meta.topic}@${meta.offset}: ${(err as Error)?.message ?? err}`);
}

function onCrash(ctx: FeedContext, role: string) {
  return (err: Error, restarting: boolean) =>
    ctx.log(
      `${role} ${ctx.region}: consumer crashed, ${restarting ? 'kafkajs restarts it' : 'starting a new one'}: ${err.message}`,
    );
}

/**
 * Event types grouped by the module that owns them, each type once, groups in the order their
 * first type comes (a type no module owns is a group of its own). Each group is one consumer: a
 * fetch in kafkajs costs in proportion to the partitions it asks for and every event wakes the
 * consumer that reads it, so a consumer per owner is woken only by that domain's events and asks
 * for that domain's partitions, and a burst in one domain (a flood of device readings) does not
 * queue another's events behind it.
 */
export function byOwner(
  domains: readonly Pick<ComposedDomain, 'module'>[],
  types: readonly string[],
): { owner: string; types: string[] }[] {
  const groups = new Map<string, string[]>();
  for (const type of new Set(types)) {
    const owner = domains.find((d) => d.module.events.includes(type))?.module.name ?? type;
    groups.set(owner, [...(groups.get(owner) ?? []), type]);
  }
  return [...groups].map(([owner, types]) => ({ owner, types }));
}

/**
 * The region's cache invalidation, one consumer group per region and owning domain
 * (`<domain>-cache-invalidator-<region>`, service `<domain>.cache-invalidator`): each event once
 * per region, its change (asked of the module that owns it) to every module's cache.
 */
export function cacheInvalidatorServices(ctx: FeedContext): ConsumerService[] {
  if (!ctx.domains.some((d) => d.parts.cache)) return [];
  return byOwner(ctx.domains, changingTypes(ctx.domains)).map(({ owner, types }) => {
    const consumer = createEventConsumer({
      kafka: ctx.deps.kafka,
      groupId: `${owner}-cache-invalidator-${ctx.region}`,
      topics: withMirrored(types, ctx.peer),
      fromBeginning: false,
      // Each event as it arrives (no `gatherMs`): the live feed drops the same entries first (see
      // liveFeed), but only from when its process started; this covers what it missed, promptly.
      handle: async (event) => {
        const change = changeOf(ctx.domains, event);
        if (change) await dropFromCaches(ctx.domains, change);
      },
      onError: onError(ctx, `${owner}.cache-invalidator`),
      onCrash: onCrash(ctx, `${owner}.cache-invalidator`),
    });
    return consumerService(`${owner}.cache-invalidator`, ctx.needs, consumer);
  });
}

/**
 * This process's live feeds onto the hub, one per owning domain (service `<domain>.live-feed`):
 * the edge purges (every event some module says a change for, on PURGE_TOPIC) and every
 * module's publications (the events it projects) from one consumer, each after the region's
 * caches dropped what the event changed. They are per-process and commit nothing. One failing
 * does not keep the event from the other.
 */
export function liveFeedServices(ctx: FeedContext): ConsumerService[] {
  const feed = liveFeed(ctx.domains, ctx.hub);
  return byOwner(ctx.domains, feed.types).map(({ owner, types }) => {
    const consumer = createEventConsumer({
      kafka: ctx.deps.kafka,
      groupId: ephemeralGroupId(`live-${ctx.region}-${owner}`),
      ephemeral: true,
      topics: withMirrored(types, ctx.peer),
      handle: async (event) => feed.handle(event),
      onError: onError(ctx, `${owner}.live-feed`),
      onCrash: onCrash(ctx, `${owner}.live-feed`),
    });
    return consumerService(`${owner}.live-feed`, ctx.needs, consumer);
  });
}

/**
 * The live feed's event types (mirrored copies aside) and what it does with one event: first the
 * region's caches drop what it changed, then the edges are told to purge it and clients hear of
 * it. Whoever hears reads again through this region at once, and the region's cache invalidator
 * (a consumer group of its own) may not have taken the event yet: the edge fetched the old value
 * back through the region's cache and kept it until it expired. The invalidator stays, for the
 * events a live feed never sees (it reads from "now", and only while its process runs).
 */
export function liveFeed(
  domains: readonly ComposedDomain[],
  hub: Pick<Hub, 'publish'>,
): { types: string[]; handle(event: Envelope): Promise<void> } {
  const purging = new Set(changingTypes(domains));
  const feeding = new Set(domains.flatMap((d) => d.parts.hubFeed?.topics ?? []));
  return {
    types: [...new Set([...purging, ...feeding])],
    async handle(event) {
      const failures: unknown[] = [];
      const attempt = (publish: () => unknown) => {
        try {
          publish();
        } catch (err) {
          failures.push(err);
        }
      };
      const change = purging.has(event.type) ? changeOf(domains, event) : undefined;
      if (change) {
        // A failure is reported after the publications (the event is then handled again; the hub
        // drops what it already had by id): the edge and clients hear of the change either way.
        await dropFromCaches(domains, change).catch((err: unknown) => failures.push(err));
      }
      if (change) attempt(() => publishChangePurge(hub, event, change, event.id));
      if (feeding.has(event.type)) attempt(() => publishToHub(hub, domains, event));
      if (failures.length > 0) throw failures[0];
    },
  };
}

/** The topics a processor reads, with where each comes from. */
export function processorTopics(p: Pick<Processor, 'topics' | 'mirrored'>, peer: string): string[] {
  const mirrored = p.topics.map((t) => `${peer}.${t}`);
  if (p.mirrored === 'only') return mirrored;
  return p.mirrored ? [...p.topics, ...mirrored] : [...p.topics];
}

function processorConsumer(
  ctx: FeedContext,
  module: DomainModule<unknown>,
  p: Processor,
  group: string,
  topics: readonly string[],
): EventConsumer {
  const fromPeer = topics.some((t) => t.startsWith(`${ctx.peer}.`));
  const handle = fromPeer ? droppingAppliedPeerChanges(ctx.domains, p.handle, regionWidePurges(ctx)) : p.handle;
  const handleBatch =
    p.handleBatch && fromPeer
      ? droppingAppliedPeerChangesOfRuns(ctx.domains, p.handleBatch.bind(p), regionWidePurges(ctx))
      : p.handleBatch?.bind(p);
  const metaOf = (meta: ConsumedMeta): ProcessorMeta => ({
    topic: meta.topic,
    origin: meta.topic.startsWith(`${ctx.peer}.`) ? 'peer' : 'local',
  });
  return createEventConsumer({
    kafka: ctx.deps.kafka,
    groupId: group,
    topics,
    fromBeginning: p.fromBeginning ?? true,
    ...(p.partitionsConcurrently ? { partitionsConcurrently: p.partitionsConcurrently } : {}),
    ...(p.unorderedConcurrency ? { unorderedConcurrency: p.unorderedConcurrency } : {}),
    ...(p.gatherMs ? { gatherMs: p.gatherMs } : {}),
    handle: (event, meta) => handle(event, metaOf(meta)),
    ...(handleBatch ? { handleBatch: (events, metas) => handleBatch(events, metas.map(metaOf)) } : {}),
    onError: onError(ctx, `${module.name}.${p.name}`),
    onCrash: onCrash(ctx, `${module.name}.${p.name}`),
  });
}

/** The Redis channel on which a region's processes pass edge purges to each other's hubs. */
export function purgeChannelName(region: string): string {
  return `meridian:${region}:edge-purge`;
}

/**
 * Where a purge made by one process goes: on this process's hub, and on the region's purge channel
 * for every other process's hub (`purgeEchoService`). A processor's partition is read by one
 * process of the region, and an edge follows one hub per region, often another process's. (The
 * live feed needs none of this: every process runs one.) Only PURGE_TOPIC's messages travel.
 */
export function regionWidePurges(ctx: Pick<FeedContext, 'hub' | 'purges' | 'log' | 'region'>): Pick<Hub, 'publish'> {
  const purgeKey = globalTopicKey(PURGE_TOPIC);
  return {
    publish(topic, message) {
      const fresh = ctx.hub.publish(topic, message);
      if (topic === purgeKey) {
        ctx.purges
          .publish(JSON.stringify(message))
          .catch((err: unknown) =>
            ctx.log(`purge channel ${ctx.region}: ${message.id} not passed on: ${(err as Error)?.message ?? err}`),
          );
      }
      return fresh;
    },
  };
}

/** A purge message as passed on the purge channel, or undefined when the text is not one. */
export function parsePurgeMessage(text: string): HubMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const m = value as Partial<HubMessage> | null;
  const data = m?.data as Partial<PurgeMessageData> | undefined;
  const singleLine = (s: unknown): s is string =>
    typeof s === 'string' && s.length > 0 && s.length <= 512 && !/[\r\n]/.test(s);
  if (!singleLine(m?.id) || m?.event !== 'purge' || typeof data !== 'object' || data === null) return undefined;
  if (!Array.isArray(data.tags) || !data.tags.every((t) => typeof t === 'string')) return undefined;
  return { id: m.id, event: 'purge', data };
}

/**
 * Per process (service `edge-purge-echo`): the purges any process of the region passed on the
 * purge channel go on this process's hub, where the edges following it hear them. The hub drops
 * one it already had by id (this process's own, or a repeat). Redis keeps nothing for a process
 * not following at the time; a purge missed so costs at most the edge entry's lifetime.
 */
export function purgeEchoService(ctx: FeedContext, retryMs = 2000): Service {
  const purgeKey = globalTopicKey(PURGE_TOPIC);
  let following: { stop(): Promise<void> } | undefined;
  let failure: unknown;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  const follow = async (): Promise<void> => {
    try {
      const f = await ctx.purges.follow((text) => {
        const message = parsePurgeMessage(text);
        if (message) ctx.hub.publish(purgeKey, message);
        else ctx.log(`purge channel ${ctx.region}: dropped a message that is not a purge: ${text.slice(0, 200)}`);
      });
      if (stopped) await f.stop();
      else [following, failure] = [f, undefined];
    } catch (err) {
      failure = err;
      if (stopped) return;
      ctx.log(`purge channel ${ctx.region}: not following, trying again: ${(err as Error)?.message ?? err}`);
      retry = setTimeout(() => void follow(), retryMs);
    }
  };
  return {
    name: 'edge-purge-echo',
    needs: ctx.needs,
    // A region starts without Redis (and says so in /ready): this keeps trying meanwhile.
    start: follow,
    async stop() {
      stopped = true;
      clearTimeout(retry);
      await following?.stop();
    },
    async check() {
      if (!following) throw new Error(`not following the purge channel: ${(failure as Error)?.message ?? failure}`);
      return 'following';
    },
  };
}

/**
 * A single-writer processor's handler, where finding that the writer moved (WRITER_MOVED, from the
 * fence inside the handler's transaction) is retryable: the event is the writer's to handle, so it
 * must not be dead-lettered and committed here — the new writer's takeover of this region's group
 * starts from the offsets this group committed, and would never see it. Retried, it waits until
 * this region notices the move and stops its consumers, which leaves the offset uncommitted; or
 * until the lease comes back.
 */
export function leavingMovedWritesToTheWriter<A extends unknown[]>(
  handle: (...args: A) => Promise<void>,
): (...args: A) => Promise<void> {
  return async (...args) => {
    try {
      await handle(...args);
    } catch (err) {
      if (isDomainError(err, 'WRITER_MOVED') && !err.retryable) {
        throw new DomainError('WRITER_MOVED', err.message, {
          retryable: true,
          cause: err,
          details: { ...err.details },
        });
      }
      throw err;
    }
  };
}

/** The id of the purge a region publishes once it applied a peer's event (the live feed's has the event's id). */
export function appliedPurgeId(eventId: string): string {
  return `${eventId}.applied`;
}

/**
 * A processor's handler that, once it has handled the peer's copy of an event, drops what the
 * event changed from this region's caches again and tells the edges to purge it again (on `hub`,
 * under `appliedPurgeId`). A peer's change is in this region's data only once a processor applied
 * it (the standby copies); the live feed and the cache invalidator read the same mirrored event in
 * groups of their own and may act before that, and a read in between put the old value back in
 * the region's cache and the edge's, where it stayed until it expired. The host passes
 * `regionWidePurges` as `hub`: the edges follow any one of the region's hubs.
 */
export function droppingAppliedPeerChanges(
  domains: readonly ComposedDomain[],
  handle: Processor['handle'],
  hub?: Pick<Hub, 'publish'>,
): Processor['handle'] {
  const after = afterAppliedPeerChange(domains, hub);
  if (!after) return handle;
  return async (event, meta) => {
    await handle(event, meta);
    await after(event, meta);
  };
}

/** droppingAppliedPeerChanges for a processor's `handleBatch`: each event of the run, once the run is handled. */
export function droppingAppliedPeerChangesOfRuns(
  domains: readonly ComposedDomain[],
  handleBatch: NonNullable<Processor['handleBatch']>,
  hub?: Pick<Hub, 'publish'>,
): NonNullable<Processor['handleBatch']> {
  const after = afterAppliedPeerChange(domains, hub);
  if (!after) return handleBatch;
  return async (events, metas) => {
    await handleBatch(events, metas);
    for (let i = 0; i < events.length; i++) await after(events[i] as Envelope, metas[i] as ProcessorMeta);
  };
}

/** What droppingAppliedPeerChanges does after a peer's event was handled; undefined when there is nothing to do. */
function afterAppliedPeerChange(
  domains: readonly ComposedDomain[],
  hub?: Pick<Hub, 'publish'>,
): ((event: Envelope, meta: ProcessorMeta) => Promise<void>) | undefined {
  if (!hub && !domains.some((d) => d.parts.cache)) return undefined;
  return async (event, meta) => {
    if (meta.origin !== 'peer') return;
    const change = changeOf(domains, event);
    if (!change) return;
    await dropFromCaches(domains, change);
    if (hub) publishChangePurge(hub, event, change, appliedPurgeId(event.id));
  };
}

/**
 * A processor that writes a single-writer aggregate: consumers that run only while this region
 * holds the lease — its own group on the local topics, and the peer's group on the peer's
 * mirrored topics (taking over what the peer left; MirrorMaker 2 syncs the peer group's
 * translated offsets here while that group is empty, i.e. while we are not the writer).
 */
function gatedProcessorService(
  ctx: FeedContext,
  module: DomainModule<unknown>,
  p: Processor,
  needs: readonly string[],
  writers: WriterFence,
): ConsumerService {
  const aggregate = p.writes as string;
  const writerOnly: Processor = {
    ...p,
    handle: leavingMovedWritesToTheWriter(p.handle.bind(p)),
    ...(p.handleBatch ? { handleBatch: leavingMovedWritesToTheWriter(p.handleBatch.bind(p)) } : {}),
  };
  const consumers = () => [
    processorConsumer(ctx, module, writerOnly, writerGroupId(module.name, p.name, ctx.region), p.topics),
    processorConsumer(
      ctx,
      module,
      writerOnly,
      writerGroupId(module.name, p.name, ctx.peer),
      p.topics.map((t) => `${ctx.peer}.${t}`),
    ),
  ];
  // A stopped consumer is not restarted: each time this region becomes the writer gets fresh ones.
  let running: EventConsumer[] = [];
  const total = { handled: 0, deadLettered: 0, retries: 0, batches: 0 };
  const stats = {
    get handled() {
      return total.handled + running.reduce((n, c) => n + c.stats.handled, 0);
    },
    get deadLettered() {
      return total.deadLettered + running.reduce((n, c) => n + c.stats.deadLettered, 0);
    },
    get retries() {
      return total.retries + running.reduce((n, c) => n + c.stats.retries, 0);
    },
    get batches() {
      return total.batches + running.reduce((n, c) => n + c.stats.batches, 0);
    },
  };
  let stopped = false;
  let change: Promise<void> = Promise.resolve();
  const isWriter = () => writers.leases().find((l) => l.aggregate === aggregate)?.writer === ctx.region;
  const apply = () => {
    change = change.then(async () => {
      const want = !stopped && isWriter();
      if (want === running.length > 0) return;
      ctx.log(
        `${module.name}.${p.name} ${ctx.region}: ${want ? 'writer: running, taking over the peer' : 'not the writer: paused'}`,
      );
      if (want) {
        running = consumers();
        await Promise.all(running.map((c) => c.start()));
      } else {
        const done = running;
        running = [];
        await Promise.all(done.map((c) => c.stop()));
        for (const c of done) {
          total.handled += c.stats.handled;
          total.deadLettered += c.stats.deadLettered;
          total.retries += c.stats.retries;
          total.batches += c.stats.batches;
        }
      }
    });
    return change;
  };
  const gated: EventConsumer = { start: apply, stop: apply, stats };
  return {
    name: `${module.name}.${p.name}`,
    needs: [...needs, 'writer-fence'],
    consumer: gated,
    async start() {
      writers.onChange((lease) => {
        if (lease.aggregate === aggregate) void apply();
      });
      await apply();
    },
    async stop() {
      stopped = true;
      await apply();
    },
    check: async () =>
      running.length > 0
        ? `writer: running on own and peer topics, handled ${stats.handled}`
        : 'paused: not the writer',
  };
}

/** One module's processors, each in its region-wide consumer group. */
export function processorServices(
  ctx: FeedContext,
  domain: ComposedDomain,
  writers: WriterFence | undefined,
): ConsumerService[] {
  const { module, parts } = domain;
  return (parts.processors ?? []).map((p) => {
    const needs = [...ctx.needs, ...(p.needs ?? [])];
    if (p.writes !== undefined) {
      if (!writers)
        throw new Error(`${module.name}.${p.name} writes ${p.writes}, which no module declares single-writer`);
      return gatedProcessorService(ctx, module, p, needs, writers);
    }
    const group = `${module.name}-${p.name}-${ctx.region}`;
    return consumerService(
      `${module.name}.${p.name}`,
      needs,
      processorConsumer(ctx, module, p, group, processorTopics(p, ctx.peer)),
    );
  });
}
