/**
 * Least-recently-used map bounded by total bytes (each entry's value size plus its key), not by
 * count: cached GraphQL responses range from a few bytes to megabytes, so a count bound would
 * either waste memory or blow the budget. Every operation is O(1): a Map finds the node, a
 * doubly linked list keeps recency order.
 */
import { utf8Length } from './bytes.ts';

interface Node<V> {
  key: string;
  value: V;
  size: number;
  prev: Node<V> | null;
  next: Node<V> | null;
}

/** Options of {@link createByteLru}. */
export interface ByteLruOptions<V> {
  /** Budget for the sum of entry sizes (value size from `sizeOf` plus the key's UTF-8 length). */
  maxBytes: number;
  /** Bytes a value occupies (the key is added by the LRU). */
  sizeOf: (value: V) => number;
  /** Called for each entry pushed out to make room (not for explicit deletes or replacements). */
  onEvict?: (key: string, value: V) => void;
}

/** A byte-bounded LRU map. */
export interface ByteLru<V> {
  readonly maxBytes: number;
  /** Bytes currently held. */
  readonly bytes: number;
  /** Entries currently held. */
  readonly size: number;
  /** The value, marking it most recently used. */
  get(key: string): V | undefined;
  /** The value, leaving recency untouched. */
  peek(key: string): V | undefined;
  has(key: string): boolean;
  /** Stores the value as most recently used, evicting from the cold end; false when it alone exceeds the budget. */
  set(key: string, value: V): boolean;
  /** Removes the entry; true if it was there. */
  delete(key: string): boolean;
  /** Bytes the entry would take (value plus key), as `set` would count it. */
  sizeOf(key: string, value: V): number;
  /** Keys from least to most recently used: the eviction order, for admission decisions. */
  coldest(): IterableIterator<[key: string, value: V, size: number]>;
  clear(): void;
}

/** A new byte-bounded LRU. */
export function createByteLru<V>(options: ByteLruOptions<V>): ByteLru<V> {
  const { maxBytes, onEvict } = options;
  if (!(maxBytes > 0)) throw new RangeError(`maxBytes must be positive, got ${maxBytes}`);
  const nodes = new Map<string, Node<V>>();
  // head is the most recently used node, tail the least.
  let head: Node<V> | null = null;
  let tail: Node<V> | null = null;
  let bytes = 0;

  const unlink = (node: Node<V>): void => {
    if (node.prev) node.prev.next = node.next;
    else head = node.next;
    if (node.next) node.next.prev = node.prev;
    else tail = node.prev;
    node.prev = null;
    node.next = null;
  };
  const pushFront = (node: Node<V>): void => {
    node.next = head;
    node.prev = null;
    if (head) head.prev = node;
    head = node;
    if (!tail) tail = node;
  };
  const remove = (node: Node<V>): void => {
    unlink(node);
    nodes.delete(node.key);
    bytes -= node.size;
  };
  const entrySize = (key: string, value: V): number => options.sizeOf(value) + utf8Length(key);

  return {
    maxBytes,
    get bytes() {
      return bytes;
    },
    get size() {
      return nodes.size;
    },
    get(key) {
      const node = nodes.get(key);
      if (!node) return undefined;
      if (node !== head) {
        unlink(node);
        pushFront(node);
      }
      return node.value;
    },
    peek(key) {
      return nodes.get(key)?.value;
    },
    has(key) {
      return nodes.has(key);
    },
    set(key, value) {
      const size = entrySize(key, value);
      const existing = nodes.get(key);
      if (existing) remove(existing);
      if (size > maxBytes) return false;
      while (tail && bytes + size > maxBytes) {
        const victim = tail;
        remove(victim);
        onEvict?.(victim.key, victim.value);
      }
      const node: Node<V> = { key, value, size, prev: null, next: null };
      nodes.set(key, node);
      pushFront(node);
      bytes += size;
      return true;
    },
    delete(key) {
      const node = nodes.get(key);
      if (!node) return false;
      remove(node);
      return true;
    },
    sizeOf: entrySize,
    *coldest() {
      for (let node = tail; node; node = node.prev) yield [node.key, node.value, node.size];
    },
    clear() {
      nodes.clear();
      head = null;
      tail = null;
      bytes = 0;
    },
  };
}
