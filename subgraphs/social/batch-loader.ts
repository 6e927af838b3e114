/**
 * Collects the keys asked for while one GraphQL response is being resolved and loads them in
 * one call: resolvers of sibling list items run in the same turn of the event loop, so waiting
 * for the next turn (setImmediate) gathers a page's worth. Each key is loaded once per loader.
 */

/** A loader answering one key at a time from batched `load` calls; a key missing from the answer is an error. */
export function batchLoader<K, V>(load: (keys: readonly K[]) => Promise<ReadonlyMap<K, V>>): (key: K) => Promise<V> {
  const cache = new Map<K, Promise<V>>();
  let pending: Array<{ key: K; resolve: (v: V) => void; reject: (e: unknown) => void }> = [];
  function flush() {
    const batch = pending;
    pending = [];
    load([...new Set(batch.map((b) => b.key))]).then(
      (values) => {
        for (const b of batch) {
          if (values.has(b.key)) b.resolve(values.get(b.key) as V);
          else b.reject(new Error(`batch loader: no value for ${String(b.key)}`));
        }
      },
      (err) => {
        for (const b of batch) b.reject(err);
      },
    );
  }
  return (key) => {
    const known = cache.get(key);
    if (known) return known;
    const promise = new Promise<V>((resolve, reject) => {
      if (pending.length === 0) setImmediate(flush);
      pending.push({ key, resolve, reject });
    });
    cache.set(key, promise);
    return promise;
  };
}
