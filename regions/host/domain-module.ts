/**
 * The domain module contract: one typed description per domain that the region host
 * composes. A module says what the domain brings (its subgraph, migrations, events, what each
 * event changed, hub topics, GraphQL subscription fields, processors, gRPC services, its own services); the host owns the
 * machinery that runs them once per region process for every module alike (migrations
 * runner, topic creation, one outbox relay, consumer groups with dead-letter topics, the hub
 * and its transports, cache invalidation, the edge purge feed, the service manager, /ready).
 *
 * Adding a domain: its own folders (domains/<d>, subgraphs/<d>, regions/<d>, infra/<d>,
 * schemas/events/<d>, schemas/subgraphs/<d>.graphql) and one line in regions/domains.ts.
 */
import type * as grpc from '@grpc/grpc-js';
import type { GraphQLSchema } from 'graphql';
import type { Registry } from '../../edge/metrics/metrics.ts';
import type { Envelope } from '../../infra/events/envelope.ts';
import type { DocumentOutboxSource } from '../../infra/outbox/document-outbox.ts';
import type { MigrationSet } from '../../infra/postgres/migrate.ts';
import type { RegionConfig } from '../config.ts';
import type { Verify } from '../graphql/graphql-app.ts';
import type { HubMessage } from '../hub/hub.ts';
import type { SubscriptionPart } from '../hub/subscriptions.ts';
import type { HubTopic } from '../hub/topics.ts';
import type { RegionDependencies } from './dependencies.ts';
import type { Service } from './services.ts';
import type { AggregateFence } from './writer-fence.ts';

export type { DocumentOutboxSource, OutboxSink } from '../../infra/outbox/document-outbox.ts';
export type {
  FieldArgs,
  FieldDelivery,
  SocketMutation,
  SubscriptionField,
  SubscriptionPart,
} from '../hub/subscriptions.ts';
export type { HubTopic } from '../hub/topics.ts';
export type { Service } from './services.ts';
export type { AggregateFence, WriterLease } from './writer-fence.ts';

/** One entity an event changed, as the edge tags cached data: `<__typename>:<id>`. */
export interface EntityRef {
  readonly type: string;
  readonly id: string;
}

/** What an event changed: feeds both the region's cache invalidation and the edge's purge. */
export interface EntityChange {
  readonly entities: readonly EntityRef[];
  /**
   * true: a moment of staleness is harmless (the edge may serve stale while it refetches);
   * false: cached copies must go now (a client who saw the new state must not see the old).
   */
  readonly soft: boolean;
}

/** Where an event a processor handles was written: this region, or the peer (a mirrored copy). */
export interface ProcessorMeta {
  readonly topic: string;
  readonly origin: 'local' | 'peer';
}

/** A consumer of the domain's (or another domain's) events, run in a consumer group per region. */
export interface Processor {
  /** Names the group: `<domain>-<name>-<region>`; every process of the region shares it. */
  readonly name: string;
  /** Event types (local topic names). */
  readonly topics: readonly string[];
  /**
   * Also (true) or only ('only') the peer region's copies (`<peer>.<topic>`) that MirrorMaker 2
   * writes here; a projection of both regions' events uses true, a standby copy of the peer's 'only'.
   */
  readonly mirrored?: boolean | 'only';
  /**
   * The single-writer aggregate this processor writes (e.g. `orders`): it runs only while this
   * region holds that aggregate's writer lease, and then also takes over the peer's work — the
   * peer's topic copy under the peer's group id, from the offsets MirrorMaker 2 translated
   * (they round down: the handler must absorb duplicates). It pauses when the lease moves away.
   */
  readonly writes?: string;
  /** A new group starts at the beginning (true, default) or at the end. */
  readonly fromBeginning?: boolean;
  /** Services that must be running before this processor starts (e.g. a provider it calls). */
  readonly needs?: readonly string[];
  /**
   * Partitions handled at once by each process (default 1): more overlaps the I/O of independent
   * aggregates' events; one aggregate's events stay in order (one partition).
   */
  readonly partitionsConcurrently?: number;
  /**
   * Events of one partition handled at once, in no particular order (default 1: in order). Only
   * for processors whose events do not depend on each other's order.
   */
  readonly unorderedConcurrency?: number;
  /**
   * Off the hot path (fan-outs, projections nobody waits on): each fetch lets events gather for up
   * to this long, so a burst costs one wake-up and one offset commit instead of one per event.
   * Unset (the default): an event is taken as soon as it arrives.
   */
  readonly gatherMs?: number;
  /**
   * Handles one event at least once; must be idempotent (by event id). Dead-letter policy:
   * a DomainError with `retryable` is retried with backoff while the partition waits; any
   * other error sends the record to `<topic>.dlq` with the reason and the partition moves on.
   */
  handle(event: Envelope, meta: ProcessorMeta): Promise<void>;
  /**
   * Optional, for throughput (a projection of a busy topic): handles consecutive events of one
   * partition in one call (one transaction, say), in order; idempotent per event like `handle`. A
   * retryable DomainError retries the run; any other error makes the host hand the run to `handle`
   * event by event (a poison event is then dead-lettered alone).
   */
  handleBatch?(events: readonly Envelope[], metas: readonly ProcessorMeta[]): Promise<void>;
}

