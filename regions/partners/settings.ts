/**
 * Partners' settings: `MERIDIAN_<REGION>_PARTNERS_<NAME>` (through the region config), validated
 * once at start with the variable's name in every error. Defaults are production-grade (Svix's
 * retry schedule, 15 s timeouts, five days of failures before an endpoint is disabled); tests
 * shorten them. The address allow-list is empty unless set: internal addresses are refused.
 */
import path from 'node:path';
import { parseDuration, parseSchedule, type RetrySchedule, SVIX_SCHEDULE } from '../../domains/partners/retry.ts';
import { ConfigError, RABBITMQ_EPMD_PORT } from '../../infra/config/endpoints.ts';
import { parseAllowList } from '../../infra/partners/address-policy.ts';
import type { RabbitmqctlOptions } from '../../infra/partners/broker-accounts.rabbitmqctl.ts';
import { STACK_DIR } from '../../infra/stack/paths.ts';

export type Placement = 'in-process' | 'external';

export interface PartnersSettings {
  /** Names queues, the inbound exchange and consumer groups: `partners` or `partners-<instance>`. */
  readonly prefix: string;
  /** Suffix of the fan-out's consumer group name (`webhook-fanout[-<instance>]`). */
  readonly fanoutName: string;
  readonly webhooks: {
    readonly schedule: RetrySchedule;
    readonly timeoutMs: number;
    readonly maxResponseBytes: number;
    readonly endpointConcurrency: number;
    readonly prefetch: number;
    readonly disableAfterMs: number;
    readonly rotationOverlapMs: number;
    readonly allowAddresses: ReturnType<typeof parseAllowList>;
    readonly sweepIntervalMs: number;
    readonly sweepGraceMs: number;
    /** Kafka partitions the fan-out handles at once (per process). */
    readonly fanoutConcurrency: number;
    /**
     * How long the fan-out lets events gather per fetch (consumer `gatherMs`; 0, the default: each
     * event as soon as it arrives). Gathering makes a burst one wake-up and one commit, and adds up
     * to the window to every webhook's latency (500ms: p50 45 → 436 ms in `npm run bench partners`).
     */
    readonly fanoutGatherMs: number;
    /** The longest a task for a busy endpoint is parked on the broker. */
    readonly maxParkMs: number;
    /** Where the fan-out and the dispatcher run: in the region host, or as their own processes. */
    readonly placement: Placement;
  };
  readonly amqp: {
    readonly prefetch: number;
    readonly batchMax: number;
    readonly lingerMs: number;
    readonly refreshMs: number;
    readonly placement: Placement;
  };
  /** How partners' broker accounts are made; undefined: not configured (registration refuses). */
  readonly rabbitmqctl: RabbitmqctlOptions | undefined;
}

/** The local stack's RabbitMQ (infra/stack/services.ts): node name, cookie home, epmd port. */
const LOCAL_RABBITMQCTL: RabbitmqctlOptions = {
  command: '/usr/lib/rabbitmq/bin/rabbitmqctl',
  node: 'meridian@localhost',
  home: path.join(STACK_DIR, 'data', 'rabbitmq-home'),
  epmdPort: RABBITMQ_EPMD_PORT,
};

/** Reads partners' settings; `get(NAME)` is MERIDIAN_<REGION>_PARTNERS_<NAME>. */
export function partnersSettings(
  region: string,
  get: (name: string) => string | undefined,
  production: boolean,
): PartnersSettings {
  const variable = (name: string) => `MERIDIAN_${region.toUpperCase()}_PARTNERS_${name}`;
  const guard = <T>(name: string, parse: (raw: string) => T, fallback: string): T => {
    const raw = get(name) ?? fallback;
    try {
      return parse(raw);
    } catch (err) {
      throw new ConfigError(`${variable(name)}: ${(err as Error).message}`);
    }
  };
  const duration = (name: string, fallback: string) => guard(name, (raw) => parseDuration(raw, 'duration'), fallback);
  const int = (name: string, fallback: number, min: number, max: number) =>
    guard(
      name,
      (raw) => {
        const n = Number(raw);
        if (!/^\d+$/.test(raw) || n < min || n > max) throw new Error(`"${raw}" is not an integer ${min}-${max}`);
        return n;
      },
      String(fallback),
    );
  const placement = (name: string) =>
    guard(
      name,
      (raw) => {
        if (raw !== 'in-process' && raw !== 'external') throw new Error(`"${raw}" is not in-process or external`);
        return raw as Placement;
      },
      'in-process',
    );
  const instance = guard(
    'INSTANCE',
    (raw) => {
      if (raw !== '' && !/^[a-z0-9-]{1,40}$/.test(raw)) throw new Error(`"${raw}" is not 1-40 of [a-z0-9-]`);
      return raw;
    },
    '',
  );
  const ctlCommand = get('RABBITMQCTL');
  const rabbitmqctl: RabbitmqctlOptions | undefined = ctlCommand
    ? {
        command: ctlCommand,
        node: get('RABBITMQ_NODE') ?? LOCAL_RABBITMQCTL.node,
        home: get('RABBITMQ_HOME') ?? LOCAL_RABBITMQCTL.home,
        epmdPort: int('RABBITMQ_EPMD_PORT', RABBITMQ_EPMD_PORT, 1, 65535),
      }
    : production
      ? undefined // a production broker is never assumed to be the local stack's
      : LOCAL_RABBITMQCTL;
  return {
    prefix: instance ? `partners-${instance}` : 'partners',
    fanoutName: instance ? `webhook-fanout-${instance}` : 'webhook-fanout',
    webhooks: {
      schedule: guard('WEBHOOK_RETRY_SCHEDULE', parseSchedule, SVIX_SCHEDULE),
      timeoutMs: duration('WEBHOOK_TIMEOUT', '15s'),
      maxResponseBytes: int('WEBHOOK_MAX_RESPONSE_BYTES', 4096, 0, 1_048_576),
      endpointConcurrency: int('WEBHOOK_ENDPOINT_CONCURRENCY', 4, 1, 1000),
      prefetch: int('WEBHOOK_PREFETCH', 64, 1, 10_000),
      disableAfterMs: duration('WEBHOOK_DISABLE_AFTER', '5d'),
      rotationOverlapMs: duration('WEBHOOK_ROTATION_OVERLAP', '24h'),
      allowAddresses: guard('WEBHOOK_ALLOW_ADDRESSES', parseAllowList, ''),
      sweepIntervalMs: duration('WEBHOOK_SWEEP_INTERVAL', '30s'),
      sweepGraceMs: duration('WEBHOOK_SWEEP_GRACE', '5m'),
      fanoutConcurrency: int('WEBHOOK_FANOUT_CONCURRENCY', 4, 1, 64),
      fanoutGatherMs: guard(
        'WEBHOOK_FANOUT_GATHER',
        (raw) => {
          const ms = parseDuration(raw, 'duration');
          if (ms > 5000) throw new Error(`"${raw}" is longer than 5s`);
          return ms;
        },
        '0',
      ),
      maxParkMs: duration('WEBHOOK_MAX_PARK', '30s'),
      placement: placement('DISPATCHER'),
    },
    amqp: {
      prefetch: int('AMQP_PREFETCH', 500, 1, 65_535),
      batchMax: int('AMQP_BATCH', 500, 1, 10_000),
      lingerMs: duration('AMQP_LINGER', '5ms'),
      refreshMs: duration('AMQP_REFRESH', '2s'),
      placement: placement('AMQP_BRIDGE'),
    },
    rabbitmqctl,
  };
}
