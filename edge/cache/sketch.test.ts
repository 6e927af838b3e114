import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createFrequencySketch } from './sketch.ts';

describe('frequency sketch', () => {
  test('estimates counts of distinct keys, never below the truth', () => {
    const sketch = createFrequencySketch({ width: 1024 });
    for (let i = 0; i < 5; i++) sketch.increment('a');
    sketch.increment('b');
    assert.equal(sketch.estimate('a'), 5);
    assert.equal(sketch.estimate('b'), 1);
    assert.equal(sketch.estimate('never'), 0);
  });

  test('saturates at maxCount', () => {
    const sketch = createFrequencySketch({ maxCount: 15 });
    for (let i = 0; i < 100; i++) sketch.increment('hot');
    assert.equal(sketch.estimate('hot'), 15);
  });

  test('halves every counter after sampleSize increments, so old popularity fades', () => {
    const sketch = createFrequencySketch({ width: 1024, sampleSize: 100 });
    for (let i = 0; i < 12; i++) sketch.increment('old');
    for (let i = 0; i < 88; i++) sketch.increment(`one-off-${i}`);
    assert.equal(sketch.resets, 1);
    assert.equal(sketch.estimate('old'), 6);
  });

  test('isHot separates the hot keys from 10,000 one-offs', () => {
    const sketch = createFrequencySketch({ width: 4096, hotThreshold: 4 });
    const hot = Array.from({ length: 20 }, (_, i) => `hot-${i}`);
    for (let i = 0; i < 10_000; i++) {
      sketch.increment(`cold-${i}`);
      if (i % 100 === 0) for (const key of hot) sketch.increment(key);
    }
    for (const key of hot) assert.ok(sketch.isHot(key), key);
    let falseHot = 0;
    for (let i = 0; i < 10_000; i++) if (sketch.isHot(`cold-${i}`)) falseHot++;
    assert.ok(falseHot < 100, `${falseHot} one-off keys look hot`);
  });

  test('clear forgets everything', () => {
    const sketch = createFrequencySketch();
    sketch.increment('a');
    sketch.clear();
    assert.equal(sketch.estimate('a'), 0);
  });
});
