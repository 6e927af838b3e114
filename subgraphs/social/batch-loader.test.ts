import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { batchLoader } from './batch-loader.ts';

describe('batchLoader', () => {
  it('loads the keys asked for in one turn with one call, each once', async () => {
    const calls: string[][] = [];
    const load = batchLoader(async (keys: readonly string[]) => {
      calls.push([...keys]);
      return new Map(keys.map((k) => [k, k.length]));
    });
    assert.deepEqual(await Promise.all([load('a'), load('bb'), load('a')]), [1, 2, 1]);
    assert.deepEqual(await load('ccc'), 3);
    assert.deepEqual(await load('bb'), 2);
    assert.deepEqual(calls, [['a', 'bb'], ['ccc']]);
  });

  it('rejects every waiter of a failed batch, and a key the answer lacks', async () => {
    const failing = batchLoader(async () => {
      throw new Error('down');
    });
    await assert.rejects(Promise.all([failing(1), failing(2)]), /down/);
    const partial = batchLoader(async () => new Map([[1, 'one']]));
    assert.equal(await partial(1), 'one');
    await assert.rejects(partial(2), /no value for 2/);
  });
});
