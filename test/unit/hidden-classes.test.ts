/**
 * Objects V-Kube keeps by the thousand, or makes on every request, share their hidden
 * classes (kernel/extended.ts says why they might not). Asked of V8 itself: its
 * `%HaveSameMap`, allowed for this test process only.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import v8 from 'node:v8';
import { keptDeployment } from '../../src/cluster/kubernetes-gateway.js';
import type { DeploymentJson } from '../../src/cluster/gateway.js';
import { extended } from '../../src/kernel/extended.js';
import { StringPool } from '../../src/kernel/string-pool.js';
import { ValuePool } from '../../src/kernel/value-pool.js';

v8.setFlagsFromString('--allow-natives-syntax');
const sameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;

/** How many hidden classes `objects` have among them. */
function classes(objects: object[]): number {
  const seen: object[] = [];
  for (const o of objects) if (!seen.some((s) => sameMap(s, o))) seen.push(o);
  return seen.length;
}

const MANY = 200;

describe('hidden classes of kept and per-request objects', () => {
  it('extended() gives objects of the same keys one class, with the keys and values of a spread', () => {
    const views = Array.from({ length: MANY }, (_, i) => extended({ name: `pod-${i}`, podStatus: { phase: 'Running' }, podSpec: {}, annotations: {} }, { domains: [], endpoints: [i] }));
    assert.equal(classes(views), 1);
    const base = { name: 'p', podStatus: {}, podSpec: { a: 1 }, annotations: { b: '2' } };
    const extra = { domains: ['d'], endpoints: [] };
    assert.equal(JSON.stringify(extended(base, extra)), JSON.stringify({ ...base, ...extra }), 'same keys, same order');
    assert.deepEqual(base, { name: 'p', podStatus: {}, podSpec: { a: 1 }, annotations: { b: '2' } }, 'the base is not changed');
  });

  it("the Deployments' cache keeps them, and their metadata, in one class each", () => {
    // As the watch hands them over (parsed JSON) and the cache keeps them (shared pieces frozen).
    const pool = new ValuePool(new StringPool(10_000), 4_000);
    const kept = Array.from({ length: MANY }, (_, i) =>
      pool.share(
        keptDeployment(
          JSON.parse(
            JSON.stringify({
              metadata: {
                name: 'workload',
                namespace: `vkube-order${i}`,
                generation: 2,
                labels: { 'app.kubernetes.io/managed-by': 'vkube', 'vkube.dev/order': `order${i}` },
                annotations: { 'vkube.dev/restart': '1', 'deployment.kubernetes.io/revision': '1' },
                managedFields: [{ manager: 'vkube', operation: 'Apply' }],
              },
              spec: { replicas: 1, template: { metadata: { annotations: { 'vkube.dev/restart': '1' } } } },
              status: { replicas: 1, readyReplicas: 1, availableReplicas: 1, observedGeneration: 2, conditions: [{ type: 'Available', message: `ready ${i}` }] },
            }),
          ) as DeploymentJson,
        ),
      ),
    );
    assert.deepEqual(kept[7], {
      metadata: { name: 'workload', namespace: 'vkube-order7', labels: { 'app.kubernetes.io/managed-by': 'vkube', 'vkube.dev/order': 'order7' }, annotations: { 'vkube.dev/restart': '1' }, generation: 2 },
      spec: { replicas: 1, template: { metadata: { annotations: { 'vkube.dev/restart': '1' } } } },
      status: { replicas: 1, readyReplicas: 1, availableReplicas: 1, observedGeneration: 2 },
    });
    assert.equal(classes(kept), 1, 'the Deployments');
    assert.equal(classes(kept.map((d) => d.metadata)), 1, 'their metadata');
    assert.equal(classes(kept.map((d) => d.spec!)), 1, 'their spec');
  });
});
