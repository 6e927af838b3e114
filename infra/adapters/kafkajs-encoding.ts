/**
 * kafkajs 2.2.4's request encoding, made cheaper where a CPU profile of the MQTT bridge (which
 * encodes every reading it forwards) found it dear. Same bytes on the wire; no release of kafkajs
 * since 2023 will change these files under us (the version is pinned).
 *
 * 1. `Encoder` (protocol/encoder.js) allocates its buffer with `Buffer.alloc`: every
 *    `new Encoder()` (several per record, one per request) makes a fresh, zero-filled 512-byte
 *    ArrayBuffer, and every growth another. Here they come from `Buffer.allocUnsafe`, which slices
 *    Node's shared pool for sizes under 4 KiB. Not zero-filling is safe because an Encoder writes
 *    strictly in sequence (every method advances `offset` by exactly the bytes it wrote) and hands
 *    out only `buf.slice(0, offset)`.
 * 2. CRC-32C of a record batch (protocol/recordBatch/crc32C): a byte-at-a-time table lookup, whose
 *    wrapper also builds a Uint32Array per call to make the (already unsigned) result unsigned.
 *    Here: the same polynomial, eight bytes per step ("slicing-by-8").
 * 3. Varints (every record's length, timestamp delta, offset delta, key, value and header sizes):
 *    `writeUVarInt` collects the bytes in an array and copies them in through `Buffer.from`, and
 *    `writeVarLong`/`sizeOfVarLong` go through kafkajs's Long (object per step) even for a record's
 *    small timestamp delta. Here the bytes go straight into the buffer, and a varlong whose value
 *    fits 32 bits is zigzagged as one (the same bytes; anything else takes kafkajs's path).
 * 4. Grouping a batch's messages by partition (producer/groupMessagesPerPartition.js) copies the
 *    partition's whole array for every message (`[...current, message]`), and makes an object per
 *    message: quadratic in a partition's share of the batch (a 2,000-reading batch over three
 *    partitions copied about 330 array elements per reading). Here each message is appended: the
 *    same result (partition → its messages, in the batch's order).
 * 5. The partitioner every producer's default is made from (producer/partitioners/legacy/
 *    partitioner.js) filters the topic's partitions for a leader on every message, though only a
 *    message with neither partition nor key uses them. Here only such a message does; the same
 *    partition for every message (the Java client's murmur2 of the key, round robin without one).
 *
 * kafkajs's modules take the Encoder class and the CRC function when they are first loaded, so
 * this module must be evaluated before kafkajs is: the Kafka adapter imports it first and loads
 * kafkajs with `require`, and this module throws at import if kafkajs got there before it. The
 * replacements go into require's cache before any kafkajs file asks for them, because OpenTelemetry's
 * require hook (require-in-the-middle, for the kafkajs instrumentation) keeps the exports of every
 * file of a hooked package as it first saw them: changing a cached module's exports afterwards
 * would not reach kafkajs in a traced process. For the same reason kafkajs's own Encoder is
 * compiled here as a private copy, outside that cache.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire, Module } from 'node:module';
import path from 'node:path';
import vm from 'node:vm';

const require = createRequire(import.meta.url);

const encoderPath = require.resolve('kafkajs/src/protocol/encoder.js');
const crcPath = require.resolve('kafkajs/src/protocol/recordBatch/crc32C/index.js');
const groupPath = require.resolve('kafkajs/src/producer/groupMessagesPerPartition.js');
const partitionerPath = require.resolve('kafkajs/src/producer/partitioners/legacy/partitioner.js');
if ([encoderPath, crcPath, groupPath, partitionerPath].some((p) => require.cache[p] !== undefined)) {
  throw new Error('kafkajs was loaded before infra/adapters/kafkajs-encoding.ts: import that module first');
}

/** A CommonJS file's exports as shipped, evaluated outside require's cache (and its hooks): this module's own copies, and the tests' reference. */
export function privateCopy(filename: string): unknown {
  const wrapper = vm.compileFunction(
    readFileSync(filename, 'utf8'),
    ['exports', 'require', 'module', '__filename', '__dirname'],
    { filename },
  );
  const module = { exports: {} as unknown };
  wrapper(module.exports, createRequire(filename), module, filename, path.dirname(filename));
  return module.exports;
}

