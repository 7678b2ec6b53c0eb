/**
 * On the real API server: the gateway creates a Deployment the watch does not show
 * (POST, faster than an apply that creates), and a later apply still removes what the new
 * manifest drops — a container, a port, an environment variable — because the fields the
 * create owned are handed to V-Kube's apply entry first. Also when the watch has not shown
 * the Deployment yet (the create is refused as existing and the gateway goes on as above).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testKubeconfig } from '../../dev/cluster/testing.js';
import type { KubeManifest } from '../../src/cluster/gateway.js';
import { KubeHttp } from '../../src/cluster/kube-http.js';
import { KubernetesGateway } from '../../src/cluster/kubernetes-gateway.js';
import { eventually, uniqueSuffix } from '../helpers/eventually.js';

const ns = `created-deployments-${uniqueSuffix()}`;
let kube: KubeHttp;
let gateway: KubernetesGateway;

interface LiveDeployment {
  metadata: { generation: number; managedFields: Array<{ manager: string; operation: string; subresource?: string }> };
  spec: { template: { spec: { containers: Array<{ name: string; env?: Array<{ name: string }>; ports?: Array<{ containerPort: number }> }> } } };
}

function deployment(name: string, containers: Array<{ name: string; env: string[]; ports: number[] }>): KubeManifest {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns, labels: { 'app.kubernetes.io/managed-by': 'vkube' } },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: containers.map((c) => ({
            name: c.name,
            image: 'busybox:1.36',
            env: c.env.map((e) => ({ name: e, value: '1' })),
            ports: c.ports.map((p) => ({ containerPort: p, protocol: 'TCP' })),
          })),
        },
      },
    },
  } as KubeManifest;
}

const first = (name: string) =>
  deployment(name, [
    { name: 'web', env: ['KEEP', 'DROP'], ports: [80, 81] },
    { name: 'sidecar', env: [], ports: [] },
  ]);
const second = (name: string) => deployment(name, [{ name: 'web', env: ['KEEP'], ports: [80] }]);

async function live(name: string): Promise<LiveDeployment> {
  const list = await kube.get<{ items: LiveDeployment[] }>(`/apis/apps/v1/namespaces/${ns}/deployments`, { query: { fieldSelector: `metadata.name=${name}` } });
  assert.equal(list.items.length, 1, `deployment ${name} exists`);
  return list.items[0]!;
}

const vkubeEntries = (d: LiveDeployment) => d.metadata.managedFields.filter((e) => e.manager === 'vkube' && !e.subresource).map((e) => e.operation);

function assertDropped(d: LiveDeployment): void {
  const containers = d.spec.template.spec.containers;
  assert.deepEqual(
    containers.map((c) => c.name),
    ['web'],
    'the dropped container is gone',
  );
  assert.deepEqual(
    containers[0]!.env?.map((e) => e.name),
    ['KEEP'],
    'the dropped variable is gone',
  );
  assert.deepEqual(
    containers[0]!.ports?.map((p) => p.containerPort),
    [80],
    'the dropped port is gone',
  );
  assert.deepEqual(vkubeEntries(d), ['Apply'], "V-Kube's fields are owned by its apply alone");
}

before(async () => {
  kube = await KubeHttp.connect(testKubeconfig());
  await kube.post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  gateway = new KubernetesGateway({ http: kube, regionLabel: 'region', heartbeatMs: 0 });
  gateway.start();
  assert.equal(await gateway.waitForSync(30_000), true);
});

after(async () => {
  await gateway?.stop();
  await kube?.delete(`/api/v1/namespaces/${ns}`).catch(() => {});
  kube?.close();
});

describe('a Deployment V-Kube creates', () => {
  it('is created, and the next apply removes what the manifest no longer has', { timeout: 60_000 }, async () => {
    await gateway.apply([first('watched')]);
    assert.deepEqual(vkubeEntries(await live('watched')), ['Update'], 'the first write was a create');
    await eventually(() => assert.equal(gateway.deployment(ns, 'watched')?.ownedByCreate, true, 'the watch shows who owns the fields'));

    await gateway.apply([second('watched')]);
    const d = await live('watched');
    assertDropped(d);
    await eventually(() => assert.equal(gateway.deployment(ns, 'watched')?.ownedByCreate, undefined));

    // From then on an apply is an apply: no take-over, the generation moves with the spec alone.
    await gateway.apply([second('watched')]);
    assert.equal((await live('watched')).metadata.generation, d.metadata.generation, 'the same manifest again changes nothing');
  });

  it('that the watch has not shown yet is taken over and applied all the same', { timeout: 60_000 }, async () => {
    // A gateway whose caches never started: to it every Deployment is one it has not seen.
    const blind = new KubernetesGateway({ http: kube, regionLabel: 'region', heartbeatMs: 0 });
    try {
      await blind.apply([first('unseen')]);
      assert.deepEqual(vkubeEntries(await live('unseen')), ['Update']);
      await blind.apply([second('unseen')]);
      assertDropped(await live('unseen'));
    } finally {
      await blind.stop();
    }
  });
});
