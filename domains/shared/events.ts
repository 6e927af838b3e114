/**
 * What every domain hands to infra when its state changes: an event of a `type` (also the
 * Kafka topic, `<domain>.<context>.<event>.v<N>`), about one aggregate (`subject`, also the
 * Kafka key), in one tenant. Infra wraps it in the CloudEvents envelope (id, source, time,
 * traceparent) when it is written; each domain narrows `type` and `data` for its own events.
 */
export interface DomainEvent<T extends string = string, D = unknown> {
  readonly type: T;
  /** Aggregate id: the Kafka key, so one aggregate's events keep their order. */
  readonly subject: string;
  readonly tenant: string;
  readonly data: D;
}