/** A message for the hub, on a tenant-relative topic (the host scopes it to the event's tenant). */
export interface HubPublication {
  readonly topic: string;
  readonly message: HubMessage;
}

/** A projection of events onto hub topics. */
export interface HubFeed {
  /** Event types it projects; local and mirrored copies alike. */
  readonly topics: readonly string[];
  publications(event: Envelope): readonly HubPublication[];
}

/** A gRPC service the region's gRPC server hosts. */
export interface GrpcService {
  readonly definition: grpc.ServiceDefinition;
  readonly implementation: grpc.UntypedServiceImplementation;
}

/**
 * An event type a domain offers to subscribers outside the platform (webhook endpoints), and
 * what they see of it. The owner decides: a subscriber must never receive what should stay
 * inside (a payment token, another user's data).
 */
export interface ExternalEvent {
  /** An event type of the declaring module. */
  readonly type: string;
  /** The `data` external subscribers receive; the event's data as is when absent. */
  data?(event: Envelope): Record<string, unknown>;
}

/** The region's caches of this domain's data, dropped by what events changed. */
export interface RegionalCache {
  invalidate(change: EntityChange): Promise<void>;
}

/** What a module's setup hands the host: built, not started. */
export interface DomainParts<Handle = undefined> {
  /** The subgraph schema; the host serves it on the module's `subgraph` port and puts it behind the gateway. */
  readonly subgraph?: GraphQLSchema;
  readonly processors?: readonly Processor[];
  readonly hubTopics?: readonly HubTopic[];
  readonly hubFeed?: HubFeed;
  /**
   * GraphQL subscription fields (and socket mutations) the hub serves over WebSocket
   * (graphql-transport-ws) and SSE (graphql-sse): SDL plus, per field, the hub topics its
   * arguments follow (authorized by `hubTopics`) and its value per delivery.
   */
  readonly subscriptions?: SubscriptionPart;
  readonly grpc?: readonly GrpcService[];
  readonly cache?: RegionalCache;
  /** Document collections whose pending events the host moves to the outbox. */
  readonly documentOutboxes?: readonly DocumentOutboxSource[];
  /** The domain's own long-running services (a stand-in provider, a bridge…), started in dependency order. */
  readonly services?: readonly Service[];
  /** What the domain exposes to tests and ops through `RunningRegion.domain(module)`. */
  readonly handle?: Handle;
}

/** What the host gives a module's setup. */
export interface DomainContext {
  readonly config: RegionConfig;
  readonly deps: RegionDependencies;
  readonly verify: Verify;
  readonly log: (line: string) => void;
  /** The port this module's `ports` entry resolved to (env override, or 0 in tests). */
  port(name: string): number;
  /** The region setting MERIDIAN_<REGION>_<MODULE>_<NAME> (e.g. COMMERCE_PAYMENT_PROVIDER_URL), if set. */
  setting(name: string): string | undefined;
  /** The region gRPC server's address, once the `grpc` service is running. */
  grpcAddress(): string;
  /** NODE_ENV=production: development conveniences are off. */
  readonly production: boolean;
  /** The writer fence of one of this module's `singleWriter` aggregates. */
  fence(aggregate: string): AggregateFence;
  /** Every module's `externalEvents` in this region (for a module that delivers them outside). */
  readonly externalEvents: readonly ExternalEvent[];
  /**
   * The region process's Prometheus registry (served at /metrics): the module declares its own
   * metrics here, named `meridian_<domain>_…` (or a shared family through its hook, e.g. bridges).
   */
  readonly metrics: Registry;
}

/** One domain, as the region host composes it. */
export interface DomainModule<Handle = undefined> {
  /** The domain's name: prefixes its event types, names its consumer groups, subgraph and services. */
  readonly name: string;
  /** Event types it publishes; each has a JSON Schema under schemas/events/<name>/. */
  readonly events: readonly string[];
  /** Its PostgreSQL migrations, applied after the platform's. */
  readonly migrations?: MigrationSet;
  /**
   * Its internal ports, as offsets in the region's block (east 41xxx, west 42xxx), e.g.
   * `{ subgraph: 11 }` → 41011; overridden by MERIDIAN_<REGION>_<NAME>_<PORT>_PORT.
   */
  readonly ports?: Readonly<Record<string, number>>;
  /**
   * Aggregates with one writer region at a time (e.g. `orders`): the host keeps their writer
   * lease (regions/host/writer-fence.ts) and the module asks `ctx.fence(name)` before writing.
   */
  readonly singleWriter?: readonly string[];
  /**
   * Its event types offered to subscribers outside the platform (webhook endpoints), each with
   * what they may see. Data other modules read through `DomainContext.externalEvents`.
   */
  readonly externalEvents?: readonly ExternalEvent[];
  /** Per-field query costs at the gateway, `Type.field` → cost (default 1). */
  readonly fieldCosts?: Readonly<Record<string, number>>;
  /** Which entities an event changed; undefined (or no entities) when it changes nothing cached. */
  changedEntities?(event: Envelope): EntityChange | undefined;
  /**
   * The event types `changedEntities` can say a change for (default: all of `events`). The
   * region's cache invalidation and edge purges read only these topics: a type left out (the
   * bulk of the traffic, such as readings) costs them nothing.
   */
  readonly changingEvents?: readonly string[];
  /** Builds the domain's parts for one region. */
  setup(ctx: DomainContext): Promise<DomainParts<Handle>>;
}
