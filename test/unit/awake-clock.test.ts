import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AwakeClock } from '../../src/kernel/awake-clock.js';

describe('AwakeClock', () => {
  it('counts a turning loop whole, however busy each turn', () => {
    let wall = 1_000;
    const clock = new AwakeClock(() => wall);
    const start = clock.now();
    for (let i = 0; i < 50; i++) {
      wall += 300; // a busy loop: 300 ms between turns
      clock.tick();
    }
    assert.equal(clock.now() - start, 15_000);
  });

  it('counts at most a second of a spell in which the loop did not turn, before and after the turn that ends it', () => {
    let wall = 0;
    const clock = new AwakeClock(() => wall);
    wall += 500;
    clock.tick();
    const before = clock.now();
    wall += 12_000; // stopped for 12 s
    assert.equal(clock.now() - before, 1_000, 'asked before the first turn after the stop');
    clock.tick();
    assert.equal(clock.now() - before, 1_000, 'and the same once the turn has counted it');
    wall += 250;
    assert.equal(clock.now() - before, 1_250, 'running again, time counts whole');
  });

  it('never goes back', () => {
    let wall = 0;
    const clock = new AwakeClock(() => wall);
    let last = clock.now();
    for (const step of [5, 2_000, 0, 999, 1_001, 40]) {
      wall += step;
      const seen = clock.now();
      assert.ok(seen >= last);
      clock.tick();
      assert.equal(clock.now(), seen, 'a tick changes nothing it had not already counted');
      last = seen;
    }
  });
});
