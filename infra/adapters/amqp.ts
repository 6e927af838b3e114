/** AMQP 0-9-1 adapter (amqplib): one connection per region vhost, reopened when lost. */

import type { ChannelModel, ConfirmChannel } from 'amqplib';
import amqp from 'amqplib';
import type { Dependency } from './dependency.ts';

export interface AmqpConfig {
  /** amqp://user:pass@host:port/vhost */
  readonly url: string;
}

export interface AmqpDependency extends Dependency {
  /** The live connection, opened on first use and reopened after a loss. */
  connection(): Promise<ChannelModel>;
  /** A new channel in publisher-confirm mode, closed with the adapter. */
  confirmChannel(): Promise<ConfirmChannel>;
}

export function createAmqp(config: AmqpConfig): AmqpDependency {
  let current: Promise<ChannelModel> | undefined;
  let closed = false;
  const connection = () => {
    if (closed) return Promise.reject(new Error('amqp adapter closed'));
    current ??= amqp.connect(config.url, { timeout: 3000 }).then(
      (conn) => {
        const forget = () => {
          current = undefined;
        };
        conn.on('close', forget);
        conn.on('error', forget);
        return conn;
      },
      (err: unknown) => {
        current = undefined;
        throw err;
      },
    );
    return current;
  };
  return {
    name: 'amqp',
    connection,
    async confirmChannel() {
      return (await connection()).createConfirmChannel();
    },
    async ping() {
      const conn = await connection();
      const props = conn.connection.serverProperties as Record<string, unknown>;
      return String(props.version ?? 'unknown');
    },
    async close() {
      if (closed) return;
      const open = current;
      closed = true;
      current = undefined;
      if (open) await (await open.catch(() => undefined))?.close().catch(() => {});
    },
  };
}
