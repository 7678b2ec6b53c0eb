import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TimeSlice } from '../../src/kernel/time-slice.js';

function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe('TimeSlice', () => {
  it('is spent once the loop has been held for the slice, and a yield lets waiting callbacks run and starts a new slice', async () => {
    const slice = new TimeSlice(20);
    assert.equal(slice.spent(), false);
    busy(25);
    assert.equal(slice.spent(), true);
    let ran = false;
    setImmediate(() => (ran = true));
    assert.equal(ran, false);
    await slice.yield();
    assert.equal(ran, true, 'what was waiting ran during the yield');
    assert.equal(slice.spent(), false, 'a new slice starts after the yield');
  });

  it('splits a long loop into slices, and timers run between them', async () => {
    const slice = new TimeSlice(5);
    let timerRuns = 0;
    let yields = 0;
    const tick = setInterval(() => timerRuns++, 0);
    // 40 items of at least 1 ms each: a 5 ms slice is spent after at most 5 of them.
    for (let i = 0; i < 40; i++) {
      if (slice.spent()) {
        yields++;
        await slice.yield();
      }
      busy(1);
    }
    clearInterval(tick);
    assert.ok(yields >= 7, `yielded ${yields} times`);
    assert.ok(timerRuns >= 3, `timers ran between slices (${timerRuns} times)`);
  });
});
