/**
 * IoT as a domain module: the device registry and firmware subgraph; device credentials on both
 * regions' brokers (dynamic security); the MQTT → Kafka bridge; processors for device activity
 * (online, last seen, latest reading), one-minute telemetry windows, the other region's registry
 * changes, revocations at this region's broker and firmware job progress; the firmware
 * orchestrator over gRPC and its dispatcher; hub topics for devices and rollouts.
 *
 * Settings (MERIDIAN_<REGION>_IOT_…): BRIDGE_CONNECTIONS (4; 0 runs no bridge here),
 * BRIDGE_INSTANCE (`host`), MQTT_ADMIN_PASSWORD, MQTT_BRIDGE_PASSWORD, MQTT_COMMANDS_PASSWORD
 * (the local stack's by default; production refuses those), SUBGRAPH_PORT (offset 13).
 */
import { randomUUID } from 'node:crypto';
import { createMqttBridge, type MqttBridge } from '../../bridges/mqtt/bridge.ts';
import { bridgeSettings } from '../../bridges/mqtt/config.ts';
import {
  aggregateTelemetry,
  aggregateTelemetryBatch,
  recordStatus,
  recordTelemetry,
  recordTelemetryBatch,
} from '../../domains/iot/activity.ts';
import {
  type DeviceRecordData,
  IOT_EVENTS,
  type JobUpdatedData,
  type ProgressData,
  type StatusData,
  type TelemetryData,
} from '../../domains/iot/events.ts';
import { reportProgress } from '../../domains/iot/rollouts.ts';
import { parseMqttId } from '../../domains/iot/topics.ts';
import { DomainError } from '../../domains/shared/errors.ts';
import { connected, createMqtt } from '../../infra/adapters/mqtt.ts';
import { ConfigError } from '../../infra/config/endpoints.ts';
import { LOCAL_MQTT_PASSWORD, MQTT_USERS, withCredentials, withoutCredentials } from '../../infra/config/mqtt-users.ts';
import { openBrokerAdmin } from '../../infra/iot/broker-admin.ts';
import { createMqttCommandSender } from '../../infra/iot/command-sender.mqtt.ts';
import { nodeCredentialMinter } from '../../infra/iot/credential-minter.node.ts';
import { createDynsecDeviceAccess } from '../../infra/iot/device-access.dynsec.ts';
import { createPostgresDeviceRegistry, type PostgresDeviceRegistry } from '../../infra/iot/device-registry.postgres.ts';
import { createGrpcFirmwareOrchestrator } from '../../infra/iot/firmware.grpc.ts';
import { IOT_MIGRATIONS } from '../../infra/iot/migrations.ts';
import { createPostgresRolloutStore } from '../../infra/iot/rollout-store.postgres.ts';
import { createRedisSequenceGate } from '../../infra/iot/sequence-gate.redis.ts';
import { createPostgresTelemetryWindows } from '../../infra/iot/telemetry-windows.postgres.ts';
import { iotSchema } from '../../subgraphs/iot/server.ts';
import type { DomainModule, Processor, Service } from '../host/domain-module.ts';
import { addBridgeStats } from '../metrics/bridges.ts';
import { IOT_CHANGING_EVENTS, iotChangedEntities } from './changes.ts';
import { type FirmwareDispatcher, firmwareDispatcher } from './dispatcher.ts';
import { firmwareGrpcService } from './firmware-grpc.ts';
import { iotHubFeed, iotHubTopics } from './hub.ts';

/** What IoT exposes to tests and ops in a running region. */
export interface IotHandle {
  readonly registry: PostgresDeviceRegistry;
  /** The bridge of this process, when it runs one. */
  bridge(): MqttBridge | undefined;
  readonly dispatcher: FirmwareDispatcher;
}

const BROKER_ADMIN = 'iot.broker-admin';
const COMMANDS = 'iot.commands';

/** A platform MQTT user's password from the settings; production refuses the local default. */
function passwordOf(
  ctx: { setting(name: string): string | undefined; production: boolean },
  region: string,
  name: string,
): string {
  const value = ctx.setting(name) ?? LOCAL_MQTT_PASSWORD;
  if (ctx.production && value === LOCAL_MQTT_PASSWORD) {
    throw new ConfigError(
      `MERIDIAN_${region.toUpperCase()}_IOT_${name} must be set in production (not the local default)`,
    );
  }
  return value;
}

const sourceRegion = (source: string) => /^\/regions\/([a-z]+)\//.exec(source)?.[1];

