/**
 * MirrorMaker 2 replicates east <-> west with the DefaultReplicationPolicy: a topic T of
 * region R appears in the other region as `R.T`. MM2 finds new topics by polling (every 2 s
 * locally) and then restarts its tasks, so a fresh topic takes a while to show up remotely.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Admin, IHeaders } from 'kafkajs';
import { createKafka, createTopicsReady, type KafkaDependency } from '../infra/adapters/kafka.ts';
import { eventually } from '../infra/adapters/testing.ts';
import { REGIONS, type Region, resolveEndpoints } from '../infra/config/endpoints.ts';

/** How long MM2 may take to discover a new topic, create its mirror and copy the first record. */
const FIRST_RECORD_MS = 90_000;
/** Once records flow, the rest of a small batch follows quickly. */
const REST_MS = 15_000;

interface Sent {
  readonly key: string;
  readonly value: string;
  readonly headers: Record<string, string>;
}

interface Received {
  readonly key: string | undefined;
  readonly value: string;
  readonly headers: Record<string, string>;
}

function headersAsText(headers: IHeaders | undefined): Record<string, string> {
  const text: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value !== undefined) text[name] = Array.isArray(value) ? value.join(',') : value.toString();
  }
  return text;
}

function otherRegion(region: Region): Region {
  return region === 'east' ? 'west' : 'east';
}

describe('MirrorMaker 2 replication between east and west', () => {
  const run = randomUUID().replaceAll('-', '');
  // The same fresh name in both regions, as every region has its own `commerce.order.created.v1`.
  const topic = `repl.test.${run}.v1`;
  const clusters = new Map<Region, { kafka: KafkaDependency; admin: Admin }>();
  const sent = new Map<Region, Sent[]>();
  const groups = new Map<Region, string[]>(REGIONS.map((r) => [r, []]));
  let producedAt = 0;

  const cluster = (region: Region) => {
    const c = clusters.get(region);
    if (!c) throw new Error(`no kafka client for ${region}`);
    return c;
  };

  before(async () => {
    for (const region of REGIONS) {
      const kafka = createKafka({
        brokers: resolveEndpoints(region, process.env).kafkaBrokers,
        clientId: `replication-test-${run}-${region}`,
      });
      clusters.set(region, { kafka, admin: await kafka.admin() });
    }
    // Create and fill both source topics first, so MM2 discovers them in the same refresh.
    for (const region of REGIONS) {
      const created = await createTopicsReady(cluster(region).admin, [
        { topic, numPartitions: 1, replicationFactor: 1 },
      ]);
      assert.equal(created, true, `${topic} should be new in ${region}`);
      const records: Sent[] = [1, 2, 3].map((seq) => ({
        key: `order-${seq}`,
        value: JSON.stringify({ from: region, run, seq }),
        headers: {
          traceparent: `00-${randomUUID().replaceAll('-', '')}-${randomBytes(8).toString('hex')}-01`,
          'meridian-test-run': run,
          'meridian-seq': String(seq),
        },
      }));
      const producer = await cluster(region).kafka.producer();
      await producer.send({ topic, messages: records });
      sent.set(region, records);
    }
    producedAt = Date.now();
  });

  after(async () => {
    try {
      // The topics stay (unique names, a few records). Deleting one that MM2 replicates does not stick:
      // MM2's replication consumer still asks for it, the broker auto-creates it again (3 partitions,
      // empty) and MM2 mirrors that. The consumer groups are ours alone, so they go.
      for (const region of REGIONS) {
        const own = groups.get(region) ?? [];
        if (own.length === 0) continue;
        await cluster(region)
          .admin.deleteGroups(own)
          .catch(() => {});
      }
    } finally {
      await Promise.all([...clusters.values()].map(({ kafka }) => kafka.close()));
    }
  });

  for (const from of REGIONS) {
    const to = otherRegion(from);
    it(`copies records with their keys and headers from ${from} to ${to} as ${from}.<topic>`, async () => {
      const remoteTopic = `${from}.${topic}`;
      const target = cluster(to);
      const firstDeadline = producedAt + FIRST_RECORD_MS;

      // Subscribing before the mirror exists would auto-create it with the wrong shape.
      await eventually(
        async () => {
          const topics = await target.admin.listTopics();
          assert.ok(topics.includes(remoteTopic), `${remoteTopic} not yet in ${to}`);
        },
        { timeoutMs: Math.max(firstDeadline - Date.now(), 0), intervalMs: 500 },
      );

      const received: Received[] = [];
      const groupId = `replication-test-${run}-${from}-to-${to}`;
      groups.get(to)?.push(groupId);
      const consumer = target.kafka.consumer({ groupId });
      await consumer.connect();
      try {
        await consumer.subscribe({ topics: [remoteTopic], fromBeginning: true });
        await consumer.run({
          eachMessage: async ({ message }) => {
            received.push({
              key: message.key?.toString(),
              value: message.value?.toString() ?? '',
              headers: headersAsText(message.headers),
            });
          },
        });
        await eventually(() => assert.ok(received.length > 0, `nothing in ${remoteTopic} yet`), {
          timeoutMs: Math.max(firstDeadline - Date.now(), 1000),
          intervalMs: 250,
        });
        const expected = sent.get(from) ?? [];
        // MM2 is at-least-once: a task restart may copy a record twice. Judge distinct records.
        const distinct = () => [...new Map(received.map((r) => [r.value, r])).values()];
        await eventually(() => assert.equal(distinct().length, expected.length), { timeoutMs: REST_MS });

        assert.deepEqual(
          distinct().map((r) => r.value),
          expected.map((r) => r.value),
          'exactly the produced values, in the order produced (one partition)',
        );
        for (const [i, record] of distinct().entries()) {
          const original = expected[i];
          assert.ok(original);
          assert.equal(record.key, original.key);
          for (const [name, value] of Object.entries(original.headers)) {
            assert.equal(record.headers[name], value, `header ${name} survives replication`);
          }
        }
        assert.ok(
          received.every((r) => expected.some((e) => e.value === r.value)),
          'nothing but our records in the mirror',
        );
      } finally {
        await consumer.disconnect();
      }
    });
  }
});
