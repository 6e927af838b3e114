/**
 * The feed projector as a host processor, built the same way whether it runs inside the region
 * process (the module's processor) or as its own process (projector-main.ts).
 */
import { USER_EVENTS } from '../../domains/social/events.ts';
import { type ProjectorDeps, projectEvent } from '../../domains/social/projector.ts';
import type { Envelope } from '../../infra/events/envelope.ts';
import type { Processor } from '../host/domain-module.ts';

/** The region an event was written in, from its CloudEvents source `/regions/<region>/<service>`. */
export function regionOf(event: Envelope): string | undefined {
  return /^\/regions\/([a-z]+)\//.exec(event.source)?.[1];
}

/** The processor `feed-projector` of region `region`: every user event, local and mirrored. */
export function feedProjector(region: string, deps: ProjectorDeps): Processor {
  return {
    name: 'feed-projector',
    topics: USER_EVENTS,
    mirrored: true,
    handle: async (event) => {
      await projectEvent(deps, {
        id: event.id,
        type: event.type,
        tenant: event.tenant,
        data: event.data,
        fromPeer: regionOf(event) !== region,
      });
    },
  };
}
