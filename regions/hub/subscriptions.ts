/**
 * The hub's GraphQL schema for live updates, composed from what every domain module adds
 * (`parts.subscriptions`), and the way its operations run over any transport (WebSocket with
 * `graphql-transport-ws`, SSE with `graphql-sse`).
 *
 * A module adds SDL (`extend type Subscription { … }`, optionally `extend type Mutation { … }`,
 * and the types they return) and, per field, how the arguments and the caller map to hub
 * topics and how a hub delivery maps to the field's value. The hub does the rest alike for
 * every field: it authorizes each topic through the same resolver as SSE (the modules'
 * `hubTopics`, in the caller's tenant), subscribes with resume, and stamps each result with
 * the delivery's id and the hub's epoch in `extensions.hub`, so a client can resume.
 *
 * Resume (not part of graphql-transport-ws, carried in its extensions): a subscribe payload
 * with `extensions: { hub: { lastEventId, epoch } }` replays what the client missed within the
 * history window; when that is impossible (restarted hub, unknown id, a gap) the first result
 * is `{ extensions: { hub: { reset: true, epoch } } }` with no data — refetch, then follow live.
 */
import {
  buildASTSchema,
  createSourceEventStream,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  execute,
  GraphQLError,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLSchema,
  Kind,
  MaxIntrospectionDepthRule,
  NoSchemaIntrospectionCustomRule,
  type OperationDefinitionNode,
  parse,
  specifiedRules,
  validate,
} from 'graphql';
import type { Actor } from '../../domains/shared/actor.ts';
import { DomainError } from '../../domains/shared/errors.ts';
import { GRAPHQL_LIMITS } from '../../edge/graphql/limits.ts';
import { currentTelemetry } from '../../infra/telemetry/context.ts';
import { formatGraphQLError } from '../../subgraphs/shared/errors.ts';
import type { CloseReason, Delivery, Hub, Subscription } from './hub.ts';
import type { TopicResolver } from './topics.ts';

/** Field arguments as GraphQL coerced them. */
export type FieldArgs = Readonly<Record<string, unknown>>;

/** A hub message as a subscription field sees it: its topic as the client names it (no tenant). */
export interface FieldDelivery {
  readonly topic: string;
  readonly id: string;
  readonly event: string;
  readonly data: unknown;
}

/** One `Subscription` field: the hub topics it follows, and its value per delivery. */
export interface SubscriptionField {
  /**
   * The hub topics (as clients name them, without tenant) these arguments follow. Throw a
   * DomainError (BAD_USER_INPUT) for bad arguments. The hub authorizes every topic with the
   * modules' `hubTopics` in the caller's tenant, as SSE does: one the caller may not follow
   * (or that does not exist) fails the subscription with FORBIDDEN.
   */
  topics(args: FieldArgs, actor: Actor): readonly string[];
  /** The field's value for one delivery; undefined skips the delivery (an event the field does not show). */
  payload(delivery: FieldDelivery, args: FieldArgs, actor: Actor): unknown;
}

/** One `Mutation` field a client may send over the same connection (e.g. posting a message). */
export type SocketMutation = (args: FieldArgs, actor: Actor) => Promise<unknown>;

/** What a module adds to the hub's GraphQL schema (`DomainParts.subscriptions`). */
export interface SubscriptionPart {
  /**
   * SDL: `extend type Subscription { … }`, optionally `extend type Mutation { … }`, and the
   * object, enum and input types those fields use. Type names are shared by all modules: prefix
   * them with the domain where they could clash. The base schema has `User { id }`,
   * `HubEvent`, `scalar JSON` and `Query.hubEpoch`.
   */
  readonly typeDefs: string;
  /** A resolver for each Subscription field the SDL adds (no more, no fewer). */
  readonly subscriptions: Readonly<Record<string, SubscriptionField>>;
  /** A resolver for each Mutation field the SDL adds. */
  readonly mutations?: Readonly<Record<string, SocketMutation>>;
}

/** A module's part under its name (for error messages). */
export interface NamedSubscriptionPart {
  readonly name: string;
  readonly part: SubscriptionPart;
}

