/**
 * MirrorMaker 2 replication latency: 1,000 small records produced in east, timed from
 * the produce call to their arrival in west (`east.<topic>`). Baseline, same run and
 * same records: their arrival to a consumer of the source topic in east itself.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Consumer } from 'kafkajs';
import { createKafka, createTopicsReady } from '../../infra/adapters/kafka.ts';
import { resolveEndpoints } from '../../infra/config/endpoints.ts';
import { fmt, summarize } from './stats.ts';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 1000);
const east = createKafka({ brokers: resolveEndpoints('east', process.env).kafkaBrokers, clientId: 'bench-repl' });
const west = createKafka({ brokers: resolveEndpoints('west', process.env).kafkaBrokers, clientId: 'bench-repl' });
const topic = `bench.repl.${randomUUID().slice(0, 8)}.v1`;
const remote = `east.${topic}`;

async function waitTopic(admin: Awaited<ReturnType<typeof west.admin>>, name: string, ms: number) {
  const deadline = Date.now() + ms;
  while (!(await admin.listTopics()).includes(name)) {
    if (Date.now() > deadline) throw new Error(`${name} did not appear within ${ms} ms`);
    await sleep(200);
  }
}

/** Collects arrival times per record id until `expected` distinct ids arrived. */
async function collect(consumer: Consumer, name: string, expected: number, arrivals: Map<string, number>) {
  await consumer.connect();
  await consumer.subscribe({ topic: name, fromBeginning: true });
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const id = message.key?.toString();
      if (!id || id === 'warmup' || arrivals.has(id)) return;
      arrivals.set(id, Date.now());
      if (arrivals.size >= expected) done();
    },
  });
  return finished;
}

try {
  const eastAdmin = await east.admin();
  const westAdmin = await west.admin();
  await createTopicsReady(eastAdmin, [{ topic, numPartitions: 3 }]);
  const producer = await east.producer();
  // Warm up: wait until MM2 has discovered the topic and replicates it.
  await producer.send({ topic, messages: [{ key: 'warmup', value: 'x' }] });
  const t0 = Date.now();
  await waitTopic(westAdmin, remote, 120_000);
  console.log(`mm2 discovered ${topic} and created ${remote} in west after ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  await sleep(3000);

  const produced = new Map<string, number>();
  const local = new Map<string, number>();
  const mirrored = new Map<string, number>();
  const localDone = collect(east.consumer({ groupId: `bench-local-${randomUUID()}` }), topic, RECORDS, local);
  const mirrorDone = collect(west.consumer({ groupId: `bench-mirror-${randomUUID()}` }), remote, RECORDS, mirrored);
  await sleep(2000); // let both consumer groups join before producing

  for (let i = 0; i < RECORDS; i++) {
    const id = `r${i}`;
    produced.set(id, Date.now());
    await producer.send({
      topic,
      acks: -1,
      messages: [{ key: id, value: JSON.stringify({ i, pad: 'x'.repeat(64) }) }],
    });
  }
  const timeout = sleep(120_000).then(() => {
    throw new Error(`timed out: local ${local.size}/${RECORDS}, mirrored ${mirrored.size}/${RECORDS}`);
  });
  await Promise.race([Promise.all([localDone, mirrorDone]), timeout]);

  const lat = (arrivals: Map<string, number>) => [...arrivals].map(([id, at]) => at - (produced.get(id) as number));
  const base = summarize(lat(local));
  const repl = summarize(lat(mirrored));
  console.log(`baseline  east→east (same cluster)   ${fmt(base)}`);
  console.log(`mirrored  east→west (MirrorMaker 2)  ${fmt(repl)}`);
  console.log(
    `ratio mirrored/baseline: p50 ${(repl.p50 / base.p50).toFixed(1)}x, p99 ${(repl.p99 / base.p99).toFixed(1)}x`,
  );
  console.log(
    `extra latency of replication: p50 +${(repl.p50 - base.p50).toFixed(1)}ms, p99 +${(repl.p99 - base.p99).toFixed(1)}ms`,
  );
} finally {
  await Promise.allSettled([east.close(), west.close()]);
}
process.exit(0);
