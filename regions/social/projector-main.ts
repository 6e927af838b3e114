/**
 * `node regions/social/projector-main.ts east|west` — the social feed projector as its own
 * process (production runs one role per process; the region then runs with
 * MERIDIAN_<REGION>_SOCIAL_FEED_PROJECTOR=external). Same consumer group as the in-process
 * projector (`social-feed-projector-<region>`) unless MERIDIAN_SOCIAL_PROJECTOR_GROUP names
 * another (tests isolate themselves so). Prints `ready` once it consumes; SIGTERM stops it.
 */
import { ConfigError, parseRegion } from '../../infra/config/endpoints.ts';
import { createEventConsumer, withMirrored } from '../../infra/events/consumer.ts';
import { regionConfig } from '../config.ts';
import { east } from '../east.ts';
import { closeDependencies, openDependencies } from '../host/dependencies.ts';
import { west } from '../west.ts';
import { projectorDeps } from './module.ts';
import { feedProjector } from './projector.ts';
import { socialSettings } from './settings.ts';

try {
  const profile = { east, west }[parseRegion(process.argv[2] ?? process.env.MERIDIAN_REGION)];
  const config = regionConfig(profile, process.env);
  const settings = socialSettings(config.region, (name) => config.settings[`SOCIAL_${name}`]);
  const groupId = process.env.MERIDIAN_SOCIAL_PROJECTOR_GROUP || `social-feed-projector-${config.region}`;
  const deps = openDependencies(config, 'social-projector');
  const processor = feedProjector(config.region, projectorDeps(config.region, deps, settings));
  const consumer = createEventConsumer({
    kafka: deps.kafka,
    groupId,
    topics: withMirrored(processor.topics, config.peer),
    handle: (event, meta) =>
      processor.handle(event, {
        topic: meta.topic,
        origin: meta.topic.startsWith(`${config.peer}.`) ? 'peer' : 'local',
      }),
    onCrash: (err, restarting) =>
      console.error(
        `social projector ${config.region}: consumer crashed (${restarting ? 'restarting' : 'starting a new one'}): ${err.message}`,
      ),
    onError: (err, meta) =>
      console.error(
        `social projector ${config.region}: ${meta.topic}@${meta.offset}: ${(err as Error)?.message ?? err}`,
      ),
  });
  await consumer.start();
  console.log(`social projector ${config.region}: ready (group ${groupId})`);
  const shutdown = async () => {
    await consumer.stop();
    await closeDependencies(deps);
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`social projector: invalid configuration — ${err.message}`);
    process.exit(78);
  }
  throw err;
}
