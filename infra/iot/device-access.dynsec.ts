/**
 * DeviceAccess over Mosquitto's dynamic security plugin, on every broker a device may use (its
 * region's and the failover region's). Each device gets a user named by its MQTT id, allowed
 * only that client id, and a role `device:<mqttId>` with its literal topics (2.0.x substitutes no
 * `%u`). Mosquitto kicks a connected client when its user is deleted or its password set.
 */
import { deviceGrants, type TopicGrant } from '../../domains/iot/topics.ts';
import { DomainError } from '../../domains/shared/errors.ts';
import { aclsFor, type DynsecClient, type DynsecCommand, type DynsecResponse, settled } from '../adapters/dynsec.ts';

/** One broker's dynamic-security admin client. */
export interface BrokerAdmin {
  readonly region: string;
  readonly dynsec: DynsecClient;
}

const roleOf = (mqttId: string) => `device:${mqttId}`;

function grantCommands(mqttId: string, password: string, grants: readonly TopicGrant[]): DynsecCommand[] {
  return [
    // Replace whatever is there (a half-finished earlier attempt): delete, then create.
    { command: 'deleteClient', username: mqttId },
    { command: 'deleteRole', rolename: roleOf(mqttId) },
    { command: 'createRole', rolename: roleOf(mqttId), acls: aclsFor(grants) },
    { command: 'createClient', username: mqttId, password, clientid: mqttId, roles: [{ rolename: roleOf(mqttId) }] },
  ];
}

function revokeCommands(mqttId: string): DynsecCommand[] {
  return [
    { command: 'deleteClient', username: mqttId },
    { command: 'deleteRole', rolename: roleOf(mqttId) },
  ];
}

function failure(region: string, what: string, cause: unknown): DomainError {
  return new DomainError('DEPENDENCY_UNAVAILABLE', `broker ${region}: ${what}: ${(cause as Error)?.message ?? cause}`, {
    retryable: true,
    cause,
  });
}

async function run(broker: BrokerAdmin, what: string, commands: DynsecCommand[]): Promise<DynsecResponse[]> {
  let responses: DynsecResponse[];
  try {
    responses = await broker.dynsec.run(commands);
  } catch (err) {
    throw failure(broker.region, what, err);
  }
  const failed = responses.filter((r) => !settled(r));
  if (failed.length) {
    throw failure(broker.region, what, new Error(failed.map((r) => `${r.command}: ${r.error}`).join('; ')));
  }
  return responses;
}

/** Device credentials on every broker in `brokers` (all must answer). */
export function createDynsecDeviceAccess(brokers: readonly BrokerAdmin[]) {
  const revokeEverywhere = (mqttId: string) =>
    Promise.allSettled(brokers.map((b) => run(b, `revoke ${mqttId}`, revokeCommands(mqttId))));
  return {
    async grant(mqttId: string, password: string, grants: readonly TopicGrant[]) {
      const results = await Promise.allSettled(
        brokers.map((b) => run(b, `grant ${mqttId}`, grantCommands(mqttId, password, grants))),
      );
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) {
        // All or nothing: a command that timed out may still have run, so undo on every broker.
        await revokeEverywhere(mqttId);
        throw failed.reason;
      }
    },

    async setPassword(mqttId: string, password: string) {
      await Promise.all(
        brokers.map(async (b) => {
          const [r] = await b.dynsec
            .run([{ command: 'setClientPassword', username: mqttId, password }])
            .catch((err: unknown) => {
              throw failure(b.region, `set password of ${mqttId}`, err);
            });
          if (r?.error === 'Client not found') {
            // This broker lost the device (restored from an old state): grant it afresh.
            await run(b, `grant ${mqttId}`, grantCommands(mqttId, password, deviceGrants(mqttId)));
          } else if (r?.error !== undefined) {
            throw failure(b.region, `set password of ${mqttId}`, new Error(r.error));
          }
        }),
      );
    },

    async revoke(mqttId: string) {
      const results = await revokeEverywhere(mqttId);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
  };
}
