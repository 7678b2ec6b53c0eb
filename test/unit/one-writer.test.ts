/**
 * The pieces that keep one writer: the work queue's back-off, the fence every write
 * passes, and the write window the leader election gives (which closes before another
 * replica could take the Lease over).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClusterWriter, KubeManifest, WriteOptions } from '../../src/cluster/gateway.js';
import { KubeError, type KubeHttp } from '../../src/cluster/kube-http.js';
import { LeaderElector } from '../../src/cluster/leader-election.js';
import { FencedWriter } from '../../src/domain/fenced-writer.js';
import { FencedOut } from '../../src/domain/leadership.js';
import { backoffMs } from '../../src/domain/work-queue.js';

describe('work queue back-off', () => {
  it('doubles from 500 ms per failed attempt, caps at a minute, and spreads by ±20 %', () => {
    const middle = () => 0.5;
    assert.deepEqual([0, 1, 2, 3, 6].map((a) => backoffMs(a, undefined, middle)), [500, 1000, 2000, 4000, 32_000]);
    assert.equal(backoffMs(7, undefined, middle), 60_000, 'capped');
    assert.equal(backoffMs(500, undefined, middle), 60_000, 'however many attempts');
    assert.equal(backoffMs(0, undefined, () => 0), 400, 'jitter low end');
    assert.equal(backoffMs(0, undefined, () => 1), 600, 'jitter high end');
  });
});

class RecordingWriter implements ClusterWriter {
  readonly writes: Array<{ what: string; timeoutMs: number | undefined }> = [];
  async apply(objects: KubeManifest[], opts?: WriteOptions): Promise<Array<string | undefined>> {
    for (const o of objects) this.writes.push({ what: `apply ${o.metadata.name}`, timeoutMs: opts?.timeoutMs });
    return objects.map(() => undefined);
  }
  async prune(namespace: string, _generation: number, opts?: WriteOptions): Promise<void> {
    this.writes.push({ what: `prune ${namespace}`, timeoutMs: opts?.timeoutMs });
  }
  async deleteNamespace(name: string, opts?: WriteOptions): Promise<void> {
    this.writes.push({ what: `delete ${name}`, timeoutMs: opts?.timeoutMs });
  }
  async deletePod(namespace: string, name: string, opts?: WriteOptions): Promise<void> {
    this.writes.push({ what: `delete pod ${namespace}/${name}`, timeoutMs: opts?.timeoutMs });
  }
}

const manifest = (name: string): KubeManifest => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'vkube-x' } });

describe('fenced writer', () => {
  it('checks the Lease before every single write and bounds each by what the hold has left', async () => {
    const inner = new RecordingWriter();
    let window = 4000;
    const refused: string[] = [];
    const writer = new FencedWriter(inner, { isLeader: () => window > 0, writeWindowMs: () => window }, (what) => refused.push(what));
    await writer.apply([manifest('a')]);
    window = 20_000;
    await writer.prune('vkube-x', 3);
    assert.deepEqual(inner.writes, [
      { what: 'apply a', timeoutMs: 4000 },
      { what: 'prune vkube-x', timeoutMs: 15_000 },
    ]);
    // The hold lapses between two objects of one apply: the second is not written.
    let calls = 0;
    const lapsing = new FencedWriter(inner, { isLeader: () => true, writeWindowMs: () => (calls++ === 0 ? 1000 : 0) }, (what) => refused.push(what));
    await assert.rejects(lapsing.apply([manifest('b'), manifest('c')]), FencedOut);
    assert.deepEqual(inner.writes.map((w) => w.what), ['apply a', 'prune vkube-x', 'apply b']);
    window = 100;
    await assert.rejects(writer.deleteNamespace('vkube-x'), FencedOut, 'too little left to finish a write');
    await assert.rejects(writer.deletePod('vkube-x', 'p'), FencedOut);
    assert.deepEqual(refused, ['apply ConfigMap vkube-x/c', 'delete namespace vkube-x', 'delete pod vkube-x/p']);
  });

  it('waits for the next renewal when what the hold has left is shorter than writes take lately', async () => {
    // Writes take 2 s (a slow API server); the hold has 1 s left until it is renewed.
    let window = 10_000;
    let renewals = 0;
    const slow = new (class extends RecordingWriter {
      override apply = () => new Promise<Array<string | undefined>>((resolve) => setTimeout(() => resolve([undefined]), 40));
    })();
    const leadership = {
      isLeader: () => true,
      writeWindowMs: () => window,
      nextRenewal: async () => {
        renewals++;
        window = 10_000;
        return true;
      },
    };
    const writer = new FencedWriter(slow, leadership);
    await writer.apply([manifest('a')]);
    assert.equal(renewals, 0, 'enough left: no wait');
    window = 50; // more than MIN_WINDOW_MS, less than twice the 40 ms a write takes here
    await writer.apply([manifest('b')]);
    assert.equal(renewals, 1, 'waited for a fresh hold instead of starting a write that would be cut off');
  });

  it('a sole writer (no election) writes without a bound of its own', async () => {
    const inner = new RecordingWriter();
    await new FencedWriter(inner, { isLeader: () => true, writeWindowMs: () => Infinity }).deleteNamespace('vkube-y');
    assert.deepEqual(inner.writes, [{ what: 'delete vkube-y', timeoutMs: 15_000 }]);
  });
});

/** A Lease API in memory: enough of KubeHttp for the elector, with a switch to cut it off. */
function fakeLeaseApi() {
  let lease: { metadata: { name: string; namespace: string; resourceVersion: string }; spec: Record<string, unknown> } | undefined;
  let version = 0;
  const state = { reachable: true };
  const check = () => {
    if (!state.reachable) throw new KubeError(0, 'Unreachable', 'cut off', 'test');
  };
  const http = {
    async get() {
      check();
      if (!lease) throw new KubeError(404, 'NotFound', 'no lease', 'test');
      return structuredClone(lease);
    },
    async post(_path: string, body: { metadata: { name: string; namespace: string }; spec: Record<string, unknown> }) {
      check();
      lease = { metadata: { ...body.metadata, resourceVersion: String(++version) }, spec: body.spec };
    },
    async put(_path: string, body: { metadata: { resourceVersion: string; name: string; namespace: string }; spec: Record<string, unknown> }) {
      check();
      lease = { metadata: { ...body.metadata, resourceVersion: String(++version) }, spec: body.spec };
    },
    async apply() {
      check();
    },
  };
  return { http: http as unknown as KubeHttp, state };
}

describe('leader election write window', () => {
  it('opens when the Lease is taken, ends at the renew deadline counted from when the renewal was sent, and is 0 for a follower', async () => {
    const api = fakeLeaseApi();
    let now = 1_000_000;
    const elector = new LeaderElector({
      http: api.http,
      namespace: 'vkube-system',
      name: 'test',
      identity: 'a',
      leaseDurationSeconds: 15,
      renewDeadlineSeconds: 10,
      retryPeriodSeconds: 3600,
      onStartedLeading: () => {},
      onStoppedLeading: () => {},
      now: () => now,
    });
    assert.equal(elector.writeWindowMs(), 0, 'nothing before it leads');
    elector.start();
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(elector.isLeader, true);
    assert.equal(elector.writeWindowMs(), 10_000);
    now += 4000;
    assert.equal(elector.writeWindowMs(), 6000, 'shrinks while no renewal succeeds');
    api.state.reachable = false;
    now += 7000;
    assert.equal(elector.writeWindowMs(), 0, 'closed at the renew deadline, even before the elector has stepped down');
    await elector.stop();
    assert.equal(elector.writeWindowMs(), 0);
  });
});
