/**
 * What workloadManifests() and isolationManifests() build: the order's volume claim (size,
 * access mode, StorageClass), the Ingress of a custom domain, and the network policy with
 * the names of the published ports it opens.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeManifest } from '../../src/cluster/gateway.js';
import { loadConfig } from '../../src/config.js';
import type { DeploySpec } from '../../src/domain/deploy-spec.js';
import { DATA_CLAIM, isolationManifests, NAMES_OPENED_AHEAD, publishedPortName, type WorkloadInput, workloadManifests } from '../../src/domain/manifests.js';

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

type Policy = KubeManifest & { spec: { ingress: Array<{ from: unknown[]; ports?: Array<{ port: number | string; protocol: string }> }> } };
type PodTemplate = KubeManifest & { spec: { template: { spec: { containers: Array<{ name: string; ports?: Array<{ name?: string; containerPort: number; protocol: string; hostPort?: number }> }> } } } };

describe('the network policy and the published ports', () => {
  const units = { ...config.units, hostPorts: 2 };
  const order = { id: 'b'.repeat(24), units: 2, specGeneration: 1, restartGeneration: 0, description: '', customLabel: '' };
  const published = (p: Policy) => p.spec.ingress.flatMap((r) => r.ports ?? []);
  const policyOf = (objects: KubeManifest[]) => objects.find((o) => o.kind === 'NetworkPolicy') as Policy;
  const podOf = (objects: KubeManifest[]) => (objects.find((o) => o.kind === 'Deployment') as PodTemplate).spec.template.spec;
  /** Web serves 80 at a host port, 8080 to a custom domain's path, 9000 to nobody; dns serves 53/UDP at a host port. */
  const twoContainers = (namedPorts: boolean): DeploySpec => ({
    region: 'ausrine',
    shape: 'client',
    registryLogins: [],
    ...(namedPorts ? { namedPorts: true as const } : {}),
    containers: [
      { ...spec(undefined).containers[0]!, name: 'web', ports: [{ containerPort: 80, hostPort: 30080, protocol: 'TCP' }, { containerPort: 8080, protocol: 'TCP' }, { containerPort: 9000, protocol: 'TCP' }], exposedPorts: [{ path: '/api', rewrite: false, containerPort: 8080 }] },
      { ...spec(undefined).containers[0]!, name: 'dns', ports: [{ containerPort: 53, hostPort: 30053, protocol: 'UDP' }] },
    ],
  });
  const built = (s: DeploySpec) => workloadManifests({ ...{ order, units, regionLabel: config.regionLabel, replicas: 1, persistStorage: false, storageClass: undefined, domains: [], ingress: config.ingress }, spec: s });

  it("is made at sale opening, by name, as many ports of each protocol as the order's units may publish", () => {
    const policy = policyOf(isolationManifests(order, units, null));
    assert.deepEqual(published(policy), [
      { port: 'pub-tcp-0', protocol: 'TCP' },
      { port: 'pub-tcp-1', protocol: 'TCP' },
      { port: 'pub-tcp-2', protocol: 'TCP' },
      { port: 'pub-tcp-3', protocol: 'TCP' },
      { port: 'pub-udp-0', protocol: 'UDP' },
      { port: 'pub-udp-1', protocol: 'UDP' },
      { port: 'pub-udp-2', protocol: 'UDP' },
      { port: 'pub-udp-3', protocol: 'UDP' },
    ]);
    assert.ok(policy.spec.ingress.some((r) => !r.ports), "the order's own namespace reaches every port");
  });

  it('names the published ports in the pod, per protocol in the order of the spec, and leaves the others unnamed', () => {
    const pod = podOf(built(twoContainers(true)));
    assert.deepEqual(pod.containers.map((c) => c.ports), [
      [
        { name: 'pub-tcp-0', containerPort: 80, protocol: 'TCP', hostPort: 30080 },
        { name: 'pub-tcp-1', containerPort: 8080, protocol: 'TCP' },
        { containerPort: 9000, protocol: 'TCP' },
      ],
      [{ name: 'pub-udp-0', containerPort: 53, protocol: 'UDP', hostPort: 30053 }],
    ]);
    for (const c of pod.containers) for (const p of c.ports ?? []) if (p.name) assert.ok(p.name.length <= 15 && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(p.name) && !p.name.includes('--'), `${p.name} is a valid port name`);
  });

  it('is the same at every deploy that publishes no more than the units allow: a deploy writes no policy', () => {
    const atSale = policyOf(isolationManifests(order, units, null));
    assert.deepEqual(policyOf(built(twoContainers(true))), atSale);
    const onePort = twoContainers(true);
    onePort.containers = [{ ...onePort.containers[0]!, ports: [{ containerPort: 80, hostPort: 30080, protocol: 'TCP' }], exposedPorts: [] }];
    assert.deepEqual(policyOf(built(onePort)), atSale);
  });

  it('opens more names when a spec publishes more ports than the units allow as host ports (paths of custom domains)', () => {
    const many = twoContainers(true);
    many.containers[0]!.ports = [80, 81, 82, 83, 84].map((containerPort) => ({ containerPort, protocol: 'TCP' as const }));
    many.containers[0]!.exposedPorts = [80, 81, 82, 83, 84].map((containerPort) => ({ path: `/p${containerPort}`, rewrite: false, containerPort }));
    const opened = published(policyOf(built(many)));
    assert.deepEqual(opened.filter((p) => p.protocol === 'TCP').map((p) => p.port), [0, 1, 2, 3, 4].map((i) => publishedPortName('TCP', i)));
    assert.deepEqual(podOf(built(many)).containers[0]!.ports!.map((p) => p.name), [0, 1, 2, 3, 4].map((i) => publishedPortName('TCP', i)));
  });

  it('opens at most NAMES_OPENED_AHEAD names of each protocol ahead, however many host ports the units allow', () => {
    const opened = published(policyOf(isolationManifests(order, { ...units, hostPorts: 1000 }, null)));
    assert.equal(opened.filter((p) => p.protocol === 'TCP').length, NAMES_OPENED_AHEAD);
    assert.equal(opened.filter((p) => p.protocol === 'UDP').length, NAMES_OPENED_AHEAD);
  });

  it('keeps port numbers and unnamed ports for a spec recorded before ports were named, so its running pod is not replaced', () => {
    const objects = built(twoContainers(false));
    assert.deepEqual(published(policyOf(objects)), [
      { port: 80, protocol: 'TCP' },
      { port: 8080, protocol: 'TCP' },
      { port: 53, protocol: 'UDP' },
    ]);
    assert.ok(podOf(objects).containers.every((c) => (c.ports ?? []).every((p) => p.name === undefined)), 'no port has a name');
  });
});