/** The schema every hub serves, whatever the modules add. */
export const BASE_HUB_SDL = `
"Arbitrary JSON (a hub message's data)."
scalar JSON

type Query {
  "This hub instance's epoch. A resume point (extensions.hub.lastEventId) read from another epoch resets."
  hubEpoch: String!
}

type Subscription {
  """
  Raw hub messages of the topics named (at most 20), in the caller's tenant: the same topics and
  authorization as the SSE stream /v1/stream.
  """
  hubEvents(topics: [String!]!): HubEvent!
}

"A user of the caller's tenant."
type User {
  id: ID!
}

"A hub message as SSE carries it."
type HubEvent {
  id: ID!
  topic: String!
  event: String!
  data: JSON
}
`;

/** Topics per hubEvents subscription, as for one SSE connection. */
export const MAX_RAW_TOPICS = 20;

/** Per-operation state a transport hands to the hub. */
export interface HubOperationContext {
  readonly actor: Actor;
  /** From the operation's `extensions.hub`. */
  readonly resume?: { readonly lastEventId?: string; readonly epoch?: string };
  /** Told when the hub ends a subscription on its own ('overflow': the client fell behind; 'hub-closed'). */
  readonly onEnd?: (reason: CloseReason) => void;
}

/** The parameters of one GraphQL operation, as both protocols carry them. */
export interface OperationParams {
  readonly query?: unknown;
  readonly operationName?: unknown;
  readonly variables?: unknown;
  readonly extensions?: unknown;
}

