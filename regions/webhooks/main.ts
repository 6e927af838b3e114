/**
 * `node regions/webhooks/main.ts east|west` — the webhook fan-out and dispatcher as a process of
 * their own (set MERIDIAN_<REGION>_PARTNERS_DISPATCHER=external so region hosts run neither). Run
 * as many as wanted: the fan-out shares the region's consumer group, the dispatchers share the
 * delivery queue; a killed one's Kafka records and unacked tasks go to the others, and every
 * attempt is recorded once.
 */

import { ConfigError } from '../../infra/config/endpoints.ts';
import { createEventConsumer, withMirrored } from '../../infra/events/consumer.ts';
import { createRegionMetrics } from '../metrics/region-metrics.ts';
import { serveMetricsFromEnv } from '../metrics/serve.ts';
import { partnersMetrics } from '../partners/metrics.ts';
import { openPartnersProcess, stopOnSignals } from '../partners/process.ts';

try {
  const p = await openPartnersProcess('webhooks');
  const { fanout, dispatcher, settings } = p.runtime;
  const consumer = createEventConsumer({
    kafka: p.kafka,
    // The same group as the region host's in-process fan-out processor: `<domain>-<processor>-<region>`.
    groupId: `partners-${settings.fanoutName}-${p.region}`,
    topics: withMirrored(fanout.types, p.peer),
    fromBeginning: false,
    partitionsConcurrently: settings.webhooks.fanoutConcurrency,
    unorderedConcurrency: 16,
    gatherMs: settings.webhooks.fanoutGatherMs,
    handle: (event) => fanout.handle(event),
    onCrash: (err, restarting) =>
      console.error(
        `webhooks ${p.region}: consumer crashed (${restarting ? 'restarting' : 'starting a new one'}): ${err.message}`,
      ),
    onError: (err, meta) =>
      console.error(`webhooks ${p.region}: ${meta.topic}@${meta.offset}: ${(err as Error)?.message ?? err}`),
  });
  const metrics = createRegionMetrics({ region: p.region });
  partnersMetrics(metrics.registry, p.runtime, { dispatcher: true, amqpBridge: false });
  const stopMetrics = await serveMetricsFromEnv(metrics, process.env, (line) =>
    console.log(`webhooks ${p.region}: ${line}`),
  );
  await dispatcher.start();
  await consumer.start();
  console.log(
    `webhooks ${p.region}: started as ${p.name} (queue ${p.runtime.queue.workQueue}, ${fanout.types.length} event types)`,
  );
  stopOnSignals(`webhooks ${p.region}`, async () => {
    await consumer.stop();
    await dispatcher.stop();
    await stopMetrics();
    await p.close();
  });
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`webhooks: invalid configuration — ${err.message}`);
    process.exit(78);
  }
  throw err;
}
