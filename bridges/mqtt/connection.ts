/**
 * One member of the bridge's shared subscription: an MQTT 5 connection with a fixed client id
 * and a persistent session, whose PUBACKs are sent only when the bridge says so (after Kafka
 * acknowledged the message).
 *
 * MQTT 5 §4.3.2: for QoS 1 "the receiver ... MUST respond with a PUBACK packet containing the
 * Packet Identifier from the incoming PUBLISH packet, having accepted ownership of the
 * Application Message". Ownership here means "in Kafka", so the PUBACK waits. mqtt.js sends a
 * QoS 1 PUBACK right after its message handler and handles the next packet only once that PUBACK
 * is written (`customHandleAcks` holds the *next* packet too), which makes one connection carry
 * one message per Kafka round trip. Instead this module takes the PUBACK mqtt.js is about to
 * write, lets mqtt.js go on to the next packet at once, and writes the PUBACK itself later —
 * in any order: Mosquitto matches a PUBACK by packet id. A PUBACK of an earlier connection is
 * never written on a later one: after a reconnect the broker redelivers those messages (DUP).
 * This reaches into mqtt.js 5.16 internals (`_sendPacket`); the zero-loss test fails if they change.
 *
 * Backpressure: Receive Maximum alone does not bound what a member holds. Mosquitto 2.0.11 keeps
 * to it only until PUBACKs start flowing: a member acknowledging as it goes held 1,000
 * unacknowledged messages with a Receive Maximum of 10 (checked here), and a bridge under the IoT
 * benchmark held 57,000 per connection and grew to 2.4 GB. So while `holdBack()` says the bridge
 * has enough to do, mqtt.js does not take the next packet (it waits for the write callback of the
 * PUBACK before it, and its stream then stops reading the socket) until `resume()`: the rest waits
 * at the broker, in its queue. What counts is the bridge's intake, not the messages it holds for a
 * predecessor: those may wait for a message another member has yet to read. Each message received
 * counts as a sign of life for the keepalive (a PINGRESP waits behind what is held back); a pause
 * of more than about 1.5 keepalives with nothing taken (Kafka away) ends the connection, and the
 * broker redelivers what it held.
 *
 * Sessions: `clean: false` with a long Session Expiry Interval (MQTT 5 needs it > 0 to keep the
 * session), because Mosquitto 2.0.11 keeps handing shared-subscription messages to a member
 * that is offline and drops them when its session expires (eclipse-mosquitto#2662): a killed
 * member must come back under the same client id, and then gets them.
 */
import mqtt, { type IPublishPacket, type MqttClient, type Packet } from 'mqtt';
import { mqttLog } from '../../infra/adapters/mqtt.ts';

/** A message as the bridge receives it. */
export interface Incoming {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: number;
  /** 0 for QoS 0 (nothing to acknowledge). */
  readonly messageId: number;
  /** The broker resent it on a resumed session (MQTT DUP flag). */
  readonly dup: boolean;
  /** The connection it came on: its PUBACK is written only on that same connection. */
  readonly generation: number;
  /** The publisher's W3C trace context, from the MQTT 5 user property `traceparent`, if it sent one. */
  readonly traceparent?: string;
}

/** The `traceparent` user property of an MQTT 5 PUBLISH (a property may repeat: the first counts). */
export function traceparentOf(packet: Pick<IPublishPacket, 'properties'>): string | undefined {
  const v = packet.properties?.userProperties?.traceparent;
  const one = Array.isArray(v) ? v[0] : v;
  return typeof one === 'string' ? one : undefined;
}

export interface BridgeConnectionOptions {
  readonly url: string;
  readonly clientId: string;
  readonly subscriptions: readonly string[];
  /** Session Expiry Interval (s). */
  readonly sessionExpirySeconds: number;
  /** Receive Maximum: how many unacknowledged QoS 1 messages the broker may send us at once. */
  readonly receiveMaximum: number;
  readonly onMessage: (message: Incoming) => void;
  /** Whether to stop taking packets (the bridge has enough to do) until `resume()`; never by default. */
  readonly holdBack?: () => boolean;
  readonly log?: (line: string) => void;
}

export interface BridgeConnection {
  readonly clientId: string;
  /** Connects and subscribes; resolves once subscribed (rejects on a refused CONNECT). */
  start(timeoutMs?: number): Promise<void>;
  /** Writes the PUBACK of a message, if it came on the current connection. */
  ack(message: Incoming): void;
  /** Takes packets again after `holdBack()` said to stop. */
  resume(): void;
  /** Publishes (QoS 1) without waiting: notices to devices. */
  publish(topic: string, payload: string): void;
  /** Leaves the shared subscription (no new messages come to this member). */
  unsubscribe(): Promise<void>;
  /** Disconnects; `endSession` ends the session too (a graceful stop after unsubscribe). */
  close(endSession: boolean): Promise<void>;
  readonly connected: boolean;
  /** Messages received whose PUBACK is not written yet (this connection). */
  readonly unacked: number;
}

type SendPacket = (packet: Packet, cb?: (err?: Error) => void, cbStorePut?: () => void, noStore?: boolean) => void;

