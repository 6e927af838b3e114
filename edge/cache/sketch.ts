/**
 * Count-min sketch of key frequency with periodic halving, the "TinyLFU" frequency filter
 * (Einziger, Friedman, Manes: "TinyLFU: A Highly Efficient Cache Admission Policy", 2017).
 * A few kilobytes estimate how often each of millions of keys was asked for recently, so the
 * response cache can keep hot keys through a flood of one-off queries. Counters saturate at
 * `maxCount` (15, as in the paper and Caffeine): beyond that only "hot" matters, and small
 * counters make the aging cheap and fast to forget.
 */

/** Options of {@link createFrequencySketch}. */
export interface FrequencySketchOptions {
  /** Counters per row, rounded up to a power of two; size it to a few times the expected live keys. */
  width?: number;
  /** Rows (independent hashes); the estimate is the minimum over them. */
  depth?: number;
  /** Saturation value of a counter. */
  maxCount?: number;
  /** Increments after which every counter is halved, so past popularity fades (the "reset"). */
  sampleSize?: number;
  /** Estimated frequency from which a key counts as hot. */
  hotThreshold?: number;
}

/** Approximate, aging frequency counts of string keys. */
export interface FrequencySketch {
  /** Records one access of `key`. */
  increment(key: string): void;
  /** Estimated recent accesses of `key` (never below the true count since the last halving, capped). */
  estimate(key: string): number;
  /** Whether `key` is among the frequently accessed ones (estimate ≥ hotThreshold). */
  isHot(key: string): boolean;
  /** Halvings done so far (for metrics and tests). */
  readonly resets: number;
  clear(): void;
}

/** FNV-1a over UTF-16 code units: cheap, and good enough once mixed by fmix32 below. */
function fnv1a(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** MurmurHash3's finalizer: spreads the bits so the derived row indexes are independent enough. */
function fmix32(input: number): number {
  let h = input;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A new frequency sketch. */
export function createFrequencySketch(options: FrequencySketchOptions = {}): FrequencySketch {
  const width = 2 ** Math.ceil(Math.log2(Math.max(16, options.width ?? 4096)));
  const depth = Math.max(1, options.depth ?? 4);
  const maxCount = Math.min(255, options.maxCount ?? 15);
  const sampleSize = options.sampleSize ?? width * 10;
  const hotThreshold = options.hotThreshold ?? 4;
  const counters = new Uint8Array(width * depth);
  const mask = width - 1;
  const slots = new Int32Array(depth);
  let additions = 0;
  let resets = 0;

  // Kirsch–Mitzenmacher double hashing: row i uses h1 + i·h2, as good as independent hashes.
  const locate = (key: string): void => {
    const h1 = fnv1a(key);
    const h2 = fmix32(h1 ^ 0x9e3779b9) | 1;
    for (let row = 0; row < depth; row++) slots[row] = row * width + ((h1 + Math.imul(row, h2)) & mask);
  };
  const minimum = (): number => {
    let min = maxCount;
    for (let row = 0; row < depth; row++) min = Math.min(min, counters[slots[row] as number] as number);
    return min;
  };
  const halve = (): void => {
    for (let i = 0; i < counters.length; i++) counters[i] = (counters[i] as number) >>> 1;
    additions >>>= 1;
    resets++;
  };

  const estimate = (key: string): number => {
    locate(key);
    return minimum();
  };

  return {
    increment(key) {
      locate(key);
      const min = minimum();
      if (min >= maxCount) return;
      // Conservative update: only the counters at the minimum grow, which keeps collisions from
      // inflating the estimates of cold keys that share a counter with a hot one.
      for (let row = 0; row < depth; row++) {
        const slot = slots[row] as number;
        if (counters[slot] === min) counters[slot] = min + 1;
      }
      if (++additions >= sampleSize) halve();
    },
    estimate,
    isHot(key) {
      return estimate(key) >= hotThreshold;
    },
    get resets() {
      return resets;
    },
    clear() {
      counters.fill(0);
      additions = 0;
    },
  };
}
