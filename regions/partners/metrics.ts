/**
 * The partners domain's metrics on the region process's registry: webhook deliveries by result
 * (failures are `retrying`, `failed` and dispatcher `errors`), the fan-out's work, and the AMQP
 * inbound bridge's throughput and dead letters (through the shared bridge hook).
 */
import type { Registry } from '../../edge/metrics/metrics.ts';
import { addBridgeStats } from '../metrics/bridges.ts';
import type { PartnersRuntime } from './runtime.ts';

/** Declares what the given parts of the partners runtime report. */
export function partnersMetrics(
  registry: Registry,
  runtime: PartnersRuntime,
  parts: { readonly dispatcher: boolean; readonly amqpBridge: boolean },
): void {
  if (parts.dispatcher) {
    registry.collect<'result'>(
      {
        name: 'meridian_webhook_deliveries_total',
        help: 'Webhook delivery attempts by result (delivered; retrying and failed are failures; errors: the dispatcher itself failed).',
        type: 'counter',
        labelNames: ['result'],
      },
      () => Object.entries(runtime.dispatcher.stats).map(([result, n]) => [{ result }, n] as const),
    );
    registry.collect(
      {
        name: 'meridian_webhook_events_fanned_out_total',
        help: 'Events the webhook fan-out matched against endpoints.',
        type: 'counter',
      },
      () => [[undefined, runtime.fanout.stats.events]],
    );
  }
  if (parts.amqpBridge) {
    addBridgeStats(registry, 'amqp', () => ({
      produced: runtime.amqpBridge.stats.produced,
      deadLettered: runtime.amqpBridge.stats.deadLettered,
    }));
  }
}
