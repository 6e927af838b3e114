/**
 * The local brokers' security: the dynamic-security plugin with anonymous access off, a
 * default of "deny" for everything but unsubscribing, and the platform's own MQTT users
 * (infra/config/mqtt-users.ts), each with a role of only what it needs. Devices are not here:
 * the device registry creates each device's user and role at run time over `$CONTROL`.
 * Provisioning is idempotent and runs after every `stack up`, so a broker started from an
 * older configuration catches up.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, globSync } from 'node:fs';
import { BRIDGE_GRANTS, COMMAND_GRANTS, type TopicGrant } from '../../domains/iot/topics.ts';
import { withTimeout } from '../adapters/dependency.ts';
import { aclsFor, assertOk, createDynsecClient, type DynsecCommand, settled } from '../adapters/dynsec.ts';
import { connected, createMqtt } from '../adapters/mqtt.ts';
import { LOCAL_MQTT_PASSWORD, MQTT_USERS, withCredentials } from '../config/mqtt-users.ts';
import { requireBinary } from './install.ts';

/** Where Debian puts the plugin (`/usr/lib/<multiarch>/mosquitto_dynamic_security.so`). */
export function dynsecPlugin(): string {
  const override = process.env.MERIDIAN_MOSQUITTO_DYNSEC_PLUGIN;
  if (override) return override;
  const found = globSync('/usr/lib/*/mosquitto_dynamic_security.so')[0] ?? '/usr/lib/mosquitto_dynamic_security.so';
  if (!existsSync(found)) {
    throw new Error('mosquitto_dynamic_security.so not found (Debian ships it in the mosquitto package)');
  }
  return found;
}

/** Creates the plugin's configuration with the admin user, once (`mosquitto_ctrl dynsec init`). */
export function initDynsecConfig(file: string, adminPassword = LOCAL_MQTT_PASSWORD): void {
  if (existsSync(file)) return;
  const res = spawnSync(requireBinary('mosquitto_ctrl'), ['dynsec', 'init', file, MQTT_USERS.admin, adminPassword], {
    encoding: 'utf8',
  });
  if (res.status !== 0) throw new Error(`mosquitto_ctrl dynsec init failed: ${res.stderr || res.stdout}`);
}

/** Where a broker listens and keeps its state. */
export interface MosquittoSite {
  readonly port: number;
  readonly dataDir: string;
  readonly dynsecConfig: string;
  /** The OS user it runs as (the data folder's owner). */
  readonly user: string;
}

/** A region broker's configuration file: every client logs in, dynamic security decides. */
export function mosquittoConfig(site: MosquittoSite): string {
  return [
    `listener ${site.port} 127.0.0.1`,
    // Every client logs in: devices with their own credentials (the device registry creates them
    // at run time), platform clients with theirs (below). mosquitto.conf(5): "allow_anonymous
    // [ true | false ] Boolean value that determines whether clients that connect without
    // providing a username are allowed to connect."
    'per_listener_settings false',
    'allow_anonymous false',
    `plugin ${dynsecPlugin()}`,
    `plugin_opt_config_file ${site.dynsecConfig}`,
    'persistence true',
    `persistence_location ${site.dataDir}/`,
    // Mosquitto saves its in-memory state (sessions, queued messages) only every
    // autosave_interval seconds (default 1800): a crash loses what arrived since.
    'autosave_interval 2',
    // Stay the data folder's owner: dropping to "mosquitto" would lose access.
    `user ${site.user}`,
    'log_dest stdout',
    'log_type error',
    'log_type warning',
    'log_type notice',
    // A QoS 1 message the broker acknowledged is dropped silently once a subscriber's queue
    // is full (default 1000). The bridge's queue holds what arrives while a bridge process
    // restarts or Kafka is away: sized deliberately (a million messages, or 1 GiB). Not 0
    // ("no limit"): with it, 2.0.11 closes a client's connection on the publish after one
    // it refused for its ACL (found here; the ACL tests in infra/iot catch it).
    'max_queued_messages 1000000',
    'max_queued_bytes 1073741824',
    // MQTT 3.1.1 clients' in-flight window (MQTT 5 clients say theirs: Receive Maximum).
    'max_inflight_messages 100',
    // A packet over this disconnects its sender (MQTT 5: DISCONNECT 0x95 "Packet too large");
    // smaller oversized telemetry reaches the bridge, which dead-letters it and tells the device.
    'max_packet_size 262144',
    'set_tcp_nodelay true',
    '',
  ].join('\n');
}

/** The general platform client: broker diagnostics and the platform's own test topics. */
const PLATFORM_GRANTS: readonly TopicGrant[] = [
  { action: 'subscribe', filter: '$SYS/#' },
  { action: 'receive', filter: '$SYS/#' },
  { action: 'publish', filter: 'meridian/#' },
  { action: 'subscribe', filter: 'meridian/#' },
  { action: 'receive', filter: 'meridian/#' },
];

const PLATFORM_CLIENTS: ReadonlyArray<{ username: string; role: string; grants: readonly TopicGrant[] }> = [
  { username: MQTT_USERS.platform, role: 'meridian-platform', grants: PLATFORM_GRANTS },
  { username: MQTT_USERS.bridge, role: 'meridian-bridge', grants: BRIDGE_GRANTS },
  { username: MQTT_USERS.commands, role: 'meridian-commands', grants: COMMAND_GRANTS },
];

/** The idempotent commands that bring a broker's platform users and defaults up to date. */
export function platformSecurityCommands(password = LOCAL_MQTT_PASSWORD): DynsecCommand[] {
  const commands: DynsecCommand[] = [
    {
      command: 'setDefaultACLAccess',
      acls: [
        { acltype: 'publishClientSend', allow: false },
        { acltype: 'publishClientReceive', allow: false },
        { acltype: 'subscribe', allow: false },
        { acltype: 'unsubscribe', allow: true },
      ],
    },
  ];
  for (const c of PLATFORM_CLIENTS) {
    commands.push({ command: 'createRole', rolename: c.role });
    for (const acl of aclsFor(c.grants)) commands.push({ command: 'addRoleACL', rolename: c.role, ...acl });
    // An existing client is left as it is (2.0.11 answers a repeated addClientRole with "Internal error").
    commands.push({ command: 'createClient', username: c.username, password, roles: [{ rolename: c.role }] });
  }
  return commands;
}

/** Logs in as the dynamic-security admin and provisions the platform users (idempotent). */
export async function provisionPlatformSecurity(mqttUrl: string, opts: { adminPassword?: string } = {}): Promise<void> {
  const adminPassword = opts.adminPassword ?? LOCAL_MQTT_PASSWORD;
  const dep = createMqtt({
    url: withCredentials(mqttUrl, MQTT_USERS.admin, adminPassword),
    clientId: `meridian-stack-provision-${process.pid}`,
    options: { reconnectPeriod: 0 },
  });
  const dynsec = createDynsecClient(dep.client);
  try {
    await connected(dep.client, 5000);
    const commands = platformSecurityCommands();
    const responses = await withTimeout(dynsec.run(commands), 10_000, 'mosquitto provisioning');
    assertOk(responses, (r) => settled(r) || /already/i.test(r.error ?? ''));
  } finally {
    await dynsec.close();
    await dep.close();
  }
}
