/** The order's volume claim as workloadManifests() builds it: size, access mode, and the StorageClass setting. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeManifest } from '../../src/cluster/gateway.js';
import { loadConfig } from '../../src/config.js';
import type { DeploySpec } from '../../src/domain/deploy-spec.js';
import { DATA_CLAIM, type WorkloadInput, workloadManifests } from '../../src/domain/manifests.js';

const config = loadConfig({}, '/tmp');

function spec(mountPath: string | undefined): DeploySpec {
  return {
    region: 'ausrine',
    shape: 'client',
    registryLogins: [],
    containers: [
      {
        name: 'db',
        image: 'postgres:17',
        ports: [{ containerPort: 5432, protocol: 'TCP' }],
        memoryBytes: 512 * 2 ** 20,
        cpuMillis: 250,
        units: 1,
        env: [],
        configFiles: [],
        exposedPorts: [],
        ...(mountPath ? { mountPath } : {}),
      },
    ],
  };
}

function manifests(overrides: Partial<WorkloadInput>): KubeManifest[] {
  return workloadManifests({
    order: { id: 'a'.repeat(24), units: 2, specGeneration: 1, restartGeneration: 0, description: '', customLabel: '' },
    spec: spec('/var/lib/postgresql/data'),
    units: config.units,
    regionLabel: config.regionLabel,
    replicas: 1,
    persistStorage: true,
    storageClass: undefined,
    domains: [],
    ingress: config.ingress,
    ...overrides,
  });
}

type Claim = KubeManifest & { spec: { storageClassName?: string; accessModes: string[]; resources: { requests: { storage: string } } } };

function claimOf(objects: KubeManifest[]): Claim | undefined {
  return objects.find((o) => o.kind === 'PersistentVolumeClaim') as Claim | undefined;
}

describe('the volume claim of an order with persistent storage', () => {
  it("names no class when VKUBE_STORAGE_CLASS is unset, so the cluster's default class provisions it", () => {
    const claim = claimOf(manifests({ storageClass: config.storageClass }));
    assert.ok(claim, 'an order with persistStorage and a mountPath gets a claim');
    assert.equal(claim.metadata.name, DATA_CLAIM);
    assert.equal('storageClassName' in claim.spec, false, `no storageClassName at all (not even ""), got ${JSON.stringify(claim.spec)}`);
    assert.deepEqual(claim.spec.accessModes, ['ReadWriteOnce']);
    assert.equal(claim.spec.resources.requests.storage, '10Gi', "the order's units × the storage of one unit (2 × 5Gi)");
  });

  it('names the configured class', () => {
    const claim = claimOf(manifests({ storageClass: loadConfig({ VKUBE_STORAGE_CLASS: 'fast-ssd' }, '/tmp').storageClass }));
    assert.ok(claim, 'a claim is built');
    assert.equal(claim.spec.storageClassName, 'fast-ssd');
  });

  it('is mounted by the pod it is made for', () => {
    const objects = manifests({ storageClass: 'fast-ssd' });
    const deployment = objects.find((o) => o.kind === 'Deployment') as unknown as {
      spec: { template: { spec: { volumes: Array<{ name: string; persistentVolumeClaim?: { claimName: string } }>; containers: Array<{ volumeMounts?: Array<{ name: string; mountPath: string }> }> } } };
    };
    const pod = deployment.spec.template.spec;
    assert.deepEqual(
      pod.volumes.filter((v) => v.persistentVolumeClaim),
      [{ name: DATA_CLAIM, persistentVolumeClaim: { claimName: DATA_CLAIM } }],
    );
    assert.ok(
      pod.containers[0]!.volumeMounts?.some((m) => m.name === DATA_CLAIM && m.mountPath === '/var/lib/postgresql/data'),
      `the container mounts it at its mountPath: ${JSON.stringify(pod.containers[0]!.volumeMounts)}`,
    );
  });

  it('is not made without persistStorage, or without a mountPath, whatever the class setting', () => {
    assert.equal(claimOf(manifests({ persistStorage: false, storageClass: 'fast-ssd' })), undefined);
    assert.equal(claimOf(manifests({ spec: spec(undefined), storageClass: 'fast-ssd' })), undefined);
  });
});

describe('the Ingress of a custom domain', () => {
  type Ingress = KubeManifest & { spec: { rules: Array<{ http: { paths: Array<{ path: string; pathType: string }> } }> } };
  const ingressPaths = (path: string, rewrite: boolean) => {
    const s = spec(undefined);
    s.containers[0]!.ports = [{ containerPort: 8080, protocol: 'TCP' }];
    s.containers[0]!.exposedPorts = [{ path, rewrite, containerPort: 8080 }];
    const objects = manifests({ spec: s, persistStorage: false, domains: [{ domain: 'app.example.test', orderId: 'a'.repeat(24), containerPort: 8080, https: false }] });
    const ingress = objects.find((o) => o.kind === 'Ingress') as Ingress;
    return ingress.spec.rules[0]!.http.paths.map((p) => p.path);
  };

  it('cuts an exposed prefix with an nginx regex when asked to rewrite', () => {
    assert.deepEqual(ingressPaths('/api/', true), ['/api(/|$)(.*)']);
    assert.deepEqual(ingressPaths('/api', false), ['/api']);
  });

  it('keeps the root absolute when it is rewritten (Kubernetes refuses a path without a leading slash)', () => {
    assert.deepEqual(ingressPaths('/', true), ['/()(.*)']);
  });
});
