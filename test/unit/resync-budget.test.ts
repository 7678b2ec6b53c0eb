/**
 * A pass queues orders whose only reason is the resync period up to a budget — twice the
 * pace that re-applies every order once per period, at least 100 — and leaves the rest for
 * the next pass: a population deployed together (the benchmark's 5,000 pods) no longer
 * comes due in one pass that re-applies every whole set at once. Orders out of line for
 * any other reason are queued whatever the budget. Doubles for the store and the caches:
 * this is the pass's arithmetic; the integration tests apply for real.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClusterReader, ClusterWriter, NamespaceJson } from '../../src/cluster/gateway.js';
import { INSTALLATION_LABEL, Reconciler, type ReconcilerDeps } from '../../src/domain/reconciler.js';
import { ORDER_LABEL } from '../../src/domain/manifests.js';
import type { OrderRecord } from '../../src/domain/records.js';
import type { Store } from '../../src/domain/store-port.js';

const INSTALLATION = 'test-installation';

function pendingOrder(n: number, overrides: Partial<OrderRecord> = {}): OrderRecord {
  // Sold, not deployed: its isolation is in place (the namespace below); only the resync can be due.
  return { id: `order-${String(n).padStart(4, '0')}`, serviceStatus: 'ServicePending', generation: 1, observedGeneration: 1, observedAt: 0, spec: null, region: 'r', endAt: null, ...overrides } as unknown as OrderRecord;
}

/** Every pass's queued orders, with the time each was queued for. */
const dueTimes = new Map<string, number>();

function passes(orders: OrderRecord[], count: number): Promise<string[][]> {
  const byId = new Map(orders.map((o) => [o.id, o]));
  let queued: string[] = [];
  const store = {
    async listLiveOrders({ after, limit }: { after?: string; limit: number }) {
      return orders.filter((o) => after === undefined || o.id > after).slice(0, limit);
    },
    // Queued is as good as applied here: the order's resync period starts over.
    async ensureQueued(id: string, at: number) {
      queued.push(id);
      dueTimes.set(id, at);
      byId.get(id)!.observedAt = Date.now();
    },
    async dueWork() {
      return [];
    },
  } as unknown as Store;
  const namespace = (name: string): NamespaceJson => ({ metadata: { name, labels: { [INSTALLATION_LABEL]: INSTALLATION, [ORDER_LABEL]: name } } }) as NamespaceJson;
  const cluster = {
    health: () => ({ reachable: true, synced: true }),
    managedNamespace: namespace,
    managedNamespaces: () => [],
    onChange: () => () => {},
  } as unknown as ClusterReader;
  const deps = {
    store,
    domains: {},
    notices: {},
    cluster,
    writer: {} as ClusterWriter,
    config: { reconcile: { intervalMs: 30_000, resyncSeconds: 600, queuePollMs: 250, noticeAheadSeconds: 0 }, orderLockTimeoutMs: 1000 },
    clock: { now: () => Math.floor(Date.now() / 1000) },
    credentials: {},
    installation: INSTALLATION,
    log: { info() {}, warn() {}, error() {} },
  } as unknown as ReconcilerDeps;
  const reconciler = new Reconciler(deps);
  return (async () => {
    const out: string[][] = [];
    for (let i = 0; i < count; i++) {
      queued = [];
      await reconciler.reconcileAll();
      out.push(queued);
    }
    return out;
  })();
}

describe('the resync budget of a pass', () => {
  it('spreads a herd of due resyncs over passes, at least 100 a pass', async () => {
    const orders = Array.from({ length: 250 }, (_, i) => pendingOrder(i));
    const queued = await passes(orders, 4);
    assert.deepEqual(queued.map((q) => q.length), [100, 100, 50, 0]);
    assert.equal(new Set(queued.flat()).size, 250, 'every order is resynced once');
  });

  it('grows with the population: twice the pace of one resync per period', async () => {
    // 5,000 orders, a pass every 30 s, a resync every 600 s: 2 × 5,000 × 30 / 600 = 500 a pass once the population is known.
    const orders = Array.from({ length: 5000 }, (_, i) => pendingOrder(i));
    const queued = await passes(orders, 3);
    assert.deepEqual(queued.map((q) => q.length), [100, 500, 500]);
  });

  it('paces a pass’s resyncs over the interval until the next pass, and queues other work at once', async () => {
    // 250 orders: a budget of 100, one every 30 s / 100 = 300 ms.
    const orders = [...Array.from({ length: 250 }, (_, i) => pendingOrder(i)), pendingOrder(999, { generation: 2 })];
    const before = Date.now();
    const [first] = await passes(orders, 1);
    const after = Date.now();
    const resyncs = first!.filter((id) => id !== 'order-0999').map((id) => dueTimes.get(id)! - before);
    assert.equal(resyncs.length, 100);
    for (let i = 1; i < resyncs.length; i++) assert.ok(resyncs[i]! - resyncs[i - 1]! >= 299 && resyncs[i]! - resyncs[i - 1]! <= 301, `300 ms apart: ${resyncs.slice(0, 5).join(', ')}…`);
    assert.ok(resyncs[0]! <= after - before, 'the first right away');
    assert.ok(resyncs.at(-1)! < 30_000, `the last before the next pass: ${resyncs.at(-1)} ms`);
    assert.ok(dueTimes.get('order-0999')! <= after, 'a newer generation is not paced');
  });

  it('queues an order out of line for another reason whatever the budget', async () => {
    const orders = [...Array.from({ length: 150 }, (_, i) => pendingOrder(i)), pendingOrder(999, { generation: 2 }), pendingOrder(1000, { observedAt: Date.now() })];
    const [first] = await passes(orders, 1);
    assert.equal(first!.length, 101);
    assert.ok(first!.includes('order-0999'), 'a newer generation to apply is never deferred');
    assert.ok(!first!.includes('order-1000'), 'an order resynced just now waits for its period');
  });
});
