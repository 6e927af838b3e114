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
export async function provisionPlatformSecurity(
  mqttUrl: string,
  opts: { adminPassword?: string; anonymous?: boolean } = {},
): Promise<void> {
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
    if (opts.anonymous) {
      // TEMPORARY (see ANONYMOUS_DURING_MIGRATION): anonymous clients get the platform role only.
      commands.push(
        { command: 'createGroup', groupname: 'meridian-anonymous' },
        { command: 'addGroupRole', groupname: 'meridian-anonymous', rolename: 'meridian-platform' },
        { command: 'setAnonymousGroup', groupname: 'meridian-anonymous' },
      );
    }
    const responses = await withTimeout(dynsec.run(commands), 10_000, 'mosquitto provisioning');
    assertOk(responses, (r) => settled(r) || /already/i.test(r.error ?? ''));
  } finally {
    await dynsec.close();
    await dep.close();
  }
}
