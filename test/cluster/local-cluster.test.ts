/**
 * The local control plane behaves like a real cluster where V-Kube depends on it:
 * labelled Ready nodes per region, the real scheduler (node selectors, host-port
 * conflicts), pods that run, logs through the API, simulated crashes, namespace GC.
 */
import * as k8s from '@kubernetes/client-node';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_LOG_LINES, DEFAULT_PREVIOUS_LOG_LINES, setPodLog, testKubeClient } from '../../dev/cluster/testing.js';
import { eventually, uniqueSuffix } from '../helpers/eventually.js';

const kc = testKubeClient();
const core = kc.makeApiClient(k8s.CoreV1Api);
const apps = kc.makeApiClient(k8s.AppsV1Api);
const namespace = `cluster-test-${uniqueSuffix()}`;

function deployment(name: string, region: string, opts: { hostPort?: number; labels?: Record<string, string> } = {}): k8s.V1Deployment {
  const labels = { app: name, ...opts.labels };
  return {
    metadata: { name },
    spec: {
      replicas: 1,
      strategy: { type: 'Recreate' },
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels },
        spec: {
          nodeSelector: { region },
          containers: [
            {
              name: 'main',
              image: 'nginx:1.27',
              ports: opts.hostPort ? [{ containerPort: 80, hostPort: opts.hostPort }] : [],
              resources: { limits: { memory: '64Mi' }, requests: { memory: '64Mi', cpu: '50m' } },
            },
          ],
        },
      },
    },
  };
}

async function podOf(app: string, ns = namespace): Promise<k8s.V1Pod> {
  const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: `app=${app}` });
  assert.equal(pods.items.length, 1, `one pod of ${app}`);
  return pods.items[0]!;
}

async function runningPodOf(app: string): Promise<k8s.V1Pod> {
  return eventually(async () => {
    const pod = await podOf(app);
    assert.equal(pod.status?.phase, 'Running');
    return pod;
  });
}

