/**
 * Hub topic names and who may follow them.
 *
 * Clients name topics relative to their tenant (`user.u1.orders`, `order.<uuid>`); the hub
 * keys every tenant topic by the tenant taken from the verified token (`acme/user.u1.orders`),
 * and publishers by the tenant of the event. So the same subject in two tenants follows two
 * different hub topics, and no topic name a client can send reaches another tenant's events.
 * A few platform topics (the edge purge stream) are global: keyed `*` and allowed by scope only.
 *
 * A denied topic and a topic about something that does not exist look the same (not allowed),
 * so the hub never tells a caller whether someone else's order exists.
 */
import type { Actor } from '../../domains/shared/actor.ts';

/** The client-facing topic grammar (also what transports validate). */
export const TOPIC = /^[a-z][a-z0-9_.:-]{0,199}$/;

/** Subject characters that may appear in a topic as they are; everything else is escaped. */
const PLAIN = /[a-z0-9_.-]/;

/** The hub's key for a tenant's topic. Tenants (`[a-z0-9-]`) and topics have no `/`, so the key is unambiguous. */
export function tenantTopicKey(tenant: string, topic: string): string {
  return `${tenant}/${topic}`;
}

/** The hub's key for a global (platform) topic; `*` is no tenant's name. */
export function globalTopicKey(topic: string): string {
  return `*/${topic}`;
}

/**
 * One topic segment for a subject: topics are lower-case only, but subjects are case-sensitive
 * ("Alice" and "alice" are different users), so any byte outside [a-z0-9_.-] is written as `:`
 * plus two hex digits — an injective encoding, so no two subjects share a segment. Common
 * subjects (uuids, "u1") are unchanged.
 */
export function topicSegment(subject: string): string {
  let encoded = '';
  for (const ch of subject) {
    if (PLAIN.test(ch)) encoded += ch;
    else for (const byte of new TextEncoder().encode(ch)) encoded += `:${byte.toString(16).padStart(2, '0')}`;
  }
  return encoded;
}

/** A family of tenant topics a client may follow. */
export interface HubTopic {
  /** Client-facing topic names of this family, e.g. /^order\.[0-9a-f-]{36}$/. */
  readonly pattern: RegExp;
  /** Whether `actor` may follow `topic` (already known to match `pattern`; always within the actor's tenant). */
  authorize(actor: Actor, topic: string): Promise<boolean>;
}

/** A global topic: not in any tenant, followed by holders of a scope (edge instances, ops). */
export interface GlobalTopic {
  readonly topic: string;
  readonly scope: string;
}

/** Resolves a client's topic to the hub key it may follow, or undefined when it may not. */
export type TopicResolver = (actor: Actor, topic: string) => Promise<string | undefined>;

/** The resolver over every module's topic families and the platform's global topics. */
export function topicResolver(families: readonly HubTopic[], globals: readonly GlobalTopic[] = []): TopicResolver {
  return async function resolveTopic(actor, topic) {
    if (!TOPIC.test(topic)) return undefined;
    const global = globals.find((g) => g.topic === topic);
    if (global) return actor.scopes.includes(global.scope) ? globalTopicKey(topic) : undefined;
    const family = families.find((f) => f.pattern.test(topic));
    if (family === undefined) return undefined;
    return (await family.authorize(actor, topic)) ? tenantTopicKey(actor.tenant, topic) : undefined;
  };
}
