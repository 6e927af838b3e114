/** In-memory IoT ports and builders for unit tests (integration tests use the real adapters). */
import type { Actor } from '../shared/actor.ts';
import { DomainError } from '../shared/errors.ts';
import type { DomainEvent } from '../shared/events.ts';
import type { Device, Reading } from './device.ts';
import type {
  Change,
  CommandSender,
  CredentialMinter,
  DeviceAccess,
  DeviceActivity,
  DeviceRegistry,
  DeviceReplica,
  RolloutStore,
  SequenceGate,
  TelemetryWindows,
} from './ports.ts';
import type { FirmwareCommand, Job, Rollout } from './rollout.ts';
import { decide, hole, type SequenceState, settle, skipTo } from './sequence.ts';
import type { TopicGrant } from './topics.ts';
import { fold, type TelemetryWindow } from './windows.ts';

export function anActor(overrides: Partial<Actor> = {}): Actor {
  return { subject: 'u1', tenant: 't1', scopes: ['devices:read', 'devices:write', 'firmware:write'], ...overrides };
}

export const fixedClock = { now: () => '2026-11-30T12:00:00.000Z' };

/** A clock tests move by hand. */
export function manualClock(start = '2026-11-30T12:00:00.000Z') {
  let t = Date.parse(start);
  return {
    now: () => new Date(t).toISOString(),
    advance(ms: number) {
      t += ms;
    },
  };
}

export function counterIds(prefix = '00000000-0000-4000-8000-') {
  let n = 0;
  return { uuid: () => `${prefix}${String(++n).padStart(12, '0')}` };
}

export const plainMinter: CredentialMinter & { issued: string[] } = {
  issued: [],
  newPassword() {
    const p = `pw-${this.issued.length + 1}-${Math.random().toString(36).slice(2)}`;
    this.issued.push(p);
    return p;
  },
  hash: (password) => `hash(${password})`,
};

/** A device as registerDevice makes it. */
export function aDevice(overrides: Partial<Device> = {}): Device {
  const now = fixedClock.now();
  return {
    tenant: 't1',
    id: 'sensor-1',
    name: 'Sensor 1',
    model: 'th-100',
    firmwareVersion: '1.0.0',
    state: 'ACTIVE',
    credentialVersion: 1,
    homeRegion: 'east',
    registeredAt: now,
    updatedAt: now,
    revokedAt: null,
    online: false,
    lastSeenAt: null,
    latestReading: null,
    version: 1,
    ...overrides,
  };
}

export function aReading(overrides: Partial<Reading> = {}): Reading {
  return {
    seq: 1,
    ts: '2026-11-30T12:00:10.000Z',
    receivedAt: '2026-11-30T12:00:10.050Z',
    metrics: { temperature: 21.5 },
    ...overrides,
  };
}

interface Row {
  device?: Device;
  reservedAt?: string;
  hash?: string;
  statusAt?: string;
}

