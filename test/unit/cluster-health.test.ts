/** How one cluster's health follows from its sources: only essential sources gate reads and writes. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { summarizeHealth } from '../../src/cluster/cluster-health.js';
import type { SourceHealth } from '../../src/cluster/gateway.js';

const up = (essential = true): SourceHealth => ({ live: true, synced: true, essential });
const down = (lastError: string, essential = true): SourceHealth => ({ live: false, synced: true, essential, lastError });

describe('summarizeHealth', () => {
  it('every source live: reachable, synced, nothing degraded', () => {
    const h = summarizeHealth('c1', { pods: up(), events: up(false), apiserver: up() });
    assert.equal(h.reachable, true);
    assert.equal(h.synced, true);
    assert.equal(h.detail, undefined);
    assert.equal(h.degraded, undefined);
  });

  it('the events watch down: still reachable (deploys go on), degraded says why', () => {
    const h = summarizeHealth('c1', { pods: up(), events: down('watch failed: 403', false) });
    assert.equal(h.reachable, true);
    assert.equal(h.degraded, 'cluster c1: events: watch failed: 403');
  });

  it('an essential source down: unreachable, and the detail names it', () => {
    const h = summarizeHealth('c1', { pods: down('stalled: no event or bookmark for 90 s'), claims: up(), apiserver: up() });
    assert.equal(h.reachable, false);
    assert.equal(h.detail, 'cluster c1: pods: stalled: no event or bookmark for 90 s');
  });

  it('an optional source not yet synced does not hold readiness back', () => {
    const h = summarizeHealth('c1', { pods: up(), events: { live: false, synced: false, essential: false } });
    assert.equal(h.synced, true);
    assert.equal(h.degraded, 'cluster c1: events: not synced yet');
  });
});
