/**
 * The stack's lifecycle against the real local stack. These tests stop and start
 * services, so `npm test` runs them last and alone; they end with the stack down.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { eventually } from '../infra/adapters/testing.ts';
import { which } from '../infra/stack/install.ts';
import { REPO_ROOT } from '../infra/stack/paths.ts';
import { portOwner } from '../infra/stack/ports.ts';
import { groupAlive, readTracked, runningPid } from '../infra/stack/process.ts';
import { optInEnabled, stackServices } from '../infra/stack/services.ts';
import { startRegion } from '../regions/host/region-host.ts';
import { testIdentity, testRegionConfig } from '../regions/host/testing.ts';
import { west } from '../regions/west.ts';

const exec = promisify(execFile);

interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function cli(...args: string[]): Promise<CliResult> {
  try {
    const { stdout, stderr } = await exec(
      process.execPath,
      ['--disable-warning=TimeoutNegativeWarning', path.join(REPO_ROOT, 'infra/stack/cli.ts'), ...args],
      { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024, timeout: 8 * 60 * 1000 },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

function lastJson<T>(stdout: string): T {
  const line = stdout
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{') || l.startsWith('['));
  assert.ok(line, `no JSON line in output:\n${stdout}`);
  return JSON.parse(line) as T;
}

interface UpJson {
  started: string[];
  alreadyRunning: string[];
}
interface StatusJson {
  id: string;
  healthy: boolean;
  reason: string;
  log: string;
  pid: number | null;
}

// What `up` starts here: local services, opt-in ones (Jaeger) only when enabled.
const services = stackServices(process.env).filter((s) => !s.external && optInEnabled(s, process.env, []));

describe('stack lifecycle', { concurrency: false }, () => {
  it('up on a running stack starts nothing', async () => {
    const first = await cli('up', '--json');
    assert.equal(first.code, 0, first.stderr);
    const again = await cli('up', '--json');
    assert.equal(again.code, 0, again.stderr);
    const report = lastJson<UpJson>(again.stdout);
    assert.deepEqual(report.started, []);
    assert.equal(report.alreadyRunning.length, services.length);
  });

  it('a killed service is reported unhealthy with its log path, and /ready says 503', async () => {
    const pid = runningPid('redis-west');
    assert.ok(pid, 'redis-west should be running');
    const region = await startRegion(testRegionConfig(west), { identity: testIdentity(), domains: [] });
    try {
      const before = await fetch(`http://127.0.0.1:${region.gatewayPort}/ready`);
      assert.equal(before.status, 200, await before.text());
      process.kill(pid, 'SIGKILL');
      await eventually(() => assert.equal(runningPid('redis-west'), undefined), { timeoutMs: 5000, intervalMs: 50 });

      const st = await cli('status', '--json');
      assert.equal(st.code, 1, 'status exits non-zero when a service is unhealthy');
      const redis = lastJson<StatusJson[]>(st.stdout).find((s) => s.id === 'redis-west');
      assert.ok(redis);
      assert.equal(redis.healthy, false);
      assert.match(redis.reason, /not running/);
      assert.equal(redis.log, path.join(REPO_ROOT, '.stack', 'logs', 'redis-west.log'));
      assert.ok(existsSync(redis.log));
      const human = await cli('status');
      assert.match(human.stdout, /redis\s+west\s+42379\s+-\s+-\s+NO\s+not running — see .*redis-west\.log/);

      const ready = await fetch(`http://127.0.0.1:${region.gatewayPort}/ready`);
      assert.equal(ready.status, 503);
      const body = (await ready.json()) as { status: string; dependencies: Record<string, { ok: boolean }> };
      assert.equal(body.status, 'not-ready');
      assert.equal(body.dependencies.redis?.ok, false);
      assert.equal(body.dependencies.postgres?.ok, true);
    } finally {
      await region.stop();
    }
  });

  it('a port taken by a foreign process fails up clearly and starts nothing', async () => {
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(42379, '127.0.0.1', resolve));
    try {
      const res = await cli('up', '--json');
      assert.equal(res.code, 1);
      assert.match(res.stderr, /port 42379 needed by redis-west is already taken by pid \d+/);
      assert.match(res.stderr, /Nothing was started/);
      assert.equal(runningPid('redis-west'), undefined);
      assert.equal(portOwner(42379)?.pid, process.pid);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });

  it('up restarts exactly the dead service, and a second up starts nothing', async () => {
    const res = await cli('up', '--json');
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(lastJson<UpJson>(res.stdout).started, ['redis-west']);
    const again = await cli('up', '--json');
    assert.deepEqual(lastJson<UpJson>(again.stdout).started, []);
    const st = await cli('status', '--json');
    assert.equal(st.code, 0, st.stdout);
  });

  it('a missing system package is installed by up', { timeout: 5 * 60 * 1000 }, async () => {
    // kcat is a client-only package: removing it disturbs no running service.
    const removed = spawnSync('dpkg', ['-r', 'kcat'], { encoding: 'utf8' });
    assert.equal(removed.status, 0, removed.stderr);
    assert.equal(which('kcat'), undefined);
    const res = await cli('up');
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /installed kcat/);
    assert.ok(which('kcat'));
  });

  it('down stops everything by pid, leaves no process or listener behind, and is harmless twice', async () => {
    const tracked = services.map((s) => ({ s, t: readTracked(s.id) }));
    for (const { s, t } of tracked) assert.ok(t, `${s.id} should be tracked before down`);
    const res = await cli('down');
    assert.equal(res.code, 0, res.stderr);
    for (const { s, t } of tracked) {
      assert.ok(t);
      assert.equal(groupAlive(t.pid), false, `${s.id} (pid ${t.pid}) or a child is still alive`);
      for (const port of s.ports) assert.equal(portOwner(port), undefined, `port ${port} of ${s.id} still listens`);
    }
    const again = await cli('down');
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /nothing was running/);
  });
});