/** Registry, activity and replica over one map; events land in `outbox`. */
export function memoryRegistry() {
  const rows = new Map<string, Row>();
  const outbox: DomainEvent[] = [];
  const k = (tenant: string, id: string) => `${tenant}/${id}`;
  const registry: DeviceRegistry & { hashOf(tenant: string, id: string): string | undefined } = {
    async reserve(tenant, id, now) {
      const row = rows.get(k(tenant, id));
      if (row?.device) return false;
      if (row?.reservedAt && Date.parse(now) - Date.parse(row.reservedAt) < 60_000) return false;
      rows.set(k(tenant, id), { reservedAt: now });
      return true;
    },
    async release(tenant, id) {
      const row = rows.get(k(tenant, id));
      if (row && !row.device) rows.delete(k(tenant, id));
    },
    async activate(device, hash, events) {
      const row = rows.get(k(device.tenant, device.id));
      if (!row || row.device) throw new DomainError('INTERNAL', `no reservation for ${device.id}`);
      rows.set(k(device.tenant, device.id), { device, hash });
      outbox.push(...events);
    },
    async get(tenant, id) {
      return rows.get(k(tenant, id))?.device;
    },
    async list(tenant, first, after) {
      return [...rows.values()]
        .flatMap((r) => (r.device && r.device.tenant === tenant ? [r.device] : []))
        .filter((d) => after === undefined || d.id > after)
        .sort((a, b) => (a.id < b.id ? -1 : 1))
        .slice(0, first);
    },
    async listByModel(tenant, model, limit) {
      return (await this.list(tenant, 100_000))
        .filter((d) => d.model === model && d.state === 'ACTIVE')
        .slice(0, limit);
    },
    async update(tenant, id, change) {
      const row = rows.get(k(tenant, id));
      if (!row?.device) return undefined;
      const c = change(row.device);
      if (!c) return row.device;
      row.device = c.value;
      if (c.credentialHash !== undefined) row.hash = c.credentialHash;
      outbox.push(...c.events);
      return c.value;
    },
    hashOf: (tenant, id) => rows.get(k(tenant, id))?.hash,
  };
  const activity: DeviceActivity = {
    async recordStatus(tenant, id, online, at) {
      const row = rows.get(k(tenant, id));
      if (!row?.device || (row.statusAt && row.statusAt >= at)) return;
      row.statusAt = at;
      const seen = row.device.lastSeenAt && row.device.lastSeenAt > at ? row.device.lastSeenAt : at;
      row.device = { ...row.device, online, lastSeenAt: seen };
    },
    async recordReadings(readings) {
      for (const r of readings) await this.recordReading(r.tenant, r.id, r.reading);
    },
    async recordReading(tenant, id, reading) {
      const row = rows.get(k(tenant, id));
      if (!row?.device) return;
      const d = row.device;
      const newer = d.latestReading === null || reading.seq > d.latestReading.seq;
      const seen = d.lastSeenAt && d.lastSeenAt > reading.receivedAt ? d.lastSeenAt : reading.receivedAt;
      row.device = { ...d, lastSeenAt: seen, latestReading: newer ? reading : d.latestReading };
    },
  };
  const replica: DeviceReplica = {
    async apply(tenant, record) {
      const row = rows.get(k(tenant, record.id)) ?? {};
      if (row.device && row.device.version >= record.version) return;
      const base = row.device ?? { online: false, lastSeenAt: null, latestReading: null };
      row.device = { ...base, ...record, tenant, updatedAt: record.registeredAt };
      delete row.reservedAt;
      rows.set(k(tenant, record.id), row);
    },
    async setFirmware(tenant, id, firmwareVersion) {
      const row = rows.get(k(tenant, id));
      if (row?.device) row.device = { ...row.device, firmwareVersion };
    },
  };
  return { registry, activity, replica, outbox };
}

/** Broker access kept in memory: who may log in with what, and what each may do. */
export function memoryAccess(opts: { failing?: () => boolean } = {}) {
  const users = new Map<string, { password: string; grants: readonly TopicGrant[] }>();
  const kicked: string[] = [];
  const check = () => {
    if (opts.failing?.()) throw new DomainError('DEPENDENCY_UNAVAILABLE', 'broker down', { retryable: true });
  };
  const access: DeviceAccess = {
    async grant(mqttId, password, grants) {
      check();
      users.set(mqttId, { password, grants });
    },
    async setPassword(mqttId, password) {
      check();
      const u = users.get(mqttId);
      if (!u) throw new DomainError('INTERNAL', `no broker user ${mqttId}`);
      users.set(mqttId, { ...u, password });
      kicked.push(mqttId);
    },
    async revoke(mqttId) {
      check();
      if (users.delete(mqttId)) kicked.push(mqttId);
    },
  };
  return {
    access,
    kicked,
    login: (mqttId: string, password: string) => users.get(mqttId)?.password === password,
    grantsOf: (mqttId: string) => users.get(mqttId)?.grants,
  };
}

/** Windows in memory, applied once per (consumer, event id). */
export function memoryWindows(): TelemetryWindows {
  const windows = new Map<string, TelemetryWindow>();
  const seen = new Set<string>();
  return {
    async addOnce(consumer, eventId, tenant, deviceId, points) {
      if (seen.has(`${consumer} ${eventId}`)) return false;
      seen.add(`${consumer} ${eventId}`);
      for (const p of points) {
        const key = `${tenant}/${deviceId}/${p.metric}/${p.start}`;
        windows.set(key, fold(windows.get(key), p));
      }
      return true;
    },
    async addManyOnce(consumer, items) {
      let added = 0;
      for (const i of items) if (await this.addOnce(consumer, i.eventId, i.tenant, i.deviceId, i.points)) added++;
      return added;
    },
    async query(tenant, deviceId, metric, from, to) {
      return [...windows.entries()]
        .filter(([key, w]) => key.startsWith(`${tenant}/${deviceId}/${metric}/`) && w.start >= from && w.start < to)
        .map(([, w]) => w)
        .sort((a, b) => (a.start < b.start ? -1 : 1));
    },
  };
}

