/**
 * A fleet of simulated devices, registered through the graph like real ones: each gets its MQTT
 * credentials from `registerDevice`, connects to its region's broker with them and publishes
 * numbered telemetry. Used by the simulator (`npm run devices`), the tests and the benchmark.
 */
import { createDeviceClient, type DeviceClient, type DeviceClientOptions } from '../../infra/iot/device-client.ts';
import { gql } from '../support/graphql-client.ts';

export const REGISTER_DEVICE = `mutation Register($input: RegisterDeviceInput!) {
  registerDevice(input: $input) {
    device { id tenant mqttId state }
    credentials { username password clientId brokers { region url } topics { telemetry status commands rejected jobProgress } credentialVersion }
  }
}`;

export interface Registered {
  readonly id: string;
  readonly tenant: string;
  readonly mqttId: string;
  readonly username: string;
  readonly password: string;
  readonly brokers: ReadonlyArray<{ region: string; url: string }>;
}

/** Registers a device through the graph; throws with the GraphQL error code on refusal. */
export async function registerDevice(
  graphql: string,
  token: string,
  input: { id?: string; name: string; model: string; firmwareVersion: string },
): Promise<Registered> {
  const res = await gql<{
    registerDevice: {
      device: { id: string; tenant: string; mqttId: string };
      credentials: { username: string; password: string; brokers: Array<{ region: string; url: string }> };
    };
  }>(graphql, REGISTER_DEVICE, { input }, { authorization: `Bearer ${token}` });
  const r = res.data?.registerDevice;
  if (!r) {
    const e = res.errors?.[0];
    throw Object.assign(new Error(`registerDevice: ${e?.extensions?.code}: ${e?.message}`), {
      code: e?.extensions?.code,
    });
  }
  return {
    id: r.device.id,
    tenant: r.device.tenant,
    mqttId: r.device.mqttId,
    username: r.credentials.username,
    password: r.credentials.password,
    brokers: r.credentials.brokers,
  };
}

/** Revokes devices through the graph (errors ignored: cleanup). */
export async function revokeDevices(graphql: string, token: string, ids: readonly string[]): Promise<void> {
  await mapLimit(ids, 16, (id) =>
    gql(
      graphql,
      'mutation($id: ID!) { revokeDevice(id: $id) { id } }',
      { id },
      { authorization: `Bearer ${token}` },
    ).catch(() => undefined),
  );
}

/** Runs `fn` over `items`, at most `limit` at a time, keeping the order of results. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      for (;;) {
        const i = next++;
        if (i >= items.length) return;
        out[i] = await fn(items[i] as T, i);
      }
    }),
  );
  return out;
}

export interface FleetOptions {
  readonly graphql: string;
  readonly token: string;
  readonly count: number;
  /** Device ids are `<prefix>-<n>` (zero-padded). */
  readonly prefix: string;
  readonly model?: string;
  readonly firmwareVersion?: string;
  /** The broker region to connect to (its URL comes with the credentials). */
  readonly region: string;
  /** Per-device client options (firmware behaviour…), by index. */
  readonly client?: (i: number) => Partial<DeviceClientOptions>;
}

export interface Fleet {
  readonly devices: DeviceClient[];
  readonly registered: Registered[];
  /** Connects every device (at most 50 at a time). */
  connect(): Promise<void>;
  /** Says offline and disconnects every device. */
  close(): Promise<void>;
  /** Revokes every device through the graph. */
  revoke(): Promise<void>;
}

/** Registers `count` devices through the graph; connect() them next. */
export async function registerFleet(opts: FleetOptions): Promise<Fleet> {
  const width = String(Math.max(1, opts.count - 1)).length;
  const registered = await mapLimit(
    Array.from({ length: opts.count }, (_, i) => i),
    16,
    (i) =>
      registerDevice(opts.graphql, opts.token, {
        id: `${opts.prefix}-${String(i).padStart(width, '0')}`,
        name: `Simulated ${i}`,
        model: opts.model ?? 'sim-1',
        firmwareVersion: opts.firmwareVersion ?? '1.0.0',
      }),
  );
  const devices = registered.map((r, i) => {
    const broker = r.brokers.find((b) => b.region === opts.region) ?? r.brokers[0];
    if (!broker) throw new Error(`no broker for ${r.mqttId}`);
    return createDeviceClient({ url: broker.url, username: r.username, password: r.password, ...opts.client?.(i) });
  });
  return {
    devices,
    registered,
    async connect() {
      await mapLimit(devices, 50, (d) => d.connect());
    },
    async close() {
      await mapLimit(devices, 50, (d) => d.close().catch(() => {}));
    },
    async revoke() {
      await revokeDevices(
        opts.graphql,
        opts.token,
        registered.map((r) => r.id),
      );
    },
  };
}