export const iotModule: DomainModule<IotHandle> = {
  name: 'iot',
  events: Object.values(IOT_EVENTS),
  migrations: IOT_MIGRATIONS,
  ports: { subgraph: 13 },
  fieldCosts: {
    'Query.devices': 2,
    'User.devices': 2,
    'Query.firmwareRollout': 3,
    'Device.telemetry': 5,
    'Device.firmwareJobs': 3,
    'Mutation.registerDevice': 10,
    'Mutation.rotateDeviceCredentials': 10,
    'Mutation.revokeDevice': 5,
    'Mutation.startFirmwareRollout': 20,
  },
  changedEntities: iotChangedEntities,
  changingEvents: IOT_CHANGING_EVENTS,

  async setup(ctx) {
    const { region, peer } = ctx.config;
    const pool = ctx.deps.postgres.pool;
    const registry = createPostgresDeviceRegistry(pool, { region, service: 'iot' });
    const windows = createPostgresTelemetryWindows(pool);
    const rollouts = createPostgresRolloutStore(pool, { region, service: 'iot' });
    const clock = { now: () => new Date().toISOString() };
    const ids = { uuid: () => randomUUID() };
    const log = ctx.log;
    const tag = `${region}-${process.pid}-${randomUUID().slice(0, 6)}`;

    // The registry reaches both regions' brokers: a device may connect to either.
    const adminPassword = passwordOf(ctx, region, 'MQTT_ADMIN_PASSWORD');
    const adminUrl = (url: string) => withCredentials(url, MQTT_USERS.admin, adminPassword);
    const localAdmin = openBrokerAdmin(region, adminUrl(ctx.config.endpoints.mqttUrl), `meridian-iot-admin-${tag}`);
    const peerAdmin = openBrokerAdmin(
      peer,
      adminUrl(ctx.config.peerEndpoints.mqttUrl),
      `meridian-iot-admin-${tag}-${peer}`,
    );
    const access = createDynsecDeviceAccess([localAdmin, peerAdmin]);
    const localAccess = createDynsecDeviceAccess([localAdmin]);
    const brokers = [
      { region, url: withoutCredentials(ctx.config.endpoints.mqttUrl) },
      { region: peer, url: withoutCredentials(ctx.config.peerEndpoints.mqttUrl) },
    ];

    const commandsMqtt = createMqtt({
      url: withCredentials(
        ctx.config.endpoints.mqttUrl,
        MQTT_USERS.commands,
        passwordOf(ctx, region, 'MQTT_COMMANDS_PASSWORD'),
      ),
      clientId: `meridian-iot-commands-${tag}`,
      options: { queueQoSZero: false },
    });
    const commands = createMqttCommandSender(commandsMqtt.client);
    const orchestrator = createGrpcFirmwareOrchestrator({ address: () => ctx.grpcAddress() });
    const orchestratorDeps = { rollouts, registry, commands, clock, ids };
    const dispatcher = firmwareDispatcher('iot.firmware-dispatcher', ['migrations', COMMANDS], orchestratorDeps, {
      log,
    });

    const settings = bridgeSettings(
      ctx.config.endpoints.mqttUrl,
      (name) => ctx.setting(name),
      (name) => `MERIDIAN_${region.toUpperCase()}_IOT_${name}`,
      ctx.production,
    );
    let bridge: MqttBridge | undefined;

    const services: Service[] = [
      {
        name: BROKER_ADMIN,
        // The peer's broker may be down: this region still runs (registration then says which broker failed).
        start: async () => {
          await connected(localAdmin.mqtt.client, 5000).catch(() => {});
        },
        stop: async () => {
          await Promise.allSettled([localAdmin.close(), peerAdmin.close()]);
        },
        check: async () =>
          `${region} broker ${localAdmin.mqtt.client.connected ? 'connected' : 'DOWN'}, ` +
          `${peer} broker ${peerAdmin.mqtt.client.connected ? 'connected' : 'DOWN'}`,
      },
      {
        name: COMMANDS,
        start: async () => {
          await connected(commandsMqtt.client, 5000).catch(() => {});
        },
        stop: () => commandsMqtt.close(),
      },
      { name: 'iot.orchestrator-client', start: async () => {}, stop: async () => orchestrator.close() },
      dispatcher,
    ];
    if (settings.connections > 0) {
      // Bridge throughput and dead letters on the region's /metrics, beside the AMQP bridge's.
      addBridgeStats(ctx.metrics, 'mqtt', () => ({
        received: bridge?.stats.received ?? 0,
        produced: bridge?.stats.produced ?? 0,
        deadLettered: bridge?.stats.deadLettered ?? 0,
      }));
      services.push({
        name: 'iot.mqtt-bridge',
        needs: ['topics'],
        async start() {
          bridge = createMqttBridge(
            { region, mqttUrl: settings.mqttUrl, instance: settings.instance, connections: settings.connections },
            { kafka: ctx.deps.kafka, gate: createRedisSequenceGate(ctx.deps.redis.client), log },
          );
          await bridge.start();
        },
        stop: async () => bridge?.stop(),
        check: async () => (bridge ? bridge.check() : 'not started'),
      });
    }

    const windowsConsumer = `iot-telemetry-windows-${region}`;
    const processors: Processor[] = [
      {
        name: 'device-activity',
        topics: [IOT_EVENTS.telemetryRaw, IOT_EVENTS.statusReported],
        mirrored: true,
        fromBeginning: false,
        handle: async (event) => {
          if (event.type === IOT_EVENTS.telemetryRaw)
            await recordTelemetry(registry, event.tenant, event.data as TelemetryData);
          else await recordStatus(registry, event.tenant, event.data as StatusData);
        },
        // Readings at the bridge's rate: a run of them is one statement; a status report between
        // them keeps its place (the readings before it first).
        handleBatch: async (events) => {
          let readings: Array<{ tenant: string; data: TelemetryData }> = [];
          for (const event of events) {
            if (event.type === IOT_EVENTS.telemetryRaw) {
              readings.push({ tenant: event.tenant, data: event.data as TelemetryData });
              continue;
            }
            await recordTelemetryBatch(registry, readings);
            readings = [];
            await recordStatus(registry, event.tenant, event.data as StatusData);
          }
          await recordTelemetryBatch(registry, readings);
        },
      },
      {
        name: 'telemetry-windows',
        topics: [IOT_EVENTS.telemetryRaw],
        mirrored: true,
        handle: async (event) => {
          await aggregateTelemetry(windows, windowsConsumer, event.id, event.tenant, event.data as TelemetryData);
        },
        // A run of readings folds into its windows in one transaction (each event once, by id).
        handleBatch: async (events) => {
          await aggregateTelemetryBatch(
            windows,
            windowsConsumer,
            events.map((e) => ({ id: e.id, tenant: e.tenant, data: e.data as TelemetryData })),
          );
        },
      },
      {
        // The other region's registry writes, copied here; and every finished firmware job's version.
        name: 'device-replica',
        topics: [
          IOT_EVENTS.deviceRegistered,
          IOT_EVENTS.credentialsRotated,
          IOT_EVENTS.deviceRevoked,
          IOT_EVENTS.jobUpdated,
        ],
        mirrored: true,
        handle: async (event) => {
          if (event.type === IOT_EVENTS.jobUpdated) {
            const d = event.data as JobUpdatedData;
            if (d.status === 'SUCCEEDED') await registry.setFirmware(event.tenant, d.deviceId, d.firmwareVersion);
            return;
          }
          if (sourceRegion(event.source) === region) return; // written here already
          const d = event.data as DeviceRecordData;
          await registry.apply(event.tenant, {
            tenant: event.tenant,
            id: d.deviceId,
            name: d.name,
            model: d.model,
            firmwareVersion: d.firmwareVersion,
            state: d.state,
            credentialVersion: d.credentialVersion,
            homeRegion: d.homeRegion,
            registeredAt: d.registeredAt,
            revokedAt: d.revokedAt,
            version: d.version,
          });
        },
      },
      {
        // A revocation reaches this region's broker even if the registry could not (it retries until it does).
        name: 'access-revoker',
        topics: [IOT_EVENTS.deviceRevoked],
        mirrored: true,
        needs: [BROKER_ADMIN],
        handle: async (event) => {
          if (!parseMqttId(event.subject))
            throw new DomainError('INVALID_EVENT', `subject ${event.subject} is not a device`);
          await localAccess.revoke(event.subject);
        },
      },
      {
        name: 'firmware-progress',
        topics: [IOT_EVENTS.progressReported],
        mirrored: true,
        needs: ['migrations'],
        handle: async (event) => {
          const job = await reportProgress(
            { rollouts, clock },
            `iot-firmware-progress-${region}`,
            event.id,
            event.tenant,
            event.data as ProgressData,
          );
          if (job) dispatcher.poke();
        },
      },
    ];

    return {
      subgraph: iotSchema({
        registry,
        access,
        minter: nodeCredentialMinter,
        brokers: { brokers: () => brokers },
        clock,
        ids,
        region,
        log,
        windows,
        orchestrator,
      }),
      grpc: [firmwareGrpcService(orchestratorDeps, () => dispatcher.poke())],
      processors,
      hubTopics: iotHubTopics({
        deviceExists: async (tenant, id) => (await registry.get(tenant, id)) !== undefined,
        rolloutExists: async (tenant, id) => (await rollouts.get(tenant, id)) !== undefined,
      }),
      hubFeed: iotHubFeed,
      services,
      handle: { registry, bridge: () => bridge, dispatcher },
    };
  },
};
