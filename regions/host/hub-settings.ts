/**
 * The hub's limits, from the region's settings (`MERIDIAN_<REGION>_HUB_*`), validated once at
 * start; tests pass overrides instead. Every value has a default fit for one hub process.
 */
import { ConfigError } from '../../infra/config/endpoints.ts';
import type { RegionConfig } from '../config.ts';
import type { HubOptions } from '../hub/hub.ts';
import type { UserLimitOptions } from '../hub/limits.ts';
import type { WsTransportOptions } from '../hub/ws.ts';

/** What can be tuned about the hub and its live transports. */
export interface HubSettings {
  readonly hub: HubOptions;
  readonly limits: UserLimitOptions;
  readonly ws: Pick<
    WsTransportOptions,
    'maxMessageBytes' | 'maxBufferedBytes' | 'pingIntervalMs' | 'connectionInitTimeoutMs' | 'maxOperationsPerConnection'
  >;
}

/** Overrides of HubSettings, each part optional (tests). */
export interface HubSettingsOverrides {
  readonly hub?: HubOptions;
  readonly limits?: UserLimitOptions;
  readonly ws?: HubSettings['ws'];
}

/** Variable suffix → where it goes. */
const VARIABLES = {
  HUB_HISTORY_PER_TOPIC: ['hub', 'historyPerTopic', 0],
  HUB_CLIENT_BUFFER_LIMIT: ['hub', 'clientBufferLimit', 1],
  HUB_TOPIC_LIMIT: ['hub', 'topicLimit', 1],
  HUB_MAX_CONNECTIONS_PER_USER: ['limits', 'maxConnectionsPerUser', 1],
  HUB_OPERATION_BURST: ['limits', 'operationBurst', 1],
  HUB_OPERATIONS_PER_SECOND: ['limits', 'operationsPerSecond', 1],
  HUB_WS_MAX_MESSAGE_BYTES: ['ws', 'maxMessageBytes', 256],
  HUB_WS_MAX_BUFFERED_BYTES: ['ws', 'maxBufferedBytes', 1024],
  HUB_WS_PING_INTERVAL_MS: ['ws', 'pingIntervalMs', 100],
  HUB_WS_CONNECTION_INIT_TIMEOUT_MS: ['ws', 'connectionInitTimeoutMs', 100],
  HUB_WS_MAX_OPERATIONS_PER_CONNECTION: ['ws', 'maxOperationsPerConnection', 1],
} as const;

/** The hub settings of a region: its MERIDIAN_<REGION>_HUB_* variables, then `overrides`. */
export function hubSettings(config: RegionConfig, overrides: HubSettingsOverrides = {}): HubSettings {
  const out = {
    hub: {} as Record<string, number>,
    limits: {} as Record<string, number>,
    ws: {} as Record<string, number>,
  };
  for (const [suffix, [group, key, min]] of Object.entries(VARIABLES)) {
    const raw = config.settings[suffix];
    if (raw === undefined) continue;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min) {
      throw new ConfigError(`MERIDIAN_${config.region.toUpperCase()}_${suffix}: "${raw}" must be an integer ≥ ${min}`);
    }
    out[group][key] = value;
  }
  return {
    hub: { ...out.hub, ...overrides.hub },
    limits: { ...out.limits, ...overrides.limits },
    ws: { ...out.ws, ...overrides.ws },
  };
}
