/**
 * BrokerAccounts on RabbitMQ with `rabbitmqctl` (the stack's RabbitMQ runs no management plugin,
 * so there is no HTTP API to call). Each legacy partner gets a user named by its id, with rights
 * in the region's vhost only:
 * - configure: nothing (`^$`): it declares, deletes and binds nothing;
 * - write: the inbound exchange alone, and through topic permissions only routing keys
 *   `<partner id>.…` — so the key says who published, and nobody can publish as another partner;
 * - read: its own dead-letter queue, to see what the bridge refused and why.
 * Its queue (bound to `<partner id>.#`, at most `maxQueued` messages, then publishes are refused
 * with a nack — `x-overflow: reject-publish`) and dead-letter queue are declared here too.
 *
 * RabbitMQ docs, "Topic Authorisation": "topic authorisation ... applies to topic exchanges";
 * "Write permission: routing key of published messages". The password reaches rabbitmqctl on
 * stdin ("add_user <username>" without a password reads it from standard input), never argv.
 */
import { spawn } from 'node:child_process';
import type { LegacyPartner } from '../../domains/partners/legacy-partner.ts';
import type { BrokerAccounts } from '../../domains/partners/ports.ts';
import { DomainError } from '../../domains/shared/errors.ts';
import type { AmqpDependency } from '../adapters/amqp.ts';
import { inboundTopology } from './inbound-topology.ts';

export interface RabbitmqctlOptions {
  /** The rabbitmqctl executable (the Erlang one, not Debian's wrapper that switches user). */
  readonly command: string;
  /** The broker's Erlang node, e.g. `meridian@localhost`. */
  readonly node: string;
  /** A HOME holding the node's `.erlang.cookie`. */
  readonly home: string;
  /** epmd's port, when not 4369. */
  readonly epmdPort?: number;
}

/** Runs rabbitmqctl; resolves with stdout, rejects with its stderr. */
export function rabbitmqctl(o: RabbitmqctlOptions, args: readonly string[], stdin?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(o.command, ['-n', o.node, '-q', ...args], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: o.home,
        ...(o.epmdPort ? { ERL_EPMD_PORT: String(o.epmdPort) } : {}),
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`rabbitmqctl ${args[0]} exited ${code}: ${(err || out).trim()}`)),
    );
    child.stdin.end(stdin === undefined ? '' : `${stdin}\n`);
  });
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function createRabbitmqctlAccounts(opts: {
  readonly ctl: RabbitmqctlOptions;
  /** The admin connection of the region's vhost (declares the partner's queues). */
  readonly amqp: AmqpDependency;
  readonly vhost: string;
  /** The inbound exchange, e.g. `partners.inbound`. */
  readonly exchange: string;
}): BrokerAccounts {
  const topology = inboundTopology(opts.exchange);
  const ctl = (args: readonly string[], stdin?: string) => rabbitmqctl(opts.ctl, args, stdin);
  const unavailable = (err: unknown) =>
    new DomainError('DEPENDENCY_UNAVAILABLE', `broker account: ${(err as Error)?.message ?? err}`, {
      retryable: true,
      cause: err,
    });

  return {
    async provision(partner: LegacyPartner, password: string) {
      try {
        await topology.declarePartner(opts.amqp, partner);
        await ctl(['add_user', partner.id], password);
        await ctl([
          'set_permissions',
          '-p',
          opts.vhost,
          partner.id,
          '^$',
          `^${escapeRegex(opts.exchange)}$`,
          `^${escapeRegex(topology.deadQueue(partner.id))}$`,
        ]);
        await ctl([
          'set_topic_permissions',
          '-p',
          opts.vhost,
          partner.id,
          opts.exchange,
          `^${escapeRegex(partner.id)}\\.`,
          '^$',
        ]);
      } catch (err) {
        await ctl(['delete_user', partner.id]).catch(() => {});
        throw unavailable(err);
      }
    },
    async revoke(partnerId: string) {
      try {
        // Deleting the user closes its connections at once.
        await ctl(['delete_user', partnerId]);
      } catch (err) {
        if (/no_such_user|does not exist/i.test((err as Error).message)) return;
        throw unavailable(err);
      }
    },
  };
}
