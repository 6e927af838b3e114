/** Social's region settings (MERIDIAN_<REGION>_SOCIAL_<NAME>), read once and validated at start. */
import { DEFAULT_FEED_POLICY, type FeedPolicy } from '../../domains/social/projector.ts';
import { ConfigError } from '../../infra/config/endpoints.ts';

export interface SocialSettings {
  readonly policy: FeedPolicy;
  /** Entries kept per materialised feed. */
  readonly feedCap: number;
  /** Max-age (s) of feed pages with posts pulled at read time. */
  readonly pulledFeedMaxAge: number;
  /** `external`: the feed projector runs as its own process (regions/social/projector-main.ts). */
  readonly projectorExternal: boolean;
}

function int(region: string, name: string, raw: string | undefined, fallback: number, min: number, max: number) {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max) {
    throw new ConfigError(
      `MERIDIAN_${region.toUpperCase()}_SOCIAL_${name}: "${raw}" must be an integer from ${min} to ${max}`,
    );
  }
  return n;
}

/** The settings from `setting(name)` (the host's MERIDIAN_<REGION>_SOCIAL_<NAME> lookup). */
export function socialSettings(region: string, setting: (name: string) => string | undefined): SocialSettings {
  const projector = setting('FEED_PROJECTOR') ?? 'in-process';
  if (projector !== 'in-process' && projector !== 'external') {
    throw new ConfigError(
      `MERIDIAN_${region.toUpperCase()}_SOCIAL_FEED_PROJECTOR: "${projector}" must be in-process or external`,
    );
  }
  return {
    policy: {
      fanOutLimit: int(region, 'FANOUT_LIMIT', setting('FANOUT_LIMIT'), DEFAULT_FEED_POLICY.fanOutLimit, 0, 100_000),
      backfill: int(region, 'FEED_BACKFILL', setting('FEED_BACKFILL'), DEFAULT_FEED_POLICY.backfill, 0, 500),
    },
    feedCap: int(region, 'FEED_CAP', setting('FEED_CAP'), 500, 10, 10_000),
    pulledFeedMaxAge: int(region, 'PULLED_FEED_MAX_AGE', setting('PULLED_FEED_MAX_AGE'), 2, 0, 3600),
    projectorExternal: projector === 'external',
  };
}
