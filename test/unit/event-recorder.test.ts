/**
 * EventRecorder: event writes go through a bounded queue (full: dropped, counted, logged
 * once), a batch at a time, and a watch re-list that replays every event writes none of
 * them again. A fake cluster feeds changes; a store in memory records the writes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClusterChange, ClusterGateway, EventJson, PodJson } from '../../src/cluster/gateway.js';
import { BATCH_DELAY_MS, EventRecorder, keyDigest } from '../../src/domain/event-recorder.js';
import { VkubeMetrics } from '../../src/http/metrics.js';
import type { EventBatch, EventStore } from '../../src/domain/store-port.js';
import type { ContainerRestarts, PodEvent } from '../../src/domain/records.js';

class FakeCluster {
  private listeners: Array<(c: ClusterChange) => void> = [];
  onChange(l: (c: ClusterChange) => void): () => void {
    this.listeners.push(l);
    return () => (this.listeners = this.listeners.filter((x) => x !== l));
  }
  emit(c: ClusterChange): void {
    for (const l of this.listeners) l(c);
  }
}

/** Records writes; `hold()` makes writes wait until the returned function is called. */
class MemoryEvents implements EventStore {
  readonly events: PodEvent[] = [];
  readonly restartWrites: ContainerRestarts[] = [];
  /** The size of every batch written. */
  readonly batches: number[] = [];
  failNext = 0;
  private gate: Promise<void> | undefined;
  inFlight = 0;
  maxInFlight = 0;

  hold(): () => void {
    let open!: () => void;
    this.gate = new Promise((r) => (open = r));
    return () => {
      this.gate = undefined;
      open();
    };
  }

  private async write(): Promise<void> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      while (this.gate) await this.gate;
      if (this.failNext > 0) {
        this.failNext--;
        throw new Error('database hiccup');
      }
    } finally {
      this.inFlight--;
    }
  }
  async recordBatch(batch: EventBatch): Promise<void> {
    await this.write();
    this.batches.push(batch.events.length + batch.restarts.length);
    this.events.push(...batch.events);
    this.restartWrites.push(...batch.restarts);
  }
  async recentEvents(): Promise<PodEvent[]> {
    return [];
  }
  async restarts(): Promise<ContainerRestarts[]> {
    return [];
  }
  async trimEvents(): Promise<void> {}
}

function event(uid: string, count = 1, ns = 'vkube-o1'): ClusterChange {
  const e: EventJson = { metadata: { name: `e-${uid}`, namespace: ns, uid }, reason: 'Pulled', message: `m ${uid}`, count, involvedObject: { kind: 'Pod', name: 'p' } };
  return { kind: 'event', type: 'ADDED', event: e };
}

function pod(restartCount: number): ClusterChange {
  const p = {
    metadata: { name: 'p', namespace: 'vkube-o1', labels: { 'vkube.dev/order': 'o1' } },
    spec: { containers: [{ name: 'c' }] },
    status: { containerStatuses: [{ name: 'c', restartCount, lastState: { terminated: { reason: 'Error', exitCode: 1 } } }] },
  } as unknown as PodJson;
  return { kind: 'pod', type: 'MODIFIED', pod: p };
}

function recorder(opts: { maxQueued?: number } = {}) {
  const cluster = new FakeCluster();
  const store = new MemoryEvents();
  const warnings: string[] = [];
  let dropped = 0;
  const r = new EventRecorder(cluster as unknown as ClusterGateway, store, { warn: (_o, msg) => warnings.push(msg) }, { ...opts, onDrop: () => dropped++ });
  r.start();
  return { r, cluster, store, warnings, dropped: () => dropped };
}

