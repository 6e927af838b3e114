/**
 * The device simulator: `npm run devices -- --count N --rate R --region east`. Registers N
 * devices through the region gateway (a development token from its /auth/token unless --token
 * is given), connects each to the region's broker with its own credentials, and publishes R
 * readings per second per device (QoS 1) until --duration seconds pass or Ctrl-C; then says
 * offline, disconnects and revokes the devices (--keep leaves them registered and prints their
 * credentials). Prints one line of counters per second. Composition root: reads the environment.
 *
 * Options: --tenant demo, --prefix sim, --duration 0 (forever), --gateway <url> (default the
 * region's gateway), --token <jwt>, --fail-firmware <n> (the first n devices fail firmware jobs),
 * --keep.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { ConfigError, defaultPort, parseRegion } from '../../infra/config/endpoints.ts';
import { summarize } from '../bench/stats.ts';
import { registerFleet } from './fleet.ts';
import { startPublishing } from './publish.ts';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '10' },
    rate: { type: 'string', default: '1' },
    region: { type: 'string', default: 'east' },
    tenant: { type: 'string', default: 'demo' },
    prefix: { type: 'string', default: 'sim' },
    duration: { type: 'string', default: '0' },
    gateway: { type: 'string' },
    token: { type: 'string' },
    'fail-firmware': { type: 'string', default: '0' },
    keep: { type: 'boolean', default: false },
  },
});

function positive(name: string, raw: string, allowZero = false): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0))
    throw new ConfigError(`--${name}: "${raw}" is not a positive number`);
  return n;
}

try {
  const region = parseRegion(values.region);
  const count = positive('count', values.count);
  const rate = positive('rate', values.rate, true);
  const duration = positive('duration', values.duration, true);
  const failing = positive('fail-firmware', values['fail-firmware'], true);
  const portVar = `MERIDIAN_${region.toUpperCase()}_GATEWAY_PORT`;
  const gateway = values.gateway ?? `http://127.0.0.1:${process.env[portVar] ?? defaultPort(region, 'gateway')}`;
  let token = values.token;
  if (!token) {
    const res = await fetch(`${gateway}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        sub: 'device-simulator',
        tenant: values.tenant,
        scopes: ['devices:read', 'devices:write'],
      }),
    });
    if (!res.ok) throw new Error(`${gateway}/auth/token answered ${res.status}: is the region up (npm start)?`);
    token = ((await res.json()) as { access_token: string }).access_token;
  }
  const prefix = `${values.prefix}-${randomUUID().slice(0, 4)}`;
  const t0 = Date.now();
  const fleet = await registerFleet({
    graphql: `${gateway}/graphql`,
    token,
    count,
    prefix,
    region,
    client: (i) => ({ firmware: { fail: i < failing } }),
  });
  console.log(`registered ${count} devices in tenant ${values.tenant} (${prefix}-*) in ${Date.now() - t0} ms`);
  await fleet.connect();
  const first = fleet.registered[0];
  console.log(`connected to ${first?.brokers.find((b) => b.region === region)?.url}; e.g. ${first?.username}`);
  let stopping = false;
  const stop = () => {
    stopping = true;
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  if (duration > 0) setTimeout(stop, duration * 1000);
  const started = Date.now();
  const { accepted: published, done } = startPublishing(fleet.devices, {
    perDevice: Number.POSITIVE_INFINITY,
    rate,
    stop: () => stopping,
    track: false,
    metrics: (i) => ({ temperature: 20 + 5 * Math.sin(i / 20) + Math.random(), humidity: 40 + 10 * Math.random() }),
  });
  const ticker = setInterval(() => {
    const s = summarize(published.pubackMs.splice(0));
    const total = published.count;
    const rejected = fleet.devices.reduce((n, d) => n + d.rejections.length, 0);
    console.log(
      `${((Date.now() - started) / 1000).toFixed(0)}s sent ${total} (${s.n}/s) PUBACK p50 ${s.p50.toFixed(1)} ms p99 ${s.p99.toFixed(1)} ms, rejected ${rejected}`,
    );
  }, 1000);
  await done;
  clearInterval(ticker);
  await fleet.close();
  if (values.keep) {
    for (const r of fleet.registered) console.log(`${r.username} ${r.password}`);
  } else {
    await fleet.revoke();
    console.log(`revoked ${count} devices`);
  }
  process.exit(0);
} catch (err) {
  console.error(err instanceof ConfigError ? `devices: ${err.message}` : (err as Error).message);
  process.exit(1);
}
