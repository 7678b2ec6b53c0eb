import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LruMap } from '../../src/kernel/lru-map.js';

describe('LruMap', () => {
  it('keeps at most its size, dropping the least recently used entry', () => {
    const m = new LruMap<string, number>(2);
    m.set('a', 1);
    m.set('b', 2);
    assert.equal(m.get('a'), 1, 'reading a makes b the oldest');
    m.set('c', 3);
    assert.equal(m.get('b'), undefined, 'b went');
    assert.equal(m.get('a'), 1);
    assert.equal(m.get('c'), 3);
    assert.equal(m.size, 2);
  });

  it('replacing a value counts as a use and does not grow it', () => {
    const m = new LruMap<string, number>(2);
    m.set('a', 1);
    m.set('b', 2);
    m.set('a', 10);
    m.set('c', 3);
    assert.equal(m.get('a'), 10);
    assert.equal(m.get('b'), undefined);
    assert.equal(m.size, 2);
  });

  it('never drops an entry read since the last half-bound of insertions', () => {
    const bound = 100;
    const m = new LruMap<number, number>(bound);
    for (let i = 0; i < bound; i++) m.set(i, i);
    // Key 0 is read now and then, at least once every half-bound of insertions; 10,000 others come and go.
    for (let i = bound; i < 10_000 + bound; i++) {
      if (i % (bound / 2) === 0) assert.equal(m.get(0), 0, `key 0 is kept after ${i} insertions`);
      m.set(i, i);
      assert.ok(m.size <= bound, 'the bound holds');
    }
    assert.equal(m.get(bound), undefined, 'an entry nobody read went');
  });

  it('drops what went unread the longest, give or take half its bound', () => {
    const m = new LruMap<string, number>(4);
    for (const k of ['a', 'b', 'c', 'd']) m.set(k, 0);
    // a, among the older half, is moved to the newest by its read; d, the newest, is read where it is.
    m.get('a');
    m.get('d');
    m.set('e', 0);
    m.set('f', 0);
    assert.deepEqual(
      ['a', 'b', 'c', 'd', 'e', 'f'].filter((k) => m.get(k) !== undefined),
      ['a', 'd', 'e', 'f'],
      'b and c, read least recently, went first',
    );
  });

  it('forgets an entry deleted, and all of them when cleared', () => {
    const m = new LruMap<string, number>(3);
    m.set('a', 1);
    m.set('b', 2);
    m.delete('a');
    assert.equal(m.get('a'), undefined);
    assert.equal(m.size, 1);
    m.clear();
    assert.equal(m.get('b'), undefined);
    assert.equal(m.size, 0);
  });

  it('refuses a bound below one', () => {
    assert.throws(() => new LruMap(0), RangeError);
  });
});
