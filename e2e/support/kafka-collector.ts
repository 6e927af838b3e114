/** Collects the events of some Kafka topics produced from now on (the offsets at start), filtered. */
import type { KafkaDependency } from '../../infra/adapters/kafka.ts';
import type { Envelope } from '../../infra/events/envelope.ts';
import { tail } from '../../infra/events/kafka-tail.testing.ts';

export interface Collector {
  readonly events: Envelope[];
  /** When each of `events` arrived here (epoch ms), same order. */
  readonly arrivedAt: number[];
  stop(): Promise<void>;
}

/** Starts reading `topics` at their current end; keeps the events `keep` accepts. */
export async function collectFromNow(
  kafka: KafkaDependency,
  topics: readonly string[],
  keep: (e: Envelope) => boolean,
): Promise<Collector> {
  const events: Envelope[] = [];
  const arrivedAt: number[] = [];
  const tailed = await tail(kafka, topics, (r) => {
    const e = JSON.parse(r.value?.toString() ?? 'null') as Envelope | null;
    if (e && keep(e)) {
      events.push(e);
      arrivedAt.push(r.arrivedAt);
    }
  });
  return { events, arrivedAt, stop: () => tailed.stop() };
}
