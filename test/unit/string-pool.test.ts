import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StringPool } from '../../src/kernel/string-pool.js';

/** A string equal to `s` but not the same heap object (as JSON.parse makes one per value). */
const copy = (s: string) => JSON.parse(JSON.stringify(s)) as string;

describe('StringPool', () => {
  it('gives every equal string one entry, however often it comes', () => {
    const pool = new StringPool(100);
    for (const s of ['vkube-order-one', 'registry.example/app:1', copy('vkube-order-one'), copy('registry.example/app:1')]) {
      // JavaScript cannot tell two equal strings apart: the pool's size says each was kept once.
      assert.equal(pool.intern(s), s);
    }
    assert.equal(pool.size, 2, 'one entry per distinct string');
  });

  it('keeps a string in use across generations and drops one seen once', () => {
    const pool = new StringPool(3);
    pool.intern('the image everyone runs');
    for (let i = 0; i < 20; i++) {
      pool.intern(`uid-${i}`);
      // Used all along: carried from the old generation into each young one.
      pool.intern(copy('the image everyone runs'));
      assert.ok(pool.size <= 6, `bounded by two generations, holds ${pool.size}`);
    }
    assert.ok(pool.has('the image everyone runs'));
    assert.ok(pool.has('uid-19'));
    assert.ok(!pool.has('uid-0'), 'seen once, long ago: dropped');
  });

  it('leaves long strings alone', () => {
    const pool = new StringPool(10, 8);
    assert.equal(pool.intern('longer than eight'), 'longer than eight');
    assert.equal(pool.intern('short'), 'short');
    assert.equal(pool.size, 1);
  });
});
