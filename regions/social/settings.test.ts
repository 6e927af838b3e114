import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { socialSettings } from './settings.ts';

describe('social settings', () => {
  it('defaults, and overrides by name', () => {
    const d = socialSettings('east', () => undefined);
    assert.deepEqual(d, {
      policy: { fanOutLimit: 1000, backfill: 20 },
      feedCap: 500,
      pulledFeedMaxAge: 2,
      projectorExternal: false,
    });
    const values: Record<string, string> = { FANOUT_LIMIT: '50', FEED_PROJECTOR: 'external', PULLED_FEED_MAX_AGE: '0' };
    const o = socialSettings('west', (n) => values[n]);
    assert.deepEqual([o.policy.fanOutLimit, o.projectorExternal, o.pulledFeedMaxAge], [50, true, 0]);
  });

  it('refuses bad values naming the variable', () => {
    assert.throws(
      () => socialSettings('east', (n) => (n === 'FANOUT_LIMIT' ? '-1' : undefined)),
      /MERIDIAN_EAST_SOCIAL_FANOUT_LIMIT/,
    );
    assert.throws(
      () => socialSettings('west', (n) => (n === 'FEED_PROJECTOR' ? 'sometimes' : undefined)),
      /MERIDIAN_WEST_SOCIAL_FEED_PROJECTOR/,
    );
  });
});
