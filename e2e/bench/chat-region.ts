/**
 * One chat region as its own process for the chat benchmark: `node e2e/bench/chat-region.ts
 * east|west <dev-issuer key file>`. It runs the chat domain on a scratch database of its own
 * (regions/host/testing.ts isolatedRegion), prints one JSON line with its ports and pid once
 * ready, and stops (dropping its database) when its stdin closes. Hub limits come from
 * MERIDIAN_<REGION>_HUB_*.
 */
import { chatModule } from '../../regions/chat/module.ts';
import { east } from '../../regions/east.ts';
import type { DomainModule } from '../../regions/host/domain-module.ts';
import { isolatedRegion } from '../../regions/host/testing.ts';
import { identityFromEnv } from '../../regions/identity/identity.ts';
import { west } from '../../regions/west.ts';

const [name, keyFile] = process.argv.slice(2);
if ((name !== 'east' && name !== 'west') || !keyFile) {
  console.error('usage: chat-region.ts east|west <key file>');
  process.exit(2);
}
const identity = identityFromEnv({}, { keyFile, gatewayUrl: 'http://127.0.0.1' });
const running = await isolatedRegion(name === 'east' ? east : west, [chatModule as DomainModule<unknown>], {
  identity,
  log: process.env.BENCH_REGION_LOG ? (line) => console.error(line) : undefined,
});
const { gatewayPort, hubPort } = running.region;
process.stdout.write(`${JSON.stringify({ ready: true, gatewayPort, hubPort, pid: process.pid })}\n`);
// Stops when its parent closes our stdin (or dies): no orphan holds a scratch database. Not on
// SIGTERM: Apollo Server takes that signal for itself and re-raises it once its own stop is done.
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await running.stop().catch(() => {});
  process.exit(0);
};
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
