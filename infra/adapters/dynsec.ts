/**
 * Mosquitto's dynamic security plugin, driven over MQTT (Mosquitto 2.0 "Dynamic Security"
 * documentation: "The plugin is controlled by publishing JSON commands to the
 * `$CONTROL/dynamic-security/v1` topic ... responses are published to
 * `$CONTROL/dynamic-security/v1/response`"). Several commands travel in one message and are
 * answered in one message, in order; every admin client sees every response, so a call is
 * matched to its answer by `correlationData`.
 *
 * Facts checked against Debian's Mosquitto 2.0.11 (see the README's IoT section): ACL topics are
 * literal filters (no `%u`/`%c` substitution in 2.0.x); a shared subscription is checked as the
 * whole `$share/<group>/<filter>`; `disableClient`, `deleteClient` and `setClientPassword` each
 * disconnect a connected client at once.
 */
import { randomUUID } from 'node:crypto';
import type { MqttClient } from 'mqtt';

export const DYNSEC_TOPIC = '$CONTROL/dynamic-security/v1';
export const DYNSEC_RESPONSE_TOPIC = `${DYNSEC_TOPIC}/response`;

/** One dynamic-security command (`createClient`, `addRoleACL`…) with its fields. */
export interface DynsecCommand {
  readonly command: string;
  readonly [field: string]: unknown;
}

/** The plugin's answer to one command: `error` is set when it failed. */
export interface DynsecResponse {
  readonly command: string;
  readonly error?: string;
  readonly data?: unknown;
}

/** One ACL entry of a role. */
export interface DynsecAcl {
  readonly acltype:
    | 'publishClientSend'
    | 'publishClientReceive'
    | 'subscribeLiteral'
    | 'subscribePattern'
    | 'unsubscribeLiteral'
    | 'unsubscribePattern';
  readonly topic: string;
  readonly allow: boolean;
  readonly priority?: number;
}

export interface DynsecClient {
  /** Sends the commands in one message; resolves with one response per command, in order. */
  run(commands: readonly DynsecCommand[]): Promise<DynsecResponse[]>;
  /** Stops listening for responses (the MQTT client belongs to the caller). */
  close(): Promise<void>;
}

/** A permission as domains state it (`domains/iot/topics.ts` TopicGrant): publish, receive or subscribe. */
export interface Grant {
  readonly action: 'publish' | 'receive' | 'subscribe';
  readonly filter: string;
}

const ACL_TYPE: Record<Grant['action'], DynsecAcl['acltype']> = {
  publish: 'publishClientSend',
  receive: 'publishClientReceive',
  // Pattern: the client's filter must fall within the granted one (`devices/x/commands/#` allows
  // `devices/x/commands/firmware`, never `devices/#`).
  subscribe: 'subscribePattern',
};

/** The dynamic-security ACLs (all "allow") of some grants. */
export function aclsFor(grants: readonly Grant[]): DynsecAcl[] {
  return grants.map((g) => ({ acltype: ACL_TYPE[g.action], topic: g.filter, allow: true }));
}

/** Errors that mean "already as wanted" for an idempotent create or delete. */
const ALREADY = new Set([
  'Client already exists',
  'Role already exists',
  'Group already exists',
  'ACL with this topic already exists',
  'Client not found',
  'Role not found',
  'Group not found',
  'ACL not found',
]);

/** True when a response is a success, or an error that leaves things as an idempotent call wanted. */
export function settled(r: DynsecResponse): boolean {
  return r.error === undefined || ALREADY.has(r.error);
}

/** Throws with every failed command when any response is an error (except those `tolerate` accepts). */
export function assertOk(
  responses: readonly DynsecResponse[],
  tolerate: (r: DynsecResponse) => boolean = () => false,
): void {
  const failed = responses.filter((r) => r.error !== undefined && !tolerate(r));
  if (failed.length) throw new Error(`dynamic security: ${failed.map((r) => `${r.command}: ${r.error}`).join('; ')}`);
}

/** A dynamic-security client over an MQTT client logged in as a dynsec admin. */
export function createDynsecClient(client: MqttClient, opts: { timeoutMs?: number } = {}): DynsecClient {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const waiting = new Map<string, (responses: DynsecResponse[]) => void>();
  let subscribed: Promise<unknown> | undefined;
  const onMessage = (topic: string, payload: Buffer) => {
    if (topic !== DYNSEC_RESPONSE_TOPIC) return;
    let body: { responses?: Array<DynsecResponse & { correlationData?: string }> };
    try {
      body = JSON.parse(payload.toString('utf8'));
    } catch {
      return;
    }
    const responses = body.responses ?? [];
    const id = responses[0]?.correlationData;
    const resolve = id === undefined ? undefined : waiting.get(id);
    if (!resolve) return; // another admin's answer
    waiting.delete(id as string);
    resolve(responses.map(({ correlationData: _, ...r }) => r));
  };
  client.on('message', onMessage);
  // A reconnect on a clean session forgets the subscription: subscribe again.
  const subscribe = () => {
    const attempt = client.subscribeAsync(DYNSEC_RESPONSE_TOPIC, { qos: 1 });
    attempt.catch(() => {}); // reported by the next run()
    return attempt;
  };
  const onConnect = () => {
    subscribed = subscribe();
  };
  client.on('connect', onConnect);
  return {
    async run(commands) {
      if (commands.length === 0) return [];
      // Fail fast rather than let mqtt.js queue the command for a later reconnect: a command
      // that runs after its caller gave up (and undid its other effects) would do harm.
      if (!client.connected) throw new Error('dynamic security: not connected to the broker');
      subscribed ??= subscribe();
      try {
        await subscribed;
      } catch (err) {
        subscribed = undefined;
        throw err;
      }
      const correlationData = randomUUID();
      const answer = new Promise<DynsecResponse[]>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(correlationData);
          reject(new Error(`dynamic security: no answer to ${commands[0]?.command}… within ${timeoutMs} ms`));
        }, timeoutMs);
        waiting.set(correlationData, (responses) => {
          clearTimeout(timer);
          resolve(responses);
        });
      });
      const body = JSON.stringify({ commands: commands.map((c) => ({ ...c, correlationData })) });
      try {
        // QoS 0 is never stored for a resend; the answer (or its absence) is the acknowledgement.
        await client.publishAsync(DYNSEC_TOPIC, body, { qos: 0 });
      } catch (err) {
        waiting.delete(correlationData);
        throw err;
      }
      const responses = await answer;
      if (responses.length !== commands.length) {
        throw new Error(`dynamic security: ${commands.length} commands got ${responses.length} answers`);
      }
      return responses;
    },
    async close() {
      client.off('message', onMessage);
      client.off('connect', onConnect);
    },
  };
}
