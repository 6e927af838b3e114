/**
 * A Mosquitto of a test's own, configured exactly as the stack configures a region broker
 * (mosquittoConfig + the platform users), on a free port in a temporary folder: for tests of
 * the broker's configuration itself, which must not depend on how the shared broker was started.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { closedPort } from '../adapters/testing.ts';
import { requireBinary } from './install.ts';
import { initDynsecConfig, mosquittoConfig, provisionPlatformSecurity } from './mosquitto-security.ts';

export interface PrivateMosquitto {
  /** `mqtt://127.0.0.1:<port>` without credentials. */
  readonly url: string;
  stop(): Promise<void>;
}

/** Starts the broker, waits until it answers, provisions the platform users. */
export async function startPrivateMosquitto(): Promise<PrivateMosquitto> {
  const dir = mkdtempSync(path.join(tmpdir(), 'meridian-mosquitto-'));
  const port = await closedPort();
  const dynsecConfig = path.join(dir, 'dynamic-security.json');
  initDynsecConfig(dynsecConfig);
  const conf = path.join(dir, 'mosquitto.conf');
  writeFileSync(conf, mosquittoConfig({ port, dataDir: dir, dynsecConfig, user: userInfo().username }));
  const child: ChildProcess = spawn(requireBinary('mosquitto'), ['-c', conf], { stdio: 'ignore' });
  const url = `mqtt://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await provisionPlatformSecurity(url);
      return { url, stop };
    } catch (err) {
      if (Date.now() > deadline || child.exitCode !== null) {
        await stop();
        throw err;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
