/**
 * DeviceRegistry, DeviceActivity and DeviceReplica over PostgreSQL (`iot_devices`). Registry
 * changes and their outbox rows commit in one transaction; activity updates are single
 * statements that only move state forward (by time, by seq), so repeats and reordering are harmless.
 */
import type pg from 'pg';
import type { Device, Reading } from '../../domains/iot/device.ts';
import type { DeviceActivity, DeviceRegistry, DeviceReplica } from '../../domains/iot/ports.ts';
import { DomainError } from '../../domains/shared/errors.ts';
import type { DomainEvent } from '../../domains/shared/events.ts';
import { inTransaction, translate } from '../commerce/pg.ts';
import { appendToOutbox } from '../events/outbox.ts';
import { currentTraceparent } from '../telemetry/context.ts';

interface DeviceRow {
  tenant: string;
  device_id: string;
  state: 'ACTIVE' | 'REVOKED';
  name: string;
  model: string;
  firmware_version: string;
  credential_version: number;
  home_region: string;
  registered_at: Date;
  updated_at: Date;
  revoked_at: Date | null;
  online: boolean;
  last_seen_at: Date | null;
  latest_reading: Reading | null;
  version: number;
}

const COLUMNS =
  'tenant, device_id, state, name, model, firmware_version, credential_version, home_region, registered_at, ' +
  'updated_at, revoked_at, online, last_seen_at, latest_reading, version';

const iso = (d: Date | null) => (d === null ? null : d.toISOString());

function toDevice(r: DeviceRow): Device {
  return {
    tenant: r.tenant,
    id: r.device_id,
    name: r.name,
    model: r.model,
    firmwareVersion: r.firmware_version,
    state: r.state,
    credentialVersion: r.credential_version,
    homeRegion: r.home_region,
    registeredAt: r.registered_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    revokedAt: iso(r.revoked_at),
    online: r.online,
    lastSeenAt: iso(r.last_seen_at),
    latestReading: r.latest_reading,
    version: r.version,
  };
}

export interface PostgresDeviceRegistryOptions {
  readonly region: string;
  /** The service named in the events' source. */
  readonly service: string;
}

export type PostgresDeviceRegistry = DeviceRegistry &
  DeviceActivity &
  DeviceReplica & {
    /** The stored credential hash (tests and audits; never returned by the graph). */
    credentialHash(tenant: string, id: string): Promise<string | undefined>;
  };