/** The hub's GraphQL: one schema, operations prepared and run the same way for every transport. */
export interface HubGraphQL {
  readonly schema: GraphQLSchema;
  readonly epoch: string;
  /** Parses and validates an operation: execution args, or errors with `extensions.code`. */
  prepare(params: OperationParams, context: HubOperationContext): ExecutionArgs | readonly GraphQLError[];
  /** Runs a query or mutation. */
  execute(args: ExecutionArgs): Promise<ExecutionResult>;
  /** Starts a subscription: a stream of results (each with `extensions.hub`), or one result with errors. */
  subscribe(args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult>;
}

/** Options of createHubGraphQL. */
export interface HubGraphQLOptions {
  readonly hub: Pick<Hub, 'subscribe' | 'epoch'>;
  readonly topics: TopicResolver;
  readonly parts: readonly NamedSubscriptionPart[];
  /** Production mode: no introspection. */
  readonly production?: boolean;
  /** Parse limit (tokens per operation); the platform's GraphQL limit by default. */
  readonly maxTokens?: number;
}

/** The event a subscription's source stream yields: a delivery's field value, or a reset notice. */
type SourceEvent =
  | { readonly kind: 'delivery'; readonly id: string; readonly value: unknown }
  | { readonly kind: 'reset' }
  | { readonly kind: 'ended'; readonly reason: CloseReason };

function rootExtensionFields(doc: DocumentNode, root: string): string[] {
  return doc.definitions.flatMap((d) =>
    (d.kind === Kind.OBJECT_TYPE_EXTENSION || d.kind === Kind.OBJECT_TYPE_DEFINITION) && d.name.value === root
      ? (d.fields ?? []).map((f) => f.name.value)
      : [],
  );
}

function definesRoot(doc: DocumentNode, root: string): boolean {
  return doc.definitions.some((d) => d.kind === Kind.OBJECT_TYPE_DEFINITION && d.name.value === root);
}

/** A hub key back to the topic the client named (`acme/thing.x` → `thing.x`). */
function relativeTopic(key: string): string {
  const slash = key.indexOf('/');
  return slash === -1 ? key : key.slice(slash + 1);
}

/** An iterator that is also an "async generator" to graphql-ws and graphql-sse (they call return()). */
interface ClosableIterator<T> extends AsyncIterableIterator<T> {
  return(): Promise<IteratorResult<T, undefined>>;
  throw(err?: unknown): Promise<IteratorResult<T, undefined>>;
}

/**
 * Maps a stream; unlike an async generator, `return()` reaches the source at once, even while
 * a `next()` is waiting — so a client completing a quiet subscription frees it immediately.
 */
function mapStream<S, T>(source: AsyncIterator<S>, map: (value: S) => Promise<T | undefined> | T | undefined) {
  const done = (): IteratorResult<T, undefined> => ({ done: true, value: undefined });
  const iterator: ClosableIterator<T> = {
    async next() {
      for (;;) {
        const r = await source.next();
        if (r.done) return done();
        const mapped = await map(r.value);
        if (mapped !== undefined) return { done: false, value: mapped };
      }
    },
    async return() {
      await source.return?.();
      return done();
    },
    async throw(err) {
      await source.return?.();
      throw err;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

/** The source stream of one subscription field: a hub subscription, mapped to the field's values. */
function sourceStream(
  subscription: Subscription,
  field: SubscriptionField,
  args: FieldArgs,
  actor: Actor,
): ClosableIterator<SourceEvent> {
  let resetPending = subscription.reset;
  let endReported = false;
  const inner: AsyncIterator<SourceEvent> = {
    async next() {
      if (resetPending) {
        resetPending = false;
        return { done: false, value: { kind: 'reset' } };
      }
      const r = await subscription.next();
      if (r.done) {
        const reason = subscription.closeReason;
        if (!endReported && reason !== undefined && reason !== 'closed') {
          endReported = true;
          return { done: false, value: { kind: 'ended', reason } };
        }
        return { done: true, value: undefined };
      }
      return { done: false, value: deliveryEvent(r.value) };
    },
    async return() {
      subscription.close();
      return { done: true, value: undefined };
    },
  };
  function deliveryEvent(d: Delivery): SourceEvent {
    const delivery: FieldDelivery = { topic: relativeTopic(d.topic), id: d.id, event: d.event, data: d.data };
    return { kind: 'delivery', id: d.id, value: field.payload(delivery, args, actor) };
  }
  return mapStream(inner, (e) => (e.kind === 'delivery' && e.value === undefined ? undefined : e));
}

type Resolver<Root> = (root: Root, args: FieldArgs, context: HubOperationContext) => unknown;

/** Sets a field's resolvers on a schema built from SDL (graphql-js reads them from the field at execution). */
function wire<Root = unknown>(
  type: GraphQLObjectType,
  name: string,
  resolvers: { resolve: Resolver<Root>; subscribe?: Resolver<unknown> },
): void {
  const field = type.getFields()[name] as GraphQLField<Root, HubOperationContext, FieldArgs>;
  Object.assign(field, resolvers);
}

/** Errors in the platform's shape: `extensions.code` (domain codes kept), correlation id, nothing internal. */
export function formatErrors(errors: readonly GraphQLError[]): GraphQLError[] {
  return errors.map((error) => {
    const formatted = formatGraphQLError(error.toJSON(), error, () => currentTelemetry()?.correlationId);
    return new GraphQLError(formatted.message, {
      nodes: error.nodes,
      source: error.source,
      positions: error.positions,
      path: error.path,
      originalError: error.originalError,
      extensions: formatted.extensions,
    });
  });
}

function withFormattedErrors(result: ExecutionResult): ExecutionResult {
  return result.errors ? { ...result, errors: formatErrors(result.errors) } : result;
}

function codedError(message: string, code: string, extra: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extra } });
}

function resumeOf(extensions: unknown): HubOperationContext['resume'] {
  const hub = (extensions as { hub?: unknown } | null | undefined)?.hub;
  if (hub === null || typeof hub !== 'object') return undefined;
  const { lastEventId, epoch } = hub as { lastEventId?: unknown; epoch?: unknown };
  return {
    ...(typeof lastEventId === 'string' && lastEventId !== '' ? { lastEventId } : {}),
    ...(typeof epoch === 'string' && epoch !== '' ? { epoch } : {}),
  };
}

/** The resume point an operation's extensions ask for (`extensions.hub.lastEventId` / `epoch`), if any. */
export function operationResume(params: OperationParams): HubOperationContext['resume'] {
  return resumeOf(params.extensions);
}

/**
 * Builds the hub's schema from the base and every module's part, wiring each field to the hub.
 * Throws naming the module when a part's SDL does not parse, adds a field twice or lacks a resolver.
 */
export function createHubGraphQL(opts: HubGraphQLOptions): HubGraphQL {
  const { hub, topics: resolveTopic } = opts;
  const base = parse(BASE_HUB_SDL);
  const docs: DocumentNode[] = [base];
  const subscriptionOwners = new Map<string, { module: string; field: SubscriptionField }>([]);
  const mutationOwners = new Map<string, { module: string; resolve: SocketMutation }>();
  for (const { name, part } of opts.parts) {
    let doc: DocumentNode;
    try {
      doc = parse(part.typeDefs);
    } catch (err) {
      throw new Error(`hub schema: module ${name}'s subscription SDL does not parse: ${(err as Error).message}`);
    }
    for (const root of ['Query', 'Subscription', 'Mutation']) {
      if (definesRoot(doc, root)) throw new Error(`hub schema: module ${name} must write "extend type ${root}"`);
    }
    const subs = rootExtensionFields(doc, 'Subscription');
    const muts = rootExtensionFields(doc, 'Mutation');
    for (const field of subs) {
      const resolver = part.subscriptions[field];
      if (!resolver) throw new Error(`hub schema: module ${name} adds Subscription.${field} without a resolver`);
      const owner = subscriptionOwners.get(field)?.module ?? (field === 'hubEvents' ? 'the hub' : undefined);
      if (owner) throw new Error(`hub schema: Subscription.${field} is added by ${owner} and ${name}`);
      subscriptionOwners.set(field, { module: name, field: resolver });
    }
    for (const field of Object.keys(part.subscriptions)) {
      if (!subs.includes(field))
        throw new Error(`hub schema: module ${name} resolves Subscription.${field}, not in its SDL`);
    }
    for (const field of muts) {
      const resolve = part.mutations?.[field];
      if (!resolve) throw new Error(`hub schema: module ${name} adds Mutation.${field} without a resolver`);
      const owner = mutationOwners.get(field)?.module;
      if (owner) throw new Error(`hub schema: Mutation.${field} is added by ${owner} and ${name}`);
      mutationOwners.set(field, { module: name, resolve });
    }
    for (const field of Object.keys(part.mutations ?? {})) {
      if (!muts.includes(field))
        throw new Error(`hub schema: module ${name} resolves Mutation.${field}, not in its SDL`);
    }
    docs.push(doc);
  }
  // A Mutation root exists only when some module sends something over the socket.
  if (mutationOwners.size > 0) docs.splice(1, 0, parse('type Mutation'));
  let schema: GraphQLSchema;
  try {
    schema = buildASTSchema({ kind: Kind.DOCUMENT, definitions: docs.flatMap((d) => d.definitions) });
  } catch (err) {
    throw new Error(`hub schema: the modules' subscription SDL does not build: ${(err as Error).message}`);
  }

  const queryType = schema.getQueryType() as GraphQLObjectType;
  wire(queryType, 'hubEpoch', { resolve: () => hub.epoch });

  const subscriptionType = schema.getSubscriptionType() as GraphQLObjectType;
  const rawEvents: SubscriptionField = {
    topics(args) {
      const list = args.topics as readonly string[];
      if (list.length === 0 || list.length > MAX_RAW_TOPICS) {
        throw new DomainError('BAD_USER_INPUT', `topics: 1-${MAX_RAW_TOPICS} per subscription, got ${list.length}`, {
          details: { field: 'topics' },
        });
      }
      return list;
    },
    payload: (d) => ({ id: d.id, topic: d.topic, event: d.event, data: d.data }),
  };
  const fields = new Map<string, SubscriptionField>([['hubEvents', rawEvents]]);
  for (const [name, { field }] of subscriptionOwners) fields.set(name, field);
  for (const [name, field] of fields) {
    wire<SourceEvent>(subscriptionType, name, {
      resolve: (event) => (event.kind === 'delivery' ? event.value : null),
      subscribe: async (_root, args, context) => {
        const wanted = [...new Set(field.topics(args, context.actor))];
        if (wanted.length === 0)
          throw new DomainError('BAD_USER_INPUT', `${name} follows no topic for these arguments`);
        const keys = await Promise.all(wanted.map((t) => resolveTopic(context.actor, t)));
        const denied = wanted.filter((_, i) => keys[i] === undefined);
        if (denied.length > 0) throw new DomainError('FORBIDDEN', `not allowed to subscribe to ${denied.join(', ')}`);
        const subscription = hub.subscribe(keys as string[], {
          ...context.resume,
          onEnd: (reason) => context.onEnd?.(reason),
        });
        return sourceStream(subscription, field, args, context.actor);
      },
    });
  }

  if (mutationOwners.size > 0) {
    const mutationType = schema.getMutationType() as GraphQLObjectType;
    for (const [name, { resolve }] of mutationOwners) {
      wire(mutationType, name, { resolve: (_root, args, context) => resolve(args, context.actor) });
    }
  }

  const maxTokens = opts.maxTokens ?? GRAPHQL_LIMITS.maxTokens;
  const rules = [
    ...specifiedRules,
    MaxIntrospectionDepthRule,
    ...(opts.production ? [NoSchemaIntrospectionCustomRule] : []),
  ];

  function prepare(params: OperationParams, context: HubOperationContext): ExecutionArgs | readonly GraphQLError[] {
    if (typeof params.query !== 'string' || params.query === '') {
      return [codedError('query must be a non-empty string', 'BAD_REQUEST')];
    }
    const variables = params.variables ?? undefined;
    if (variables !== undefined && variables !== null && (typeof variables !== 'object' || Array.isArray(variables))) {
      return [codedError('variables must be an object', 'BAD_REQUEST')];
    }
    if (
      params.operationName !== undefined &&
      params.operationName !== null &&
      typeof params.operationName !== 'string'
    ) {
      return [codedError('operationName must be a string', 'BAD_REQUEST')];
    }
    let document: DocumentNode;
    try {
      document = parse(params.query, { maxTokens });
    } catch (err) {
      return [codedError((err as Error).message, 'GRAPHQL_PARSE_FAILED')];
    }
    const errors = validate(schema, document, rules);
    if (errors.length > 0) {
      return errors.map(
        (e) => new GraphQLError(e.message, { nodes: e.nodes, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }),
      );
    }
    return {
      schema,
      document,
      variableValues: (variables ?? undefined) as Record<string, unknown> | undefined,
      operationName: (params.operationName ?? undefined) as string | undefined,
      contextValue: { ...context, resume: context.resume ?? resumeOf(params.extensions) },
    };
  }

  async function subscribe(args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
    const stream = await createSourceEventStream(args);
    if (!(Symbol.asyncIterator in stream)) return withFormattedErrors(stream as ExecutionResult);
    return mapStream(stream as unknown as AsyncIterator<SourceEvent>, async (event): Promise<ExecutionResult> => {
      if (event.kind === 'reset') return { extensions: { hub: { reset: true, epoch: hub.epoch } } };
      if (event.kind === 'ended') {
        const slow = event.reason === 'overflow';
        return {
          errors: [
            codedError(
              slow
                ? 'the subscription fell too far behind and was closed; resubscribe with extensions.hub.lastEventId'
                : 'the hub is shutting down; resubscribe',
              slow ? 'SLOW_CONSUMER' : 'HUB_CLOSED',
            ),
          ],
        };
      }
      const result = await execute({ ...args, rootValue: event });
      return {
        ...withFormattedErrors(result),
        extensions: { ...result.extensions, hub: { id: event.id, epoch: hub.epoch } },
      };
    });
  }

  return {
    schema,
    epoch: hub.epoch,
    prepare,
    execute: async (args) => withFormattedErrors(await execute(args)),
    subscribe,
  };
}

/** The operation type of prepared args ('query', 'mutation' or 'subscription'). */
export function operationType(args: ExecutionArgs): OperationDefinitionNode['operation'] | undefined {
  const ops = args.document.definitions.filter(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
  );
  const op = args.operationName
    ? ops.find((o) => o.name?.value === args.operationName)
    : ops.length === 1
      ? ops[0]
      : undefined;
  return op?.operation;
}
