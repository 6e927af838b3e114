/**
 * A Redis pub/sub channel: a text published reaches every process following the channel at that
 * moment, at most once (Redis keeps nothing for a follower that is not connected). For hints
 * whose loss only costs time, never for what must not be lost.
 */
import type { Redis } from 'ioredis';

export interface Channel {
  readonly name: string;
  /** Publishes `text`; resolves with how many followers Redis handed it to. */
  publish(text: string): Promise<number>;
  /**
   * Follows the channel on a connection of its own (a subscribed connection takes no other
   * commands, named `follow:<channel>` in CLIENT LIST); resolves once subscribed. ioredis
   * subscribes again after a reconnect.
   */
  follow(onMessage: (text: string) => void): Promise<{ stop(): Promise<void> }>;
}

export function redisChannel(client: Redis, name: string): Channel {
  return {
    name,
    publish: (text) => client.publish(name, text),
    async follow(onMessage) {
      const subscriber = client.duplicate({ connectionName: `follow:${name}` });
      subscriber.on('error', () => {});
      let following = true;
      subscriber.on('message', (channel: string, text: string) => {
        // The socket may still hand over what Redis sent before it saw the close.
        if (following && channel === name) onMessage(text);
      });
      try {
        await subscriber.subscribe(name);
      } catch (err) {
        subscriber.disconnect();
        throw err;
      }
      return {
        async stop() {
          following = false;
          subscriber.disconnect();
        },
      };
    },
  };
}