export function openBridgeConnection(opts: BridgeConnectionOptions): BridgeConnection {
  let client: MqttClient | undefined;
  let generation = 0;
  /** PUBACKs mqtt.js handed over, by packet id, for the current connection. */
  const held = new Map<number, Packet>();
  /** Packet ids whose PUBACK the bridge already asked for before mqtt.js produced it. */
  const early = new Set<number>();
  /** mqtt.js's go-on for its next packet, kept while the bridge holds back. */
  let stalled: (() => void) | undefined;
  /** Leaving (unsubscribe, close): never hold back again, or an UNSUBACK would wait behind. */
  let leaving = false;
  function goOn() {
    const next = stalled;
    stalled = undefined;
    next?.();
  }
  let subscribed = false;

  function write(packet: Packet, send: SendPacket) {
    send(packet, undefined, undefined, true);
  }

  function intercept(c: MqttClient) {
    const internals = c as unknown as { _sendPacket: SendPacket };
    const send = internals._sendPacket.bind(c);
    internals._sendPacket = (packet, cb, cbStorePut, noStore) => {
      if (packet.cmd === 'puback' && typeof packet.messageId === 'number') {
        const id = packet.messageId;
        if (early.delete(id)) {
          write(packet, send);
        } else {
          held.set(id, packet);
        }
        // Let mqtt.js take the next packet now, unless the bridge has enough to do.
        if (!leaving && opts.holdBack?.()) stalled = () => cb?.();
        else cb?.();
        return;
      }
      send(packet, cb, cbStorePut, noStore);
    };
    return send;
  }

  let rawSend: SendPacket | undefined;

  return {
    clientId: opts.clientId,
    get connected() {
      return client?.connected ?? false;
    },
    get unacked() {
      return held.size;
    },
    start(timeoutMs = 10_000) {
      const c = mqtt.connect(opts.url, {
        clientId: opts.clientId,
        log: mqttLog(),
        protocolVersion: 5,
        clean: false,
        keepalive: 10,
        reconnectPeriod: 500,
        connectTimeout: 5000,
        // Our own publishes (notices) are not worth keeping across a reconnect.
        queueQoSZero: false,
        properties: { sessionExpiryInterval: opts.sessionExpirySeconds, receiveMaximum: opts.receiveMaximum },
      });
      client = c;
      rawSend = intercept(c);
      c.on('error', (err) => opts.log?.(`mqtt bridge ${opts.clientId}: ${err.message}`));
      c.on('close', () => {
        // Every PUBACK not yet written belongs to a connection that is gone.
        held.clear();
        early.clear();
        goOn(); // mqtt.js drops what it had parsed from the closed stream
      });
      let aliveAt = 0;
      c.on('message', (topic: string, payload: Buffer, packet: IPublishPacket) => {
        // A message shows the broker is there: mqtt.js counts only acknowledgements and PINGRESPs,
        // and a PINGRESP waits behind every message held back, so it would time out under load.
        const now = Date.now();
        if (now - aliveAt > 1000) {
          aliveAt = now;
          c.reschedulePing(true);
        }
        opts.onMessage({
          topic,
          payload,
          qos: packet.qos,
          messageId: packet.messageId ?? 0,
          dup: packet.dup,
          generation,
          traceparent: traceparentOf(packet),
        });
      });
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${opts.clientId}: not connected within ${timeoutMs} ms`)),
          timeoutMs,
        );
        c.on('connect', (connack) => {
          generation++;
          // A resumed session keeps its subscriptions; subscribe anyway (idempotent), in case it expired.
          c.subscribeAsync([...opts.subscriptions], { qos: 1 })
            .then((granted) => {
              const refused = granted.filter((g) => g.qos > 2);
              if (refused.length) throw new Error(`subscription refused: ${refused.map((g) => g.topic).join(', ')}`);
              subscribed = true;
              clearTimeout(timer);
              if (!connack.sessionPresent) opts.log?.(`mqtt bridge ${opts.clientId}: new session`);
              resolve();
            })
            .catch((err: Error) => {
              clearTimeout(timer);
              reject(err);
            });
        });
        c.once('error', (err: Error & { code?: number }) => {
          if (!subscribed && typeof err.code === 'number') {
            clearTimeout(timer);
            reject(new Error(`${opts.clientId}: CONNECT refused (reason ${err.code}): ${err.message}`));
          }
        });
      });
    },
    ack(message) {
      if (message.qos === 0 || message.generation !== generation || !client?.connected || !rawSend) return;
      const packet = held.get(message.messageId);
      if (packet) {
        held.delete(message.messageId);
        write(packet, rawSend);
      } else {
        // mqtt.js has not produced it yet (it does right after the message event): write it then.
        early.add(message.messageId);
      }
    },
    resume() {
      goOn();
    },
    publish(topic, payload) {
      if (!client?.connected) return;
      client.publish(topic, payload, { qos: 1 }, () => {});
    },
    async unsubscribe() {
      leaving = true;
      goOn();
      if (client?.connected) await client.unsubscribeAsync([...opts.subscriptions]).catch(() => {});
    },
    async close(endSession) {
      leaving = true;
      goOn();
      if (!client) return;
      const c = client;
      await new Promise<void>((resolve) => {
        c.end(false, endSession ? { properties: { sessionExpiryInterval: 0 } } : {}, () => resolve());
      });
    },
  };
}
