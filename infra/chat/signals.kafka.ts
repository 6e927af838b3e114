/**
 * Ephemeral chat signals (typing) straight to Kafka: no outbox, nothing stored. Losing one is
 * harmless (the next keystroke sends another, and each expires on its own), so they skip the
 * transactional outbox; they still go through the event topic, so the other region's hub gets
 * them through MirrorMaker 2 like everything else. Validated against the event schema first.
 */
import type { Producer } from 'kafkajs';
import type { Signals } from '../../domains/chat/ports.ts';
import { DomainError } from '../../domains/shared/errors.ts';
import type { KafkaDependency } from '../adapters/kafka.ts';
import { envelope } from '../events/envelope.ts';
import { toKafkaMessage } from '../events/kafka-codec.ts';
import { currentTraceparent } from '../telemetry/context.ts';

/** Signals on the region's Kafka. */
export function createKafkaSignals(
  kafka: KafkaDependency,
  opts: { readonly region: string; readonly service?: string },
): Signals {
  let producer: Promise<Producer> | undefined;
  return {
    async publish(event) {
      const e = envelope(event, {
        region: opts.region,
        service: opts.service ?? 'chat',
        traceparent: currentTraceparent(),
      });
      const message = toKafkaMessage(e);
      try {
        producer ??= kafka.producer();
        await (await producer).send({ topic: e.type, acks: -1, messages: [message] });
      } catch (err) {
        producer = undefined;
        throw new DomainError(
          'DEPENDENCY_UNAVAILABLE',
          `could not publish ${e.type}: ${(err as Error)?.message ?? err}`,
          {
            retryable: true,
            cause: err,
          },
        );
      }
    },
  };
}