describe('EventRecorder', () => {
  it('a re-list that replays every event writes none of them again; a higher count is written', async () => {
    const { r, cluster, store } = recorder();
    for (const uid of ['a', 'b', 'c']) cluster.emit(event(uid));
    await r.flush();
    assert.equal(store.events.length, 3, 'each event written once');
    // The watch re-lists: the same events, same uid and count, come again.
    for (const uid of ['a', 'b', 'c']) cluster.emit(event(uid));
    await r.flush();
    assert.equal(store.events.length, 3, 'nothing written again');
    cluster.emit(event('b', 2));
    await r.flush();
    assert.deepEqual(store.events.map((e) => `${e.uid}:${e.count}`), ['a:1', 'b:1', 'c:1', 'b:2'], 'a new count is a change');
  });

  it('writes a restart count once, and again only when it rises', async () => {
    const { r, cluster, store } = recorder();
    cluster.emit(pod(1));
    cluster.emit(pod(1));
    await r.flush();
    cluster.emit(pod(1));
    cluster.emit(pod(2));
    await r.flush();
    assert.deepEqual(store.restartWrites.map((w) => w.restartCount), [1, 2]);
  });

  it('holds at most maxQueued records; the rest are dropped, counted and logged once', async () => {
    const { r, cluster, store, warnings, dropped } = recorder({ maxQueued: 5 });
    const release = store.hold();
    // Writing starts on the event loop's next turn: the first five wait in the queue.
    for (let i = 0; i < 20; i++) cluster.emit(event(`e${i}`));
    assert.equal(r.queued, 5, 'the queue is full at its maximum');
    assert.equal(dropped(), 15, 'every record beyond it counted');
    assert.equal(warnings.filter((w) => /cannot keep up/.test(w)).length, 1, 'logged once, not per record');
    release();
    await r.flush();
    assert.deepEqual(store.events.map((e) => e.uid), ['e0', 'e1', 'e2', 'e3', 'e4'], 'the queued ones were written, in order');
    assert.equal(store.maxInFlight, 1, 'one write at a time');
    // A dropped record is not remembered as written: it is recorded when seen again.
    cluster.emit(event('e19'));
    await r.flush();
    assert.equal(store.events.at(-1)?.uid, 'e19');
  });

  it('a newer version of a queued record takes its place instead of queueing twice', async () => {
    const { r, cluster, store } = recorder({ maxQueued: 2 });
    const release = store.hold();
    cluster.emit(event('busy'));
    cluster.emit(event('x', 1));
    cluster.emit(event('x', 2));
    cluster.emit(event('x', 3));
    assert.equal(r.queued, 2, 'one entry for busy, one for x');
    release();
    await r.flush();
    assert.deepEqual(store.events.map((e) => `${e.uid}:${e.count}`), ['busy:1', 'x:3']);
  });

  it('writes nothing in the turn of the change: a request waiting for that change is answered first', async () => {
    const { r, cluster, store } = recorder();
    cluster.emit(event('a'));
    await Promise.resolve();
    await Promise.resolve();
    assert.equal(store.events.length, 0, 'not written while the change is still being handled');
    assert.equal(r.queued, 1);
    await r.flush();
    assert.deepEqual(store.events.map((e) => e.uid), ['a']);
  });

  it('writes the records of a burst of changes in one batch, a moment after the first', async () => {
    const { r, cluster, store } = recorder();
    for (const uid of ['scheduled', 'pulled', 'created', 'started']) cluster.emit(event(uid));
    await new Promise((resolve) => setTimeout(resolve, BATCH_DELAY_MS / 4));
    cluster.emit(event('late'));
    cluster.emit(pod(1));
    await r.flush();
    assert.deepEqual(store.batches, [6], 'four events, one that came a little later and a restart count: one batch');
    assert.deepEqual(store.events.map((e) => e.uid), ['scheduled', 'pulled', 'created', 'started', 'late'], 'in the order they came');
    assert.deepEqual(store.restartWrites.map((w) => w.restartCount), [1]);
  });

  it('a write that failed is tried again the next time the record is seen', async () => {
    const { r, cluster, store, warnings } = recorder();
    store.failNext = 1;
    cluster.emit(event('a'));
    await r.flush();
    assert.equal(store.events.length, 0, 'the first write failed');
    assert.ok(warnings.some((w) => /could not record a pod event/.test(w)), 'the failure is logged');
    cluster.emit(event('a'));
    await r.flush();
    assert.equal(store.events.length, 1, 'written on the replay');
  });

  it('counts drops in vkube_event_records_dropped_total and shows the queue in vkube_event_records_queued', async () => {
    const cluster = new FakeCluster();
    const store = new MemoryEvents();
    let r: EventRecorder | undefined;
    const metrics = new VkubeMetrics({ cacheSizes: () => ({}), portLeases: async () => 0, logStreams: () => 0, isLeader: () => true, eventQueue: () => r?.queued ?? 0, queueDepth: async () => 0 });
    r = new EventRecorder(cluster as unknown as ClusterGateway, store, { warn() {} }, { maxQueued: 1, onDrop: () => metrics.eventRecordsDropped.inc() });
    r.start();
    const release = store.hold();
    for (let i = 0; i < 5; i++) cluster.emit(event(`m${i}`));
    const text = await metrics.registry.metrics();
    assert.match(text, /^vkube_event_records_dropped_total 4$/m);
    assert.match(text, /^vkube_event_records_queued 1$/m);
    release();
    await r.stop();
  });
});

describe('keyDigest', () => {
  it('tells apart the keys of 100,000 records much alike, and gives a key the same digest every time', () => {
    const digests = new Set<number>();
    for (let i = 0; i < 50_000; i++) {
      digests.add(keyDigest(`event vkube-order-${String(i).padStart(6, '0')}/0b7c1f9e-${i}`));
      digests.add(keyDigest(`restarts vkube-order-${i}/workload-5d8f7-abcde/app`));
    }
    assert.equal(digests.size, 100_000);
    assert.equal(keyDigest('restarts vkube-a/p/app'), keyDigest('restarts vkube-a/p/app'));
    for (const d of [...digests].slice(0, 1000)) assert.ok(Number.isSafeInteger(d) && d >= 0, `a whole number within 53 bits: ${d}`);
  });
});
