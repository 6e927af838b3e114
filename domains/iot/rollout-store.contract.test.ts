/**
 * The RolloutStore contract (ports.ts), run by every adapter's tests: memory (unit) and
 * PostgreSQL (integration). Each test uses a tenant of its own.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DomainEvent } from '../shared/events.ts';
import { IOT_EVENTS } from './events.ts';
import type { RolloutStore } from './ports.ts';
import { applyReport, type Job, moveJob, type Rollout } from './rollout.ts';
import { jobEvent } from './rollouts.ts';

export interface RolloutStoreFixture {
  readonly store: RolloutStore;
  /** Types of the committed events with this subject, oldest first. */
  eventTypes(subject: string): Promise<string[]>;
}

const fresh = (prefix: string) => `${prefix}-${randomUUID().replaceAll('-', '').slice(0, 12)}`;
const NOW = '2026-11-30T12:00:00.000Z';

function aRollout(tenant: string, devices: number): { rollout: Rollout; jobs: Job[]; events: DomainEvent[] } {
  const rollout: Rollout = {
    id: randomUUID(),
    tenant,
    version: '2.0.0',
    url: 'https://firmware.example/2.0.0.bin',
    checksum: `sha256:${'a'.repeat(64)}`,
    policy: { maxConcurrent: 2, failureThresholdPercent: 50, minExecuted: 2, jobTimeoutMs: 60_000 },
    status: 'IN_PROGRESS',
    reason: null,
    createdAt: NOW,
    updatedAt: NOW,
  };
  const jobs: Job[] = Array.from({ length: devices }, (_, position) => ({
    id: randomUUID(),
    rolloutId: rollout.id,
    tenant,
    deviceId: `dev-${position}`,
    position,
    status: 'QUEUED',
    progress: 0,
    reason: null,
    sentAt: null,
    updatedAt: NOW,
    version: 1,
  }));
  const events: DomainEvent[] = [
    {
      type: IOT_EVENTS.rolloutStarted,
      subject: rollout.id,
      tenant,
      data: { rolloutId: rollout.id, version: '2.0.0', jobs: devices },
    },
  ];
  return { rollout, jobs, events };
}

/** A step that sends the first `n` queued jobs and records them SENT. */
function sendFirst(store: RolloutStore, id: string, n: number, failFor: (j: Job) => boolean = () => false, hold = 0) {
  const sent: string[] = [];
  const ran = store.step(
    id,
    (_r, jobs) => ({ send: jobs.filter((j) => j.status === 'QUEUED').slice(0, n), changed: [] }),
    async (_r, job) => {
      if (hold) await sleep(hold);
      if (failFor(job)) throw new Error('broker down');
      sent.push(job.deviceId);
    },
    (rollout, _all, _plan, done) => {
      const jobs = done.map((j) => moveJob(j, 'SENT', NOW, { sentAt: NOW }));
      return { value: { rollout, jobs }, events: jobs.map((j) => jobEvent(rollout, j)) };
    },
  );
  return { ran, sent };
}

