import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rejectsWith } from '../shared/testing.ts';
import { IOT_EVENTS } from './events.ts';
import { applyReport, type Job, planRollout, type Rollout, validateRolloutInput } from './rollout.ts';
import { createRollout, dispatchRollout, reportProgress } from './rollouts.ts';
import { aDevice, counterIds, manualClock, memoryCommands, memoryRegistry, memoryRollouts } from './testing.ts';

const firmware = { version: '2.0.0', url: 'https://fw.example/2.bin', checksum: `sha256:${'a'.repeat(64)}` };

async function fleet(n: number, model = 'th-100') {
  const reg = memoryRegistry();
  for (let i = 0; i < n; i++) {
    const id = `d-${String(i).padStart(2, '0')}`;
    await reg.registry.reserve('t1', id, '2026-11-30T12:00:00.000Z');
    await reg.registry.activate(aDevice({ id, model }), 'h', []);
  }
  return reg;
}

describe('validateRolloutInput', () => {
  it('takes devices or a model, firmware and a policy with defaults', () => {
    const v = validateRolloutInput({ deviceIds: ['a', 'b'], ...firmware });
    assert.deepEqual(v.target, { deviceIds: ['a', 'b'] });
    assert.deepEqual(v.policy, {
      maxConcurrent: 10,
      failureThresholdPercent: 20,
      minExecuted: 5,
      jobTimeoutMs: 600_000,
    });
  });

  it('refuses what is wrong, naming the field', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ...firmware }, 'deviceIds'],
      [{ ...firmware, deviceIds: ['a'], model: 'm' }, 'deviceIds'],
      [{ ...firmware, deviceIds: [] }, 'deviceIds'],
      [{ ...firmware, deviceIds: ['a', 'a'] }, 'deviceIds'],
      [{ ...firmware, deviceIds: ['a b'] }, 'deviceIds'],
      [{ ...firmware, model: 'm', version: 'v 2' }, 'version'],
      [{ ...firmware, model: 'm', url: 'ftp://x/y' }, 'url'],
      [{ ...firmware, model: 'm', checksum: 'md5:abc' }, 'checksum'],
      [{ ...firmware, model: 'm', maxConcurrent: 0 }, 'maxConcurrent'],
      [{ ...firmware, model: 'm', failureThresholdPercent: 101 }, 'failureThresholdPercent'],
      [{ ...firmware, model: 'm', jobTimeoutSeconds: 1.5 }, 'jobTimeoutSeconds'],
    ];
    for (const [input, field] of cases) {
      assert.throws(
        () => validateRolloutInput(input as never),
        rejectsWith('BAD_USER_INPUT', { field }),
        JSON.stringify(input),
      );
    }
  });
});

describe('planRollout', () => {
  const NOW = '2026-11-30T12:10:00.000Z';
  const rollout: Rollout = {
    id: 'r',
    tenant: 't1',
    ...firmware,
    policy: { maxConcurrent: 2, failureThresholdPercent: 50, minExecuted: 2, jobTimeoutMs: 60_000 },
    status: 'IN_PROGRESS',
    reason: null,
    createdAt: NOW,
    updatedAt: NOW,
  };
  const job = (position: number, status: Job['status'], sentAt: string | null = null): Job => ({
    id: `j${position}`,
    rolloutId: 'r',
    tenant: 't1',
    deviceId: `d${position}`,
    position,
    status,
    progress: 0,
    reason: null,
    sentAt,
    updatedAt: NOW,
    version: 1,
  });

  it('fills the free slots in dispatch order, never beyond the cap', () => {
    const p = planRollout(
      rollout,
      [job(2, 'QUEUED'), job(0, 'IN_PROGRESS', NOW), job(1, 'QUEUED'), job(3, 'QUEUED')],
      NOW,
    );
    assert.deepEqual(
      p.send.map((j) => j.id),
      ['j1'],
    );
    assert.equal(p.finish, undefined);
  });

  it('times out overdue jobs and stops at the threshold, cancelling what is queued', () => {
    const overdue = '2026-11-30T12:08:59.000Z';
    const p = planRollout(
      rollout,
      [job(0, 'SENT', overdue), job(1, 'SUCCEEDED', NOW), job(2, 'QUEUED'), job(3, 'IN_PROGRESS', NOW)],
      NOW,
    );
    assert.deepEqual(
      p.changed.map((j) => [j.id, j.status]),
      [
        ['j0', 'TIMED_OUT'],
        ['j2', 'CANCELED'],
      ],
    );
    assert.deepEqual(p.send, []);
    assert.equal(p.finish?.status, 'ABORTED');
    assert.match(p.finish?.reason ?? '', /1 of 2 finished jobs failed \(50%, threshold 50%\)/);
  });

  it('does not stop before minExecuted jobs finished, and finishes when nothing is left', () => {
    assert.equal(planRollout(rollout, [job(0, 'FAILED'), job(1, 'QUEUED')], NOW).finish, undefined);
    assert.deepEqual(planRollout(rollout, [job(0, 'SUCCEEDED'), job(1, 'SUCCEEDED')], NOW).finish, {
      status: 'SUCCEEDED',
      reason: null,
    });
    assert.equal(
      planRollout(
        { ...rollout, policy: { ...rollout.policy, failureThresholdPercent: 60 } },
        [job(0, 'FAILED'), job(1, 'SUCCEEDED')],
        NOW,
      ).finish?.status,
      'COMPLETED_WITH_FAILURES',
    );
  });

  it('a device report moves a job; a finished job ignores later reports', () => {
    const sent = job(0, 'SENT', NOW);
    const running = applyReport(sent, { status: 'IN_PROGRESS', progress: 30 }, NOW);
    assert.deepEqual([running?.status, running?.progress, running?.version], ['IN_PROGRESS', 30, 2]);
    assert.equal(applyReport(running as Job, { status: 'IN_PROGRESS', progress: 30 }, NOW), undefined);
    const failed = applyReport(running as Job, { status: 'FAILED', reason: 'no space' }, NOW);
    assert.deepEqual([failed?.status, failed?.reason], ['FAILED', 'no space']);
    assert.equal(applyReport(failed as Job, { status: 'SUCCEEDED' }, NOW), undefined);
    assert.equal(
      applyReport(job(1, 'QUEUED'), { status: 'SUCCEEDED' }, NOW)?.status,
      'SUCCEEDED',
      'the command went out before SENT was recorded',
    );
  });
});

