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
    assert.equal(m.count, 2);
  });

  it('replacing a value counts as a use and does not grow it', () => {
    const m = new LruMap<string, number>(2);
    m.set('a', 1);
    m.set('b', 2);
    m.set('a', 10);
    m.set('c', 3);
    assert.equal(m.get('a'), 10);
    assert.equal(m.get('b'), undefined);
    assert.equal(m.count, 2);
  });
});