export function rolloutStoreContract(name: string, make: () => RolloutStoreFixture): void {
  describe(`RolloutStore contract (${name})`, () => {
    it('creates a rollout with its jobs, readable in its tenant only', async () => {
      const f = make();
      const tenant = fresh('t');
      const r = aRollout(tenant, 3);
      await f.store.create(r.rollout, r.jobs, r.events);
      const got = await f.store.get(tenant, r.rollout.id);
      assert.deepEqual(got?.rollout, r.rollout);
      assert.deepEqual(got?.jobs, r.jobs);
      assert.equal(await f.store.get(fresh('t'), r.rollout.id), undefined);
      assert.ok((await f.store.active(10_000)).includes(r.rollout.id));
      assert.deepEqual(await f.eventTypes(r.rollout.id), [IOT_EVENTS.rolloutStarted]);
      assert.deepEqual(
        (await f.store.jobsOfDevice(tenant, 'dev-1', 10)).map((j) => j.id),
        [r.jobs[1]?.id],
      );
      assert.deepEqual(await f.store.jobsOfDevice(fresh('t'), 'dev-1', 10), []);
    });

    it('a step sends, then records; a failed send leaves its job QUEUED', async () => {
      const f = make();
      const tenant = fresh('t');
      const r = aRollout(tenant, 3);
      await f.store.create(r.rollout, r.jobs, r.events);
      const { ran, sent } = sendFirst(f.store, r.rollout.id, 2, (j) => j.deviceId === 'dev-1');
      assert.equal(await ran, true);
      assert.deepEqual(sent, ['dev-0']);
      const jobs = (await f.store.get(tenant, r.rollout.id))?.jobs ?? [];
      assert.deepEqual(
        jobs.map((j) => [j.deviceId, j.status, j.version]),
        [
          ['dev-0', 'SENT', 2],
          ['dev-1', 'QUEUED', 1],
          ['dev-2', 'QUEUED', 1],
        ],
      );
      assert.deepEqual(await f.eventTypes(`${tenant}.dev-0`), [IOT_EVENTS.jobUpdated]);
    });

    it('one step at a time per rollout: a concurrent step is skipped', async () => {
      const f = make();
      const tenant = fresh('t');
      const r = aRollout(tenant, 4);
      await f.store.create(r.rollout, r.jobs, r.events);
      const first = sendFirst(f.store, r.rollout.id, 1, undefined, 300);
      await sleep(100);
      const second = sendFirst(f.store, r.rollout.id, 1);
      assert.deepEqual(await Promise.all([first.ran, second.ran]), [true, false]);
      assert.deepEqual(second.sent, []);
    });

    it('a finishing step updates the rollout and leaves the active list', async () => {
      const f = make();
      const tenant = fresh('t');
      const r = aRollout(tenant, 1);
      await f.store.create(r.rollout, r.jobs, r.events);
      await f.store.step(
        r.rollout.id,
        () => ({ send: [], changed: [], finish: { status: 'ABORTED', reason: 'stop' } }),
        async () => {},
        (rollout, jobs) => ({
          value: {
            rollout: { ...rollout, status: 'ABORTED', reason: 'stop', updatedAt: NOW },
            jobs: jobs.map((j) => moveJob(j, 'CANCELED', NOW, { reason: 'rollout aborted' })),
          },
          events: [],
        }),
      );
      const got = await f.store.get(tenant, r.rollout.id);
      assert.deepEqual(
        [got?.rollout.status, got?.rollout.reason, got?.jobs[0]?.status],
        ['ABORTED', 'stop', 'CANCELED'],
      );
      assert.ok(!(await f.store.active(10_000)).includes(r.rollout.id));
    });

    it('a report applies once per event, only to a job of that device in that tenant', async () => {
      const f = make();
      const tenant = fresh('t');
      const r = aRollout(tenant, 2);
      await f.store.create(r.rollout, r.jobs, r.events);
      const job = r.jobs[0] as Job;
      const change = (j: Job, rollout: Rollout) => {
        const next = applyReport(j, { status: 'IN_PROGRESS', progress: 40 }, NOW);
        return next && { value: next, events: [jobEvent(rollout, next)] };
      };
      const eventId = randomUUID();
      assert.equal((await f.store.reportOnce('c', eventId, tenant, 'dev-0', job.id, change))?.progress, 40);
      assert.equal(await f.store.reportOnce('c', eventId, tenant, 'dev-0', job.id, change), undefined);
      assert.equal(await f.store.reportOnce('c', randomUUID(), tenant, 'dev-1', job.id, change), undefined);
      assert.equal(await f.store.reportOnce('c', randomUUID(), fresh('t'), 'dev-0', job.id, change), undefined);
      assert.equal(await f.store.reportOnce('c', randomUUID(), tenant, 'dev-0', randomUUID(), change), undefined);
      const stored = (await f.store.get(tenant, r.rollout.id))?.jobs[0];
      assert.deepEqual([stored?.status, stored?.progress, stored?.version], ['IN_PROGRESS', 40, 2]);
    });
  });
}
