import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StringPool } from '../../src/kernel/string-pool.js';

/** A string equal to `s` but not the same heap object (as JSON.parse makes one per value). */
const copy = (s: string) => JSON.parse(JSON.stringify(s)) as string;

describe('StringPool', () => {
  it('gives every equal string the first copy it saw, inside objects and arrays at any depth', () => {
    const pool = new StringPool(100);
    const a = pool.internAll(JSON.parse('{"metadata":{"namespace":"vkube-order-one"},"spec":{"containers":[{"image":"registry.example/app:1"}]}}'));
    const b = pool.internAll(JSON.parse('{"metadata":{"namespace":"vkube-order-one"},"spec":{"containers":[{"image":"registry.example/app:1"}]},"tags":["vkube-order-one"]}'));
    // JavaScript cannot tell two equal strings apart: the pool's size says each was kept once.
    assert.equal(pool.size, 2, 'one entry per distinct string, however often it came');
    // The objects are the same objects, with the same values.
    assert.deepEqual(b, { ...a, tags: ['vkube-order-one'] });
    pool.intern(copy('vkube-order-one'));
    assert.equal(pool.size, 2);
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

  it('leaves long strings and non-strings alone', () => {
    const pool = new StringPool(10, 8);
    const v = pool.internAll({ n: 1, b: true, z: null, long: 'longer than eight', short: 'short' });
    assert.deepEqual(v, { n: 1, b: true, z: null, long: 'longer than eight', short: 'short' });
    assert.equal(pool.size, 1);
  });
});