/** Puts `exports` in require's cache as the module at `filename`, before anything loads it. */
function install(filename: string, exports: unknown): void {
  const module = new Module(filename);
  module.filename = filename;
  module.loaded = true;
  module.exports = exports;
  require.cache[filename] = module;
}

interface EncoderInternals {
  buf: Buffer;
  offset: number;
}
type EncoderClass = (new (
  initialSize?: number,
) => EncoderInternals) & {
  nextPowerOfTwo(value: number): number;
  sizeOfVarLong(value: unknown): number;
  prototype: EncoderInternals & {
    ensureAvailable(length: number): void;
    writeUVarInt(value: number): unknown;
    writeVarLong(value: unknown): unknown;
  };
};

/** A varlong value that zigzags within 32 bits (kafkajs passes numbers, strings or Longs). */
const int32 = (value: unknown): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= -0x80000000 && value <= 0x7fffffff;

/** kafkajs's own Encoder class (a private copy; kafkajs's modules get PooledEncoder). */
export const KafkajsEncoder = privateCopy(encoderPath) as EncoderClass;

/** The Encoder kafkajs's modules get: the same methods, buffers from the pool. */
export const PooledEncoder = function PooledEncoder(this: EncoderInternals, initialSize = 511) {
  this.buf = Buffer.allocUnsafe(KafkajsEncoder.nextPowerOfTwo(initialSize));
  this.offset = 0;
} as unknown as EncoderClass;
// Static helpers (sizeOfVarInt, nextPowerOfTwo, …) through the prototype chain; instances are
// still `instanceof` kafkajs's Encoder.
Object.setPrototypeOf(PooledEncoder, KafkajsEncoder);
PooledEncoder.prototype = Object.create(KafkajsEncoder.prototype, {
  constructor: { value: PooledEncoder, writable: true, configurable: true },
  ensureAvailable: {
    value: function ensureAvailable(this: EncoderInternals, length: number) {
      if (this.offset + length <= this.buf.length) return;
      const grown = Buffer.allocUnsafe(KafkajsEncoder.nextPowerOfTwo(this.offset + length));
      this.buf.copy(grown, 0, 0, this.offset);
      this.buf = grown;
    },
    writable: true,
    configurable: true,
  },
  writeUVarInt: {
    // kafkajs's loop, byte for byte (the same operators, so the same bytes for any input), written
    // in place: at most five bytes, since the first `>>>` leaves 32 bits.
    value: function writeUVarInt(this: EncoderInternals & { ensureAvailable(n: number): void }, value: number) {
      this.ensureAvailable(5);
      let v = value;
      while ((v & 0xffffff80) !== 0) {
        this.buf[this.offset++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      this.buf[this.offset++] = v & 0x7f;
      return this;
    },
    writable: true,
    configurable: true,
  },
  writeVarLong: {
    value: function writeVarLong(this: { writeUVarInt(v: number): unknown }, value: unknown) {
      if (int32(value)) return this.writeUVarInt(((value << 1) ^ (value >> 31)) >>> 0);
      return KafkajsEncoder.prototype.writeVarLong.call(this, value);
    },
    writable: true,
    configurable: true,
  },
});
PooledEncoder.sizeOfVarLong = (value: unknown) => {
  if (!int32(value)) return KafkajsEncoder.sizeOfVarLong(value);
  let v = ((value << 1) ^ (value >> 31)) >>> 0;
  let bytes = 1;
  while (v > 0x7f) {
    bytes++;
    v >>>= 7;
  }
  return bytes;
};

/** CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) tables for slicing-by-8. */
const TABLES = (() => {
  const t = new Uint32Array(8 * 256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  for (let i = 0; i < 256; i++) {
    for (let k = 1; k < 8; k++) {
      const previous = t[(k - 1) * 256 + i] as number;
      t[k * 256 + i] = ((previous >>> 8) ^ (t[previous & 0xff] as number)) >>> 0;
    }
  }
  return t;
})();

/** CRC-32C of `bytes`, unsigned: what kafkajs's crc32C returns. */
export function crc32c(bytes: Uint8Array): number {
  const t = TABLES;
  let crc = 0xffffffff;
  let i = 0;
  const whole = bytes.length - (bytes.length % 8);
  for (; i < whole; i += 8) {
    const lo =
      crc ^
      ((bytes[i] as number) |
        ((bytes[i + 1] as number) << 8) |
        ((bytes[i + 2] as number) << 16) |
        ((bytes[i + 3] as number) << 24));
    const hi =
      (bytes[i + 4] as number) |
      ((bytes[i + 5] as number) << 8) |
      ((bytes[i + 6] as number) << 16) |
      ((bytes[i + 7] as number) << 24);
    crc =
      (t[1792 + (lo & 0xff)] as number) ^
      (t[1536 + ((lo >>> 8) & 0xff)] as number) ^
      (t[1280 + ((lo >>> 16) & 0xff)] as number) ^
      (t[1024 + (lo >>> 24)] as number) ^
      (t[768 + (hi & 0xff)] as number) ^
      (t[512 + ((hi >>> 8) & 0xff)] as number) ^
      (t[256 + ((hi >>> 16) & 0xff)] as number) ^
      (t[hi >>> 24] as number);
  }
  for (; i < bytes.length; i++) crc = (t[(crc ^ (bytes[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

interface PartitionMetadata {
  readonly partitionId: number;
  readonly leader: number;
}
interface KafkajsMessage {
  readonly key?: Buffer | string | null;
  readonly partition?: number | null;
  readonly value?: unknown;
}
export type Partitioner = (args: {
  topic: string;
  partitionMetadata: readonly PartitionMetadata[];
  message: KafkajsMessage;
}) => number;

/** kafkajs's groupMessagesPerPartition, appending instead of copying. */
export function groupMessagesPerPartition<M extends KafkajsMessage>(args: {
  topic: string;
  partitionMetadata: readonly PartitionMetadata[];
  messages: readonly M[];
  partitioner: Partitioner;
}): Record<number, M[]> {
  const { topic, partitionMetadata, messages, partitioner } = args;
  const result: Record<number, M[]> = {};
  if (partitionMetadata.length === 0) return result;
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    const list = result[partition];
    if (list) list.push(message);
    else result[partition] = [message];
  }
  return result;
}

/** kafkajs's partitioner factory (given its murmur2), with the leader filter only where it is used. */
export const partitionerFactory = (murmur2: (key: Buffer | string) => number) => (): Partitioner => {
  const counters: Record<string, number> = {};
  const toPositive = (x: number) => x & 0x7fffffff;
  return ({ topic, partitionMetadata, message }) => {
    if (!(topic in counters)) counters[topic] = randomBytes(4).readUInt32BE(0);
    if (message.partition !== null && message.partition !== undefined) return message.partition;
    const numPartitions = partitionMetadata.length;
    if (message.key !== null && message.key !== undefined) return toPositive(murmur2(message.key)) % numPartitions;
    const available = partitionMetadata.filter((p) => p.leader >= 0);
    counters[topic] = (counters[topic] as number) + 1;
    const i = toPositive(counters[topic] as number);
    if (available.length > 0) return (available[i % available.length] as PartitionMetadata).partitionId;
    // No partition has a leader: a non-available one (kafkajs's choice too).
    return i % numPartitions;
  };
};

install(encoderPath, PooledEncoder);
install(crcPath, crc32c);
install(groupPath, groupMessagesPerPartition);
install(partitionerPath, partitionerFactory);