describe('local control plane', () => {
  before(async () => {
    await core.createNamespace({ body: { metadata: { name: namespace } } });
  });
  after(async () => {
    // Cleanup: a namespace a failed setup never created is a 404.
    await core.deleteNamespace({ name: namespace }).catch(() => {});
  });

  it('has Ready nodes labelled with their region: ausrine ×1, giltine ×2', async () => {
    const nodes = await core.listNode({ labelSelector: 'vkube.dev/local-cluster' });
    const byRegion = new Map<string, k8s.V1Node[]>();
    for (const n of nodes.items) {
      const region = n.metadata?.labels?.region ?? '';
      byRegion.set(region, [...(byRegion.get(region) ?? []), n]);
      assert.equal(n.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True', `${n.metadata?.name} Ready`);
      assert.ok(!n.spec?.taints?.some((t) => t.effect === 'NoSchedule'), 'no taint blocks ordinary pods');
      assert.ok(Number(n.status?.allocatable?.pods) >= 100, 'room for pods');
      assert.ok(n.status?.allocatable?.memory, 'memory capacity set');
    }
    assert.equal(byRegion.get('ausrine')?.length, 1);
    assert.equal(byRegion.get('giltine')?.length, 2);
  });

  it('runs a region-pinned Deployment with a hostPort on a node of that region', async () => {
    await apps.createNamespacedDeployment({ namespace, body: deployment('web', 'giltine', { hostPort: 31001 }) });
    const pod = await runningPodOf('web');
    assert.match(pod.spec!.nodeName!, /^giltine-/);
    const node = await core.readNode({ name: pod.spec!.nodeName! });
    const nodeIp = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
    assert.equal(pod.status?.hostIP, nodeIp, "the pod's hostIP is its node's address");
    assert.match(pod.status?.podIP ?? '', /^10\.244\./);
    assert.equal(pod.status?.containerStatuses?.[0]?.ready, true);
    assert.equal(pod.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
  });

  it('keeps a second pod asking for a taken hostPort on the one-node region Pending', async () => {
    await apps.createNamespacedDeployment({ namespace, body: deployment('first', 'ausrine', { hostPort: 31002 }) });
    await runningPodOf('first');
    await apps.createNamespacedDeployment({ namespace, body: deployment('second', 'ausrine', { hostPort: 31002 }) });
    const pod = await eventually(async () => {
      const p = await podOf('second');
      const scheduled = p.status?.conditions?.find((c) => c.type === 'PodScheduled');
      assert.equal(scheduled?.status, 'False');
      assert.equal(scheduled?.reason, 'Unschedulable');
      return p;
    });
    assert.equal(pod.status?.phase, 'Pending');
    assert.match(pod.status!.conditions!.find((c) => c.type === 'PodScheduled')!.message!, /free ports/);
    assert.equal(pod.spec?.nodeName, undefined);
  });

  it('serves the default log, and a per-pod log set at run time, through the pods/log API', async () => {
    await apps.createNamespacedDeployment({ namespace, body: deployment('logger', 'giltine') });
    const pod = await runningPodOf('logger');
    const name = pod.metadata!.name!;
    const log = await core.readNamespacedPodLog({ name, namespace, container: 'main' });
    assert.equal(log, DEFAULT_LOG_LINES.join('\n') + '\n');
    const previous = await core.readNamespacedPodLog({ name, namespace, container: 'main', previous: true });
    assert.equal(previous, DEFAULT_PREVIOUS_LOG_LINES.join('\n') + '\n');

    await setPodLog(kc, { namespace, pod: name }, ['hello from the test', 'second line'], ['it crashed before']);
    await eventually(async () => {
      assert.equal(await core.readNamespacedPodLog({ name, namespace, container: 'main' }), 'hello from the test\nsecond line\n');
    });
    assert.equal(await core.readNamespacedPodLog({ name, namespace, container: 'main', previous: true }), 'it crashed before\n');
    assert.equal(await core.readNamespacedPodLog({ name, namespace, container: 'main', tailLines: 1 }), 'second line\n');
  });

  it('makes a pod labelled to crash loop show a rising restartCount and CrashLoopBackOff', async () => {
    await apps.createNamespacedDeployment({ namespace, body: deployment('crasher', 'giltine', { labels: { 'vkube.dev/simulate': 'crash-loop' } }) });
    const first = await eventually(async () => {
      const status = (await podOf('crasher')).status?.containerStatuses?.[0];
      assert.ok((status?.restartCount ?? 0) >= 1);
      assert.equal(status?.state?.waiting?.reason, 'CrashLoopBackOff');
      assert.equal(status?.lastState?.terminated?.exitCode, 1);
      return status!.restartCount;
    });
    await eventually(async () => {
      const status = (await podOf('crasher')).status?.containerStatuses?.[0];
      assert.ok(status!.restartCount > first, `restartCount rises past ${first}`);
    });
  });

  it('makes a pod labelled to fail end Failed', async () => {
    const body: k8s.V1Pod = {
      metadata: { name: 'failing', labels: { 'vkube.dev/simulate': 'fail' } },
      spec: { restartPolicy: 'Never', nodeSelector: { region: 'giltine' }, containers: [{ name: 'main', image: 'busybox' }] },
    };
    await core.createNamespacedPod({ namespace, body });
    await eventually(async () => {
      const pod = await core.readNamespacedPod({ name: 'failing', namespace });
      assert.equal(pod.status?.phase, 'Failed');
      assert.equal(pod.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 1);
    });
  });

  it('removes the pods of a deleted namespace', async () => {
    const ns = `cluster-gc-${uniqueSuffix()}`;
    await core.createNamespace({ body: { metadata: { name: ns } } });
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('doomed', 'giltine') });
    await eventually(async () => assert.equal((await podOf('doomed', ns)).status?.phase, 'Running'));
    await core.deleteNamespace({ name: ns });
    await eventually(
      async () => {
        await assert.rejects(core.readNamespace({ name: ns }), (err: unknown) => err instanceof k8s.ApiException && err.code === 404);
      },
      { timeoutMs: 60_000 },
    );
    const leftovers = await core.listPodForAllNamespaces({ fieldSelector: `metadata.namespace=${ns}` });
    assert.equal(leftovers.items.length, 0);
  });
});