describe('a rollout, dispatched', () => {
  it('20 devices, 2 failing, cap 2: the failures stop it at the threshold; queued jobs are never sent', async () => {
    const reg = await fleet(20);
    const store = memoryRollouts();
    const commands = memoryCommands();
    const clock = manualClock('2026-11-30T12:00:00.000Z');
    const deps = {
      rollouts: store.store,
      registry: reg.registry,
      commands: commands.sender,
      clock,
      ids: counterIds('00000000-0000-4000-9000-'),
    };
    const { rollout } = await createRollout(deps, 't1', {
      model: 'th-100',
      ...firmware,
      maxConcurrent: 2,
      failureThresholdPercent: 20,
      minExecuted: 5,
    });
    const failing = new Set(['t1.d-00', 't1.d-03']);
    let event = 0;
    for (let step = 0; step < 50; step++) {
      await dispatchRollout(deps, rollout.id);
      const current = store.jobsOf(rollout.id);
      assert.ok(current.filter((j) => j.status === 'SENT' || j.status === 'IN_PROGRESS').length <= 2);
      for (const j of current.filter((x) => x.status === 'SENT')) {
        const status = failing.has(`t1.${j.deviceId}`) ? 'FAILED' : 'SUCCEEDED';
        await reportProgress(deps, 'c', `00000000-0000-4000-8000-${String(++event).padStart(12, '0')}`, 't1', {
          deviceId: j.deviceId,
          jobId: j.id,
          status,
          receivedAt: clock.now(),
          region: 'east',
        });
      }
      clock.advance(1000);
      if ((await store.store.get('t1', rollout.id))?.rollout.status !== 'IN_PROGRESS') break;
    }
    const done = await store.store.get('t1', rollout.id);
    assert.equal(done?.rollout.status, 'ABORTED');
    const counts = Object.groupBy(done?.jobs ?? [], (j) => j.status);
    assert.deepEqual([counts.FAILED?.length, counts.SUCCEEDED?.length, counts.CANCELED?.length], [2, 4, 14]);
    const sentTo = new Set(commands.sent.map((c) => c.mqttId));
    for (const j of counts.CANCELED ?? []) assert.ok(!sentTo.has(`t1.${j.deviceId}`), j.deviceId);
    assert.equal(store.outbox.filter((e) => e.type === IOT_EVENTS.rolloutFinished).length, 1);
  });

  it('a command that cannot be sent leaves its job QUEUED for the next step; unknown or revoked targets are refused', async () => {
    const reg = await fleet(2);
    await reg.registry.update('t1', 'd-01', (d) => ({ value: { ...d, state: 'REVOKED' }, events: [] }));
    const store = memoryRollouts();
    let down = true;
    const commands = memoryCommands(() => down);
    const deps = {
      rollouts: store.store,
      registry: reg.registry,
      commands: commands.sender,
      clock: manualClock(),
      ids: counterIds(),
    };
    await assert.rejects(
      createRollout(deps, 't1', { deviceIds: ['d-00', 'nope'], ...firmware }),
      rejectsWith('DEVICE_NOT_FOUND', { deviceId: 'nope' }),
    );
    await assert.rejects(
      createRollout(deps, 't1', { deviceIds: ['d-01'], ...firmware }),
      rejectsWith('DEVICE_REVOKED', { deviceId: 'd-01' }),
    );
    await assert.rejects(
      createRollout(deps, 't2', { deviceIds: ['d-00'], ...firmware }),
      rejectsWith('DEVICE_NOT_FOUND'),
    );
    const { rollout } = await createRollout(deps, 't1', { deviceIds: ['d-00'], ...firmware });
    await dispatchRollout(deps, rollout.id);
    assert.equal(store.jobsOf(rollout.id)[0]?.status, 'QUEUED');
    down = false;
    await dispatchRollout(deps, rollout.id);
    assert.equal(store.jobsOf(rollout.id)[0]?.status, 'SENT');
    assert.deepEqual(commands.sent[0]?.command.version, '2.0.0');
  });
});