/** Rollouts in memory (one step at a time per rollout, like the row lock). */
export function memoryRollouts() {
  const rollouts = new Map<string, Rollout>();
  const jobs = new Map<string, Job>();
  const marks = new Set<string>();
  const busy = new Set<string>();
  const outbox: DomainEvent[] = [];
  const jobsOf = (id: string) =>
    [...jobs.values()].filter((j) => j.rolloutId === id).sort((a, b) => a.position - b.position);
  const store: RolloutStore = {
    async create(rollout, js, events) {
      rollouts.set(rollout.id, rollout);
      for (const j of js) jobs.set(j.id, j);
      outbox.push(...events);
    },
    async get(tenant, id) {
      const r = rollouts.get(id);
      return r && r.tenant === tenant ? { rollout: r, jobs: jobsOf(id) } : undefined;
    },
    async jobsOfDevice(tenant, deviceId, first) {
      return [...jobs.values()]
        .filter((j) => j.tenant === tenant && j.deviceId === deviceId)
        .sort((a, b) => (a.updatedAt < b.updatedAt ? 1 : a.updatedAt > b.updatedAt ? -1 : 0))
        .slice(0, first);
    },
    async active(limit) {
      return [...rollouts.values()]
        .filter((r) => r.status === 'IN_PROGRESS')
        .slice(0, limit)
        .map((r) => r.id);
    },
    async step(id, plan, send, commit) {
      const rollout = rollouts.get(id);
      if (!rollout || busy.has(id)) return false;
      busy.add(id);
      try {
        const all = jobsOf(id);
        const p = plan(rollout, all);
        const sent: Job[] = [];
        for (const j of p.send) {
          try {
            await send(rollout, j);
            sent.push(j);
          } catch {
            // stays QUEUED; the next step sends it again
          }
        }
        const c: Change<{ rollout: Rollout; jobs: Job[] }> = commit(rollout, all, p, sent);
        rollouts.set(id, c.value.rollout);
        for (const j of c.value.jobs) jobs.set(j.id, j);
        outbox.push(...c.events);
        return true;
      } finally {
        busy.delete(id);
      }
    },
    async reportOnce(consumer, eventId, tenant, deviceId, jobId, change) {
      const job = jobs.get(jobId);
      if (!job || job.tenant !== tenant || job.deviceId !== deviceId) return undefined;
      if (marks.has(`${consumer} ${eventId}`)) return undefined;
      marks.add(`${consumer} ${eventId}`);
      const c = change(job, rollouts.get(job.rolloutId) as Rollout);
      if (!c) return undefined;
      jobs.set(jobId, c.value);
      outbox.push(...c.events);
      return c.value;
    },
  };
  return { store, outbox, jobsOf };
}

/** Commands recorded, not sent; `failFor` makes sends to some devices fail. */
export function memoryCommands(failFor: (mqttId: string) => boolean = () => false) {
  const sent: Array<{ mqttId: string; command: FirmwareCommand }> = [];
  const sender: CommandSender = {
    async sendFirmware(mqttId, command) {
      if (failFor(mqttId)) throw new DomainError('DEPENDENCY_UNAVAILABLE', 'broker down', { retryable: true });
      sent.push({ mqttId, command });
    },
  };
  return { sender, sent };
}

/** The reference sequence gate (one process). */
export function memoryGate(now: () => number = Date.now): SequenceGate {
  const states = new Map<string, SequenceState>();
  return {
    decide: async (items, inFlight) => decide(states, items, now(), inFlight),
    settle: async (items) => settle(states, items),
    skipTo: async (key, seq) => skipTo(states, key, seq),
    hole: async (key) => hole(states, key),
  };
}
