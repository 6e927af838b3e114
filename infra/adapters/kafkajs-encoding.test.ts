/**
 * kafkajs's encoder and CRC-32C as the Kafka adapter installs them: the same bytes and checksums
 * as kafkajs's own, and kafkajs's record batches built with them decode back.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import {
  crc32c,
  groupMessagesPerPartition,
  KafkajsEncoder,
  type Partitioner,
  PooledEncoder,
  partitionerFactory,
  privateCopy,
} from './kafkajs-encoding.ts';

const require = createRequire(import.meta.url);
/** kafkajs's own CRC-32C, byte by byte (the file its replaced wrapper called). */
const kafkajsCrc32c = require('kafkajs/src/protocol/recordBatch/crc32C/crc32C.js') as (bytes: Uint8Array) => number;
/** A kafkajs file as kafkajs ships it (require's cache holds the replacement). */
const original = <T>(file: string): T => privateCopy(require.resolve(file)) as T;
type Message = { key?: string | null; partition?: number; value: string };
const murmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: Buffer | string) => number;

describe('kafkajs encoding (infra/adapters/kafkajs-encoding.ts)', () => {
  it('computes the CRC-32C kafkajs computes, at every length and alignment', () => {
    // The standard check value of CRC-32C ("123456789").
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
    for (const length of [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000, 4096, 65_537]) {
      const bytes = randomBytes(length + 3);
      for (const start of [0, 1, 3]) {
        const view = bytes.subarray(start, start + length);
        assert.equal(crc32c(view), kafkajsCrc32c(view), `length ${length}, offset ${start}`);
      }
    }
  });

  it('is what kafkajs loads: its modules get the pooled encoder and the faster CRC', () => {
    assert.equal(require('kafkajs/src/protocol/encoder.js'), PooledEncoder);
    assert.equal(require('kafkajs/src/protocol/recordBatch/crc32C/index.js'), crc32c);
    assert.ok(new PooledEncoder() instanceof KafkajsEncoder);
  });

  it('reaches kafkajs in a process started with OpenTelemetry (its require hook keeps what it first saw)', () => {
    const probe = `
      const { createRequire } = await import('node:module');
      await import(${JSON.stringify(new URL('./kafka.ts', import.meta.url).href)});
      const { PooledEncoder, crc32c, groupMessagesPerPartition, partitionerFactory } = await import(${JSON.stringify(new URL('./kafkajs-encoding.ts', import.meta.url).href)});
      const require = createRequire(${JSON.stringify(import.meta.url)});
      console.log(JSON.stringify([
        require('kafkajs/src/protocol/encoder.js') === PooledEncoder,
        require('kafkajs/src/protocol/recordBatch/crc32C/index.js') === crc32c,
        require('kafkajs/src/producer/groupMessagesPerPartition.js') === groupMessagesPerPartition,
        require('kafkajs/src/producer/partitioners/legacy/partitioner.js') === partitionerFactory,
      ]));`;
    const register = new URL('../telemetry/register.ts', import.meta.url).pathname;
    const out = execFileSync(process.execPath, ['--import', register, '--input-type=module', '-e', probe], {
      env: { ...process.env, OTEL_TRACES_EXPORTER: 'none' },
    }).toString();
    assert.deepEqual(JSON.parse(out.trim().split('\n').at(-1) as string), [true, true, true, true]);
  });

  it('encodes what kafkajs’s own encoder encodes, across growths', () => {
    type Writer = {
      writeInt8(v: number): Writer;
      writeInt16(v: number): Writer;
      writeInt32(v: number): Writer;
      writeInt64(v: string): Writer;
      writeVarInt(v: number): Writer;
      writeVarLong(v: string): Writer;
      writeString(v: string | null): Writer;
      writeVarIntString(v: string): Writer;
      writeBytes(v: Buffer | string | null): Writer;
      writeVarIntBytes(v: Buffer): Writer;
      writeEncoder(v: Writer): Writer;
      readonly buffer: Buffer;
    };
    const fill = (e: Writer, inner: Writer) => {
      for (let i = 0; i < 300; i++) {
        e.writeInt8(i % 128)
          .writeInt16(-i)
          .writeInt32(i * 65_537)
          .writeInt64(String(BigInt(i) * 4_294_967_311n))
          .writeVarInt(i * 1_000 - 150_000)
          .writeVarLong(String(-i * 123_456_789))
          .writeString(i % 7 ? `key-${i}-é` : null)
          .writeVarIntString('ü'.repeat(i % 40))
          .writeBytes(i % 5 ? Buffer.alloc(i, i) : 'text')
          .writeVarIntBytes(randomBytesOf(i));
      }
      return e.writeEncoder(inner).buffer;
    };
    let seed = 1;
    const randomBytesOf = (n: number) => Buffer.from(Array.from({ length: n }, () => (seed = (seed * 31 + 7) % 251)));
    const Ours = PooledEncoder as unknown as new (size?: number) => Writer;
    const Theirs = KafkajsEncoder as unknown as new (size?: number) => Writer;
    // Pool slices are reused: dirty the pool first so leftover bytes would show.
    for (let i = 0; i < 100; i++) Buffer.allocUnsafe(1024).fill(0xab);
    seed = 1;
    const ours = fill(new Ours(3), new Ours().writeString('inner'));
    seed = 1;
    const theirs = fill(new Theirs(3), new Theirs().writeString('inner'));
    assert.ok(ours.length > 8192, 'grew past the first buffers');
    assert.ok(ours.equals(theirs));
  });

  it('writes and sizes varints and varlongs as kafkajs does, at every boundary', () => {
    type Varints = {
      writeVarInt(v: number): Varints;
      writeUVarInt(v: number): Varints;
      writeVarLong(v: unknown): Varints;
      readonly buffer: Buffer;
    };
    const edges = [
      0,
      1,
      63,
      64,
      127,
      128,
      8191,
      8192,
      2 ** 20,
      2 ** 28,
      2 ** 30,
      2 ** 31 - 1,
      2 ** 31,
      2 ** 32,
      2 ** 40,
    ];
    const numbers = [...edges, ...edges.map((n) => -n), -(2 ** 31) - 1, 1.5, -0.5, Number.MAX_SAFE_INTEGER];
    const longs = [...numbers.filter(Number.isInteger).map(String), '9223372036854775807', '-9223372036854775808'];
    const Ours = PooledEncoder as unknown as new () => Varints;
    const Theirs = KafkajsEncoder as unknown as new () => Varints;
    for (const n of numbers) {
      for (const write of ['writeVarInt', 'writeUVarInt', 'writeVarLong'] as const) {
        if (write === 'writeVarLong' && !Number.isInteger(n)) {
          // kafkajs refuses a fractional varlong (its Long goes through BigInt): so does ours.
          assert.throws(() => new Theirs().writeVarLong(n), RangeError);
          assert.throws(() => new Ours().writeVarLong(n), RangeError);
          continue;
        }
        assert.ok(new Ours()[write](n).buffer.equals(new Theirs()[write](n).buffer), `${write}(${n})`);
      }
    }
    for (const v of longs) assert.ok(new Ours().writeVarLong(v).buffer.equals(new Theirs().writeVarLong(v).buffer), v);
    for (const v of [...numbers.filter(Number.isInteger), ...longs]) {
      assert.equal(PooledEncoder.sizeOfVarLong(v), KafkajsEncoder.sizeOfVarLong(v), `sizeOfVarLong(${v})`);
    }
  });

  it('builds record batches that decode back, with the checksum Kafka verifies', async () => {
    const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js');
    const Decoder = require('kafkajs/src/protocol/decoder.js');
    const decodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder.js');
    const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js');
    const records = Array.from({ length: 50 }, (_, i) =>
      Record({
        offsetDelta: i,
        timestampDelta: i,
        key: Buffer.from(`device-${i % 5}`),
        value: Buffer.from(JSON.stringify({ i, reading: 'x'.repeat(i * 10) })),
        headers: { 'ce-id': Buffer.from(`id-${i}`) },
      }),
    );
    const encoded: Buffer = (
      await RecordBatch({ firstTimestamp: 1_700_000_000_000, maxTimestamp: 1_700_000_000_049, records })
    ).buffer;
    // baseOffset (8), batchLength (4), partitionLeaderEpoch (4), magic (1), then the CRC of the rest.
    assert.equal(encoded.readUInt32BE(17), kafkajsCrc32c(encoded.subarray(21)));
    const decoded = await decodeBatch(new Decoder(encoded));
    assert.equal(decoded.records.length, 50);
    assert.equal(decoded.records[49].value.toString(), JSON.stringify({ i: 49, reading: 'x'.repeat(490) }));
    assert.equal(decoded.records[3].headers['ce-id'].toString(), 'id-3');
  });

  it('is what kafkajs loads for grouping by partition and for its partitioners', () => {
    assert.equal(require('kafkajs/src/producer/groupMessagesPerPartition.js'), groupMessagesPerPartition);
    assert.equal(require('kafkajs/src/producer/partitioners/legacy/partitioner.js'), partitionerFactory);
  });

  it('puts every keyed message on the partition kafkajs’s own partitioner picks, and keeps a given partition', () => {
    const theirs = original<(m: typeof murmur2) => () => Partitioner>(
      'kafkajs/src/producer/partitioners/legacy/partitioner.js',
    )(murmur2)();
    const ours = partitionerFactory(murmur2)();
    for (const partitions of [1, 3, 12]) {
      const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 0 }));
      for (let i = 0; i < 2000; i++) {
        const message = { key: `t${i % 3}.device-${i}`, value: 'v' };
        const p = ours({ topic: 't', partitionMetadata, message });
        assert.equal(p, theirs({ topic: 't', partitionMetadata, message }), message.key);
        assert.ok(p >= 0 && p < partitions);
      }
      assert.equal(ours({ topic: 't', partitionMetadata, message: { key: 'k', partition: 0, value: 'v' } }), 0);
    }
  });

  it('spreads keyless messages over the partitions that have a leader, in turn', () => {
    const partition = partitionerFactory(murmur2)();
    const partitionMetadata = [
      { partitionId: 0, leader: 0 },
      { partitionId: 1, leader: -1 },
      { partitionId: 2, leader: 0 },
    ];
    const seen = Array.from({ length: 6 }, () => partition({ topic: 't', partitionMetadata, message: { value: 'v' } }));
    assert.ok(
      seen.every((p) => p === 0 || p === 2),
      `only partitions with a leader: ${seen}`,
    );
    for (let i = 1; i < seen.length; i++) assert.notEqual(seen[i], seen[i - 1], 'in turn');
    const none = partitionMetadata.map((m) => ({ ...m, leader: -1 }));
    const p = partition({ topic: 't', partitionMetadata: none, message: { key: null, value: 'v' } });
    assert.ok(p >= 0 && p < 3, 'no leader anywhere: still a partition of the topic');
  });

  it('groups a batch by partition as kafkajs does: the same partitions, each in the batch’s order', () => {
    const theirs = original<typeof groupMessagesPerPartition>('kafkajs/src/producer/groupMessagesPerPartition.js');
    const partitioner = partitionerFactory(murmur2)();
    const partitionMetadata = Array.from({ length: 3 }, (_, partitionId) => ({ partitionId, leader: 0 }));
    const messages: Message[] = Array.from({ length: 2000 }, (_, i) =>
      i % 10 === 0 ? { partition: i % 3, value: `${i}` } : { key: `d-${i % 97}`, value: `${i}` },
    );
    const args = { topic: 't', partitionMetadata, messages, partitioner };
    const grouped = groupMessagesPerPartition(args);
    assert.deepEqual(grouped, theirs(args));
    assert.equal(Object.values(grouped).flat().length, 2000, 'every message once');
    assert.deepEqual(groupMessagesPerPartition({ ...args, partitionMetadata: [] }), {}, 'no metadata: nothing');
  });
});