/** The registry, activity and replica of one region's database. */
export function createPostgresDeviceRegistry(
  pool: pg.Pool,
  opts: PostgresDeviceRegistryOptions,
): PostgresDeviceRegistry {
  const ctx = () => ({ region: opts.region, service: opts.service, traceparent: currentTraceparent() });
  const write = (client: pg.ClientBase, events: readonly DomainEvent[]) => appendToOutbox(client, events, ctx());
  const query = async <R extends pg.QueryResultRow>(sql: string, params: unknown[]) => {
    try {
      return await pool.query<R>(sql, params);
    } catch (err) {
      throw translate(err, 'device registry');
    }
  };

  async function store(client: pg.ClientBase, d: Device, hash: string | undefined, fromState: string) {
    const res = await client.query(
      `UPDATE iot_devices SET state = $3, name = $4, model = $5, firmware_version = $6, credential_version = $7,
         home_region = $8, registered_at = $9, updated_at = $10, revoked_at = $11, online = $12, version = $13,
         credential_hash = COALESCE($14, credential_hash)
       WHERE tenant = $1 AND device_id = $2 AND state = ANY($15)`,
      [
        d.tenant,
        d.id,
        d.state,
        d.name,
        d.model,
        d.firmwareVersion,
        d.credentialVersion,
        d.homeRegion,
        d.registeredAt,
        d.updatedAt,
        d.revokedAt,
        d.online,
        d.version,
        hash ?? null,
        fromState === 'RESERVED' ? ['RESERVED'] : ['ACTIVE', 'REVOKED'],
      ],
    );
    return res.rowCount === 1;
  }

  return {
    async reserve(tenant, id, now) {
      // Taken over only when the reservation is a minute old: its registrar died mid-way.
      const res = await query(
        `INSERT INTO iot_devices (tenant, device_id, state, updated_at) VALUES ($1, $2, 'RESERVED', $3)
         ON CONFLICT (tenant, device_id) DO UPDATE SET updated_at = EXCLUDED.updated_at
           WHERE iot_devices.state = 'RESERVED' AND iot_devices.updated_at <= EXCLUDED.updated_at - interval '60 seconds'`,
        [tenant, id, now],
      );
      return res.rowCount === 1;
    },

    async release(tenant, id) {
      await query(`DELETE FROM iot_devices WHERE tenant = $1 AND device_id = $2 AND state = 'RESERVED'`, [tenant, id]);
    },

    activate(device, hash, events) {
      return inTransaction(
        pool,
        async (client) => {
          if (!(await store(client, device, hash, 'RESERVED'))) {
            throw new DomainError('INTERNAL', `device ${device.id} is not reserved by this registration`);
          }
          await write(client, events);
        },
        { store: 'device registry' },
      );
    },

    async get(tenant, id) {
      const res = await query<DeviceRow>(
        `SELECT ${COLUMNS} FROM iot_devices WHERE tenant = $1 AND device_id = $2 AND state <> 'RESERVED'`,
        [tenant, id],
      );
      const row = res.rows[0];
      return row && toDevice(row);
    },

    async list(tenant, first, after) {
      const res = await query<DeviceRow>(
        `SELECT ${COLUMNS} FROM iot_devices WHERE tenant = $1 AND state <> 'RESERVED' AND device_id > $2
         ORDER BY device_id COLLATE "C" LIMIT $3`,
        [tenant, after ?? '', first],
      );
      return res.rows.map(toDevice);
    },

    async listByModel(tenant, model, limit) {
      const res = await query<DeviceRow>(
        `SELECT ${COLUMNS} FROM iot_devices WHERE tenant = $1 AND model = $2 AND state = 'ACTIVE'
         ORDER BY device_id COLLATE "C" LIMIT $3`,
        [tenant, model, limit],
      );
      return res.rows.map(toDevice);
    },

    update(tenant, id, change) {
      return inTransaction(
        pool,
        async (client) => {
          const res = await client.query<DeviceRow>(
            `SELECT ${COLUMNS} FROM iot_devices WHERE tenant = $1 AND device_id = $2 AND state <> 'RESERVED' FOR UPDATE`,
            [tenant, id],
          );
          const row = res.rows[0];
          if (!row) return undefined;
          const current = toDevice(row);
          const c = change(current);
          if (!c) return current;
          await store(client, c.value, c.credentialHash, current.state);
          await write(client, c.events);
          return c.value;
        },
        { store: 'device registry' },
      );
    },

    async recordStatus(tenant, id, online, at) {
      await query(
        `UPDATE iot_devices SET online = $3, status_at = $4, last_seen_at = GREATEST(last_seen_at, $4)
         WHERE tenant = $1 AND device_id = $2 AND state <> 'RESERVED' AND (status_at IS NULL OR status_at < $4)`,
        [tenant, id, online, at],
      );
    },

    async recordReading(tenant, id, reading) {
      await query(
        `UPDATE iot_devices SET
           last_seen_at = GREATEST(last_seen_at, $3),
           latest_reading = CASE WHEN latest_seq IS NULL OR $4 > latest_seq THEN $5::jsonb ELSE latest_reading END,
           latest_seq = GREATEST(latest_seq, $4)
         WHERE tenant = $1 AND device_id = $2 AND state <> 'RESERVED'`,
        [tenant, id, reading.receivedAt, reading.seq, JSON.stringify(reading)],
      );
    },

    async recordReadings(readings) {
      if (readings.length === 0) return;
      // One row per device: its latest arrival and its highest-seq reading.
      const byDevice = new Map<string, { tenant: string; id: string; seen: string; reading: Reading }>();
      for (const r of readings) {
        const k = `${r.tenant}/${r.id}`;
        const cur = byDevice.get(k);
        if (!cur) {
          byDevice.set(k, { tenant: r.tenant, id: r.id, seen: r.reading.receivedAt, reading: r.reading });
          continue;
        }
        if (r.reading.receivedAt > cur.seen) cur.seen = r.reading.receivedAt;
        if (r.reading.seq > cur.reading.seq) cur.reading = r.reading;
      }
      const rows = [...byDevice.values()];
      await query(
        `UPDATE iot_devices d SET
           last_seen_at = GREATEST(d.last_seen_at, u.seen),
           latest_reading = CASE WHEN d.latest_seq IS NULL OR u.seq > d.latest_seq THEN u.reading ELSE d.latest_reading END,
           latest_seq = GREATEST(d.latest_seq, u.seq)
         FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::bigint[], $5::jsonb[]) AS u(tenant, id, seen, seq, reading)
         WHERE d.tenant = u.tenant AND d.device_id = u.id AND d.state <> 'RESERVED'`,
        [
          rows.map((r) => r.tenant),
          rows.map((r) => r.id),
          rows.map((r) => r.seen),
          rows.map((r) => r.reading.seq),
          rows.map((r) => JSON.stringify(r.reading)),
        ],
      );
    },

    async apply(tenant, d) {
      await query(
        `INSERT INTO iot_devices (tenant, device_id, state, name, model, firmware_version, credential_version,
           home_region, registered_at, updated_at, revoked_at, version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now(), $10, $11)
         ON CONFLICT (tenant, device_id) DO UPDATE SET state = EXCLUDED.state, name = EXCLUDED.name,
           model = EXCLUDED.model, firmware_version = EXCLUDED.firmware_version,
           credential_version = EXCLUDED.credential_version, home_region = EXCLUDED.home_region,
           registered_at = EXCLUDED.registered_at, updated_at = now(), revoked_at = EXCLUDED.revoked_at,
           online = iot_devices.online AND EXCLUDED.state = 'ACTIVE', version = EXCLUDED.version
         WHERE iot_devices.version < EXCLUDED.version OR iot_devices.state = 'RESERVED'`,
        [
          tenant,
          d.id,
          d.state,
          d.name,
          d.model,
          d.firmwareVersion,
          d.credentialVersion,
          d.homeRegion,
          d.registeredAt,
          d.revokedAt,
          d.version,
        ],
      );
    },

    async setFirmware(tenant, id, firmwareVersion) {
      await query(
        `UPDATE iot_devices SET firmware_version = $3, updated_at = now()
         WHERE tenant = $1 AND device_id = $2 AND state <> 'RESERVED'`,
        [tenant, id, firmwareVersion],
      );
    },

    async credentialHash(tenant, id) {
      const res = await query<{ credential_hash: string | null }>(
        'SELECT credential_hash FROM iot_devices WHERE tenant = $1 AND device_id = $2',
        [tenant, id],
      );
      return res.rows[0]?.credential_hash ?? undefined;
    },
  };
}
