/**
 * What each IoT event changed, for the region's caches and the edge's purge alike. Device and
 * rollout answers are never cached (maxAge 0: they change with every reading), so this only
 * keeps an edge that caches them some day honest; readings and status reports change nothing
 * cached and are left out (they are the bulk of the traffic).
 */
import { IOT_EVENTS } from '../../domains/iot/events.ts';
import type { Envelope } from '../../infra/events/envelope.ts';
import type { EntityChange } from '../host/domain-module.ts';

/** The IoT events that change something cached; readings, status and progress reports are not among them. */
export const IOT_CHANGING_EVENTS: readonly string[] = [
  IOT_EVENTS.deviceRegistered,
  IOT_EVENTS.credentialsRotated,
  IOT_EVENTS.deviceRevoked,
  IOT_EVENTS.jobUpdated,
  IOT_EVENTS.rolloutFinished,
];

export function iotChangedEntities(event: Envelope): EntityChange | undefined {
  const data = (event.data ?? {}) as { deviceId?: unknown; rolloutId?: unknown };
  const id = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  switch (event.type) {
    case IOT_EVENTS.deviceRegistered:
    case IOT_EVENTS.credentialsRotated:
    case IOT_EVENTS.deviceRevoked: {
      const deviceId = id(data.deviceId);
      return deviceId ? { entities: [{ type: 'Device', id: deviceId }], soft: false } : undefined;
    }
    case IOT_EVENTS.jobUpdated:
    case IOT_EVENTS.rolloutFinished: {
      const rolloutId = id(data.rolloutId);
      return rolloutId ? { entities: [{ type: 'FirmwareRollout', id: rolloutId }], soft: true } : undefined;
    }
    default:
      return undefined;
  }
}
