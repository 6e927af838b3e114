/**
 * What a device's firmware does over MQTT, for the simulator, the tests and the benchmark: log
 * in with its own credentials (client id = its MQTT id, persistent session), say it is online and
 * leave a will saying it is not, publish numbered telemetry (QoS 1), follow its commands (firmware
 * jobs, rejection notices) and report job progress.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { FirmwareCommand } from '../../domains/iot/rollout.ts';
import type { RejectionNotice } from '../../domains/iot/telemetry.ts';
import { deviceTopics } from '../../domains/iot/topics.ts';

export interface DeviceClientOptions {
  readonly url: string;
  readonly username: string;
  readonly password: string;
  /** The first telemetry number (a device keeps counting across reconnects). */
  readonly startSeq?: number;
  readonly keepaliveSeconds?: number;
  /** How a firmware job goes on this device. */
  readonly firmware?: { readonly fail?: boolean; readonly stepMs?: number; readonly silent?: boolean };
  /** Extra mqtt.js options (tests). */
  readonly mqtt?: IClientOptions;
}

export interface DeviceClient {
  readonly mqttId: string;
  readonly client: MqttClient;
  /** The next telemetry number (taken by sendTelemetry without an explicit seq). */
  nextSeq: number;
  readonly rejections: RejectionNotice[];
  readonly firmwareCommands: FirmwareCommand[];
  /** Connects (rejects with the CONNACK reason code on refusal), subscribes to its commands, says online. */
  connect(timeoutMs?: number): Promise<void>;
  /** Publishes one reading (QoS 1); resolves with its seq once the broker acknowledged (PUBACK). */
  sendTelemetry(metrics: Record<string, number>, opts?: { seq?: number; ts?: string }): Promise<number>;
  /** Publishes anything to any topic (QoS 1); resolves with 0, or the PUBACK's error reason code (0x87…). */
  publishRaw(topic: string, payload: string | Buffer): Promise<number>;
  /** Says offline, then disconnects. */
  close(): Promise<void>;
  /** Drops the connection without a word, as a crashed device: the broker publishes the will. */
  kill(): void;
}

export function createDeviceClient(opts: DeviceClientOptions): DeviceClient {
  const mqttId = opts.username;
  const topics = deviceTopics(mqttId);
  let seq = opts.startSeq ?? 0;
  const rejections: RejectionNotice[] = [];
  const firmwareCommands: FirmwareCommand[] = [];
  const seenJobs = new Set<string>();
  let client: MqttClient | undefined;

  function onCommand(topic: string, payload: Buffer) {
    let body: unknown;
    try {
      body = JSON.parse(payload.toString('utf8'));
    } catch {
      return;
    }
    if (topic === topics.rejected) {
      rejections.push(body as RejectionNotice);
      return;
    }
    if (topic !== topics.firmwareCommand) return;
    const command = body as FirmwareCommand;
    firmwareCommands.push(command);
    if (seenJobs.has(command.jobId) || opts.firmware?.silent) return; // a repeat, or a device that never answers
    seenJobs.add(command.jobId);
    const step = opts.firmware?.stepMs ?? 20;
    const report = (status: string, extra: Record<string, unknown> = {}) =>
      client
        ?.publishAsync(topics.jobProgress(command.jobId), JSON.stringify({ status, ...extra }), { qos: 1 })
        .catch(() => {});
    setTimeout(() => {
      void report('IN_PROGRESS', { progress: 50 });
      setTimeout(() => {
        void (opts.firmware?.fail
          ? report('FAILED', { reason: 'checksum mismatch after download' })
          : report('SUCCEEDED', { progress: 100 }));
      }, step);
    }, step);
  }

  /** Publishes QoS 1; resolves with 0 when the broker took it, or the PUBACK's error reason code. */
  async function publish(topic: string, payload: string | Buffer): Promise<number> {
    if (!client) throw new Error('not connected');
    try {
      await client.publishAsync(topic, payload, { qos: 1 });
      return 0;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'number') return code;
      throw err;
    }
  }

  return {
    mqttId,
    get client() {
      if (!client) throw new Error('not connected');
      return client;
    },
    get nextSeq() {
      return seq;
    },
    set nextSeq(n: number) {
      seq = n;
    },
    rejections,
    firmwareCommands,
    connect(timeoutMs = 10_000) {
      const c = mqtt.connect(opts.url, {
        username: opts.username,
        password: opts.password,
        clientId: mqttId,
        protocolVersion: 5,
        clean: false,
        keepalive: opts.keepaliveSeconds ?? 5,
        reconnectPeriod: 1000,
        connectTimeout: 5000,
        properties: { sessionExpiryInterval: 24 * 3600 },
        will: { topic: topics.status, payload: Buffer.from('{"online":false}'), qos: 1, retain: false },
        ...opts.mqtt,
      });
      client = c;
      c.on('message', onCommand);
      c.on('error', () => {});
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${mqttId}: not connected within ${timeoutMs} ms`)), timeoutMs);
        const refused = (err: Error & { code?: number }) => {
          if (typeof err.code !== 'number') return;
          clearTimeout(timer);
          c.end(true);
          reject(Object.assign(new Error(`${mqttId}: CONNECT refused (${err.code})`), { reasonCode: err.code }));
        };
        c.once('error', refused);
        c.on('connect', () => {
          clearTimeout(timer);
          c.off('error', refused);
          // Every (re)connect: follow the commands (kept by a resumed session anyway), say online.
          c.subscribeAsync(topics.commands, { qos: 1 })
            .then(() => c.publishAsync(topics.status, '{"online":true}', { qos: 1 }))
            .then(() => resolve(), reject);
        });
      });
    },
    async sendTelemetry(metrics, o = {}) {
      const n = o.seq ?? seq;
      if (o.seq === undefined) seq++;
      const body = JSON.stringify({ seq: n, ts: o.ts ?? new Date().toISOString(), metrics });
      const code = await publish(topics.telemetry, body);
      if (code >= 0x80) throw Object.assign(new Error(`telemetry ${n} refused (${code})`), { reasonCode: code });
      return n;
    },
    publishRaw: publish,
    async close() {
      const c = client;
      if (!c) return;
      if (c.connected) await c.publishAsync(topics.status, '{"online":false}', { qos: 1 }).catch(() => {});
      await c.endAsync();
    },
    kill() {
      const c = client;
      if (!c) return;
      c.options.reconnectPeriod = 0;
      c.stream?.destroy();
      c.end(true);
    },
  };
}
