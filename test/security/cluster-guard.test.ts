/**
 * V-Kube's in-cluster guard against the real local cluster (deploy/kubernetes):
 *
 *   (a) the pods V-Kube builds (workloadManifests) pass the pod guard and run;
 *   (b) hand-made pods in a V-Kube namespace are refused, one case per rule, each
 *       refusal naming its rule;
 *   (c) the same pods are accepted in a namespace without V-Kube's label;
 *   (d) V-Kube's own identity (ServiceAccount vkube-system/vkube, with a TokenRequest
 *       token) can do everything V-Kube does, through the real KubernetesGateway, and the
 *       cluster refuses it (403) what it must not do.
 */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { ensureVkubeIdentityKubeconfig, VKUBE_USERNAME } from '../../dev/cluster/identity.js';
import { applyGuard, GUARD_MANIFESTS, kubeClient, readManifests } from '../../dev/cluster/kube.js';
import { DEFAULT_LOG_LINES, testKubeClient, testKubeconfig } from '../../dev/cluster/testing.js';
import type { ClusterChange, KubeManifest, PodJson } from '../../src/cluster/gateway.js';
import { KubeError, KubeHttp } from '../../src/cluster/kube-http.js';
import { KubernetesGateway } from '../../src/cluster/kubernetes-gateway.js';
import { objectPath } from '../../src/cluster/resource-paths.js';
import { loadConfig } from '../../src/config.js';
import type { DeploySpec } from '../../src/domain/deploy-spec.js';
import { ALLOWED_CAPABILITIES, DATA_CLAIM, DEPLOYMENT_NAME, MANAGED_BY, namespaceOf, workloadManifests } from '../../src/domain/manifests.js';
import { eventually, uniqueSuffix } from '../helpers/eventually.js';

const config = loadConfig({}, '/tmp');
const suffix = uniqueSuffix();
/** Keeps running V-Kube test servers (their reconcilers remove orphans of their own installation only) away from these namespaces. */
const INSTALLATION = { 'vkube.dev/installation': `security-test-${suffix}` };
const GUARDED_NS = `vkube-guard-${suffix}`;
const FREE_NS = `guard-free-${suffix}`;
const FIELD_MANAGER = 'vkube-security-test';

let admin: KubeHttp;
const namespaces = new Set<string>();

function newOrderId(): string {
  return `sec${Math.random().toString(16).slice(2, 10)}${suffix}`.padEnd(24, '0').slice(0, 24);
}

/** A workload as the reconciler builds it: one container with a host port, registry login, config file, custom domain. */
function orderObjects(orderId: string, opts: { persistStorage?: boolean } = {}): KubeManifest[] {
  const hostPort = 47000 + Math.floor(Math.random() * 2000);
  const spec: DeploySpec = {
    region: 'giltine',
    shape: 'client',
    registryLogins: [{ username: 'tenant', password: 'not-a-real-password' }],
    containers: [
      {
        name: 'web',
        image: 'registry.example.com/tenant/web:1.0',
        ports: [{ containerPort: 8080, hostPort, protocol: 'TCP' }],
        memoryBytes: 256 * 2 ** 20,
        cpuMillis: 125,
        units: 1,
        env: [{ name: 'MODE', value: 'test' }],
        configFiles: [{ path: '/etc/web/app.conf', content: 'listen 8080\n' }],
        exposedPorts: [{ path: '/', rewrite: false, containerPort: 8080 }],
        loginIndex: 0,
        ...(opts.persistStorage ? { mountPath: '/data' } : {}),
      },
    ],
  };
  const objects = workloadManifests({
    order: { id: orderId, units: 1, specGeneration: 1, restartGeneration: 0, description: 'security test', customLabel: 'security-test' },
    spec,
    units: config.units,
    regionLabel: config.regionLabel,
    replicas: 1,
    persistStorage: opts.persistStorage ?? false,
    storageClass: config.storageClass,
    domains: [{ domain: `guard-${suffix}.example.com`, orderId, containerPort: 8080, https: true }],
    ingress: config.ingress,
  });
  // As the reconciler does.
  for (const o of objects) o.metadata.labels = { ...o.metadata.labels, ...INSTALLATION };
  return objects;
}

function namespace(name: string, labels: Record<string, string>): KubeManifest {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}

async function apply(kube: KubeHttp, obj: KubeManifest, query?: Record<string, string>): Promise<unknown> {
  return kube.apply(objectPath(obj.kind, obj.metadata.name, obj.metadata.namespace), obj, FIELD_MANAGER, query ? { query } : {});
}

/** A pod that satisfies every rule, like the ones V-Kube makes; each case below breaks one thing. */
function goodPod(ns: string, name: string): KubeManifest & { spec: Record<string, any> } {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns },
    spec: {
      automountServiceAccountToken: false,
      securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'main',
          image: 'busybox',
          securityContext: { privileged: false, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'], add: [...ALLOWED_CAPABILITIES] } },
        },
      ],
    },
  };
}

const POD_GUARD = 'vkube-pod-guard';

/** One rule broken each: [case, rule the refusal must name, what else it must mention, how to break the good pod]. */
const BAD_PODS: Array<[string, string, RegExp | undefined, (p: ReturnType<typeof goodPod>) => void]> = [
  // (The API server itself refuses privileged: true with allowPrivilegeEscalation: false.)
  ['privileged container', 'no-privileged', /main/, (p) => (p.spec.containers[0].securityContext = { ...p.spec.containers[0].securityContext, privileged: true, allowPrivilegeEscalation: undefined })],
  [
    'privileged init container',
    'no-privileged',
    /init/,
    (p) => (p.spec.initContainers = [{ ...p.spec.containers[0], name: 'init', securityContext: { ...p.spec.containers[0].securityContext, privileged: true, allowPrivilegeEscalation: undefined } }]),
  ],
  ['privilege escalation allowed', 'no-privilege-escalation', /main/, (p) => (p.spec.containers[0].securityContext.allowPrivilegeEscalation = true)],
  ['privilege escalation not set', 'no-privilege-escalation', /main/, (p) => delete p.spec.containers[0].securityContext.allowPrivilegeEscalation],
  ['capability NET_ADMIN added', 'allowed-capabilities', /NET_ADMIN/, (p) => p.spec.containers[0].securityContext.capabilities.add.push('NET_ADMIN')],
  ['capabilities not dropped', 'drop-all-capabilities', /main/, (p) => (p.spec.containers[0].securityContext.capabilities.drop = ['NET_RAW'])],
  ['no seccomp profile', 'seccomp-profile', /main/, (p) => delete p.spec.securityContext],
  [
    'seccomp Unconfined on a container',
    'seccomp-profile',
    /main/,
    (p) => (p.spec.containers[0].securityContext.seccompProfile = { type: 'Unconfined' }),
  ],
  ['hostNetwork', 'no-host-namespaces', /hostNetwork/, (p) => (p.spec.hostNetwork = true)],
  ['hostPID', 'no-host-namespaces', /hostPID/, (p) => (p.spec.hostPID = true)],
  ['hostIPC', 'no-host-namespaces', /hostIPC/, (p) => (p.spec.hostIPC = true)],
  [
    'hostPath volume',
    'no-host-path',
    /node-root/,
    (p) => {
      p.spec.volumes = [{ name: 'node-root', hostPath: { path: '/' } }];
      p.spec.containers[0].volumeMounts = [{ name: 'node-root', mountPath: '/host' }];
    },
  ],
  ['service-account token automounted (unset)', 'no-service-account-token', undefined, (p) => delete p.spec.automountServiceAccountToken],
  ['service-account token automounted (true)', 'no-service-account-token', undefined, (p) => (p.spec.automountServiceAccountToken = true)],
  [
    'service-account token projected by hand',
    'no-service-account-token',
    /token/,
    (p) => {
      p.spec.volumes = [{ name: 'token', projected: { sources: [{ serviceAccountToken: { path: 'token', expirationSeconds: 3600 } }] } }];
      p.spec.containers[0].volumeMounts = [{ name: 'token', mountPath: '/var/run/secrets/tokens' }];
    },
  ],
];

function badPod(ns: string, index: number): KubeManifest {
  const pod = goodPod(ns, `bad-${index}`);
  BAD_PODS[index]![3](pod);
  return pod;
}

/** Asserts `call` was refused with `status`, its message matching each pattern. */
async function refused(call: Promise<unknown>, status: number, ...patterns: RegExp[]): Promise<KubeError> {
  let error: unknown;
  try {
    await call;
  } catch (err) {
    error = err;
  }
  assert.ok(error instanceof KubeError, `expected a refusal (HTTP ${status}), got ${error === undefined ? 'success' : String(error)}`);
  assert.equal(error.status, status, error.message);
  for (const p of patterns) assert.match(error.message, p);
  return error;
}

async function runningPod(kube: KubeHttp, ns: string): Promise<PodJson> {
  return eventually(
    async () => {
      const pods = (await kube.get<{ items: PodJson[] }>(`/api/v1/namespaces/${ns}/pods`)).items;
      const running = pods.find((p) => p.status?.phase === 'Running' && !p.metadata.deletionTimestamp);
      if (running) return running;
      const events = (await kube.get<{ items: Array<{ reason?: string; message?: string }> }>(`/api/v1/namespaces/${ns}/events`)).items;
      assert.fail(`no Running pod in ${ns}: pods ${JSON.stringify(pods.map((p) => [p.metadata.name, p.status?.phase]))}; events ${JSON.stringify(events.map((e) => `${e.reason}: ${e.message}`).slice(-5))}`);
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
}

before(async () => {
  const kc = testKubeClient();
  admin = await KubeHttp.fromKubeConfig(kc);
  // The current version of the guard (cluster:up applies it too; this keeps a long-running cluster current).
  await applyGuard(kc);
  for (const [name, labels] of [
    [GUARDED_NS, { ...MANAGED_BY, ...INSTALLATION }],
    [FREE_NS, {}],
  ] as const) {
    await apply(admin, namespace(name, labels));
    namespaces.add(name);
  }
  // Admission policies take effect once the API server has loaded them.
  await eventually(() => refused(apply(admin, badPod(GUARDED_NS, 0), { dryRun: 'All' }), 403, /no-privileged/), { timeoutMs: 20_000 });
});

after(async () => {
  // Cleanup: namespaces already gone are a 404.
  for (const ns of namespaces) await admin.delete(objectPath('Namespace', ns)).catch(() => {});
  admin.close();
});

describe('the guard as written', () => {
  it('allows the capabilities V-Kube adds, no more (kept in sync with ALLOWED_CAPABILITIES)', async () => {
    const policy = (await readManifests(GUARD_MANIFESTS.admissionPolicy)).find((o) => o.metadata?.name === POD_GUARD) as unknown as {
      spec: { variables: Array<{ name: string; expression: string }> };
    };
    const expression = policy.spec.variables.find((v) => v.name === 'allowedCapabilities')!.expression;
    const listed = [...expression.matchAll(/'([A-Z_]+)'/g)].map((m) => m[1]);
    assert.deepEqual([...listed].sort(), [...ALLOWED_CAPABILITIES].sort());
  });

  it('is installed in the cluster: both policies bound with Deny, failing closed', async () => {
    for (const name of [POD_GUARD, 'vkube-identity-scope']) {
      const policy = await admin.get<{ spec: { failurePolicy: string }; status?: { typeChecking?: { expressionWarnings?: unknown[] } } }>(
        `/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/${name}`,
      );
      assert.equal(policy.spec.failurePolicy, 'Fail');
      assert.deepEqual(policy.status?.typeChecking?.expressionWarnings ?? [], [], `${name} compiles without warnings`);
      const binding = await admin.get<{ spec: { policyName: string; validationActions: string[] } }>(
        `/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings/${name}`,
      );
      assert.equal(binding.spec.policyName, name);
      assert.deepEqual(binding.spec.validationActions, ['Deny']);
    }
  });
});

describe('(a) V-Kube workloads pass the pod guard', () => {
  it('a Deployment built by workloadManifests() gets a Running pod', { timeout: 90_000 }, async () => {
    const orderId = newOrderId();
    const ns = namespaceOf(orderId);
    namespaces.add(ns);
    const objects = orderObjects(orderId);
    assert.deepEqual(objects[0]!.metadata.labels?.['app.kubernetes.io/managed-by'], 'vkube');
    for (const obj of objects) await apply(admin, obj);
    const pod = await runningPod(admin, ns);
    assert.equal(pod.metadata.labels?.['vkube.dev/order'], orderId);
  });

  it('a compliant hand-made pod (the baseline of the cases below) is accepted', async () => {
    await apply(admin, goodPod(GUARDED_NS, 'baseline'));
  });
});

describe('(b) pods breaking a rule are refused in V-Kube namespaces, naming the rule', () => {
  BAD_PODS.forEach(([what, rule, mention], i) => {
    it(`${what} → ${rule}`, async () => {
      const err = await refused(apply(admin, badPod(GUARDED_NS, i)), 403, new RegExp(POD_GUARD), new RegExp(`denied request: ${rule}:`));
      if (mention) assert.match(err.message, mention);
    });
  });

  it('a Deployment whose pod template breaks a rule is refused at once', async () => {
    const objects = orderObjects(newOrderId());
    const deployment = objects.find((o) => o.kind === 'Deployment')! as KubeManifest & { spec: any };
    deployment.metadata.namespace = GUARDED_NS;
    deployment.spec.template.spec.containers[0].securityContext = { privileged: true };
    await refused(apply(admin, deployment), 403, /no-privileged: container\(s\) web/);
  });

  it('so are the pod templates of ReplicaSets, StatefulSets, DaemonSets, Jobs and CronJobs', async () => {
    const spec: Record<string, any> = { ...goodPod(GUARDED_NS, 'x').spec, restartPolicy: 'Never' };
    spec.containers = [{ ...spec.containers[0], securityContext: { privileged: true } }];
    const template = { metadata: { labels: { app: 'x' } }, spec };
    const selector = { matchLabels: { app: 'x' } };
    const workloads: KubeManifest[] = [
      { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'rs', namespace: GUARDED_NS }, spec: { selector, template: { ...template, spec: { ...template.spec, restartPolicy: 'Always' } } } },
      { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'sts', namespace: GUARDED_NS }, spec: { selector, serviceName: 'x', template: { ...template, spec: { ...template.spec, restartPolicy: 'Always' } } } },
      { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'ds', namespace: GUARDED_NS }, spec: { selector, template: { ...template, spec: { ...template.spec, restartPolicy: 'Always' } } } },
      { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'job', namespace: GUARDED_NS }, spec: { template } },
      { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'cron', namespace: GUARDED_NS }, spec: { schedule: '@daily', jobTemplate: { spec: { template } } } },
    ];
    for (const w of workloads) {
      const path = `/apis/${w.apiVersion}/namespaces/${GUARDED_NS}/${w.kind.toLowerCase()}s/${w.metadata.name}`;
      await refused(admin.apply(path, w, FIELD_MANAGER, { query: { dryRun: 'All' } }), 403, /no-privileged: container\(s\) main/);
    }
  });

  it('an UPDATE that leaves the pod spec alone is not checked (pods from before the label can be relabelled); one that changes it is', async () => {
    const ns = `vkube-guard-late-${suffix}`;
    await apply(admin, namespace(ns, INSTALLATION));
    namespaces.add(ns);
    const old = badPod(ns, 0);
    await apply(admin, old);
    await apply(admin, namespace(ns, { ...MANAGED_BY, ...INSTALLATION }));
    await eventually(() => refused(apply(admin, badPod(ns, 1), { dryRun: 'All' }), 403, /no-privileged/), { timeoutMs: 10_000 });
    await admin.mergePatch(objectPath('Pod', old.metadata.name, ns), { metadata: { labels: { relabelled: 'yes' } } });
    await refused(admin.mergePatch(objectPath('Pod', old.metadata.name, ns), { spec: { activeDeadlineSeconds: 3600 } }), 403, /no-privileged/);
  });

  it('an ephemeral (debug) container must be hardened too', { timeout: 60_000 }, async () => {
    const pod = goodPod(GUARDED_NS, 'debug-target');
    await apply(admin, pod);
    const path = `${objectPath('Pod', 'debug-target', GUARDED_NS)}/ephemeralcontainers`;
    const debug = { name: 'debugger', image: 'busybox', targetContainerName: 'main' };
    await refused(admin.mergePatch(path, { spec: { ephemeralContainers: [debug] } }), 403, /no-privilege-escalation: container\(s\) debugger/);
    const hardened = { ...debug, securityContext: pod.spec.containers[0].securityContext };
    await admin.mergePatch(path, { spec: { ephemeralContainers: [hardened] } });
  });
});

describe('(c) the guard is scoped to V-Kube namespaces', () => {
  BAD_PODS.forEach(([what], i) => {
    it(`${what}: accepted in a namespace without the label`, async () => {
      await apply(admin, badPod(FREE_NS, i));
    });
  });
});

describe("(d) V-Kube's identity: what it needs works, nothing more", { timeout: 240_000 }, () => {
  let identityPath: string;
  let kube: KubeHttp;
  let gateway: KubernetesGateway;
  let sawOwnEvent = false;
  const orderId = newOrderId();
  const ns = namespaceOf(orderId);
  const objects = orderObjects(orderId);

  before(async () => {
    const t = Date.now();
    identityPath = await ensureVkubeIdentityKubeconfig(testKubeconfig());
    const first = Date.now() - t;
    const t2 = Date.now();
    assert.equal(await ensureVkubeIdentityKubeconfig(testKubeconfig()), identityPath);
    console.log(`identity kubeconfig: ${first} ms, again ${Date.now() - t2} ms`);
    kube = await KubeHttp.fromKubeConfig(kubeClient(identityPath));
    gateway = new KubernetesGateway({ http: await KubeHttp.fromKubeConfig(kubeClient(identityPath)), regionLabel: config.regionLabel });
    gateway.onChange((c: ClusterChange) => {
      if (c.kind === 'event' && c.event.metadata.namespace === ns) sawOwnEvent = true;
    });
    gateway.start();
    namespaces.add(ns);
  });

  after(async () => {
    await gateway?.stop();
    kube?.close();
  });

  it('has a private kubeconfig that authenticates as vkube-system/vkube', async () => {
    assert.equal(statSync(identityPath).mode & 0o777, 0o600);
    const review = await kube.post<{ status: { userInfo: { username: string; groups: string[] } } }>('/apis/authentication.k8s.io/v1/selfsubjectreviews', {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'SelfSubjectReview',
    });
    assert.equal(review.status.userInfo.username, VKUBE_USERNAME);
    assert.ok(!review.status.userInfo.groups.includes('system:masters'));
  });

  it('lists and watches nodes, pods (cluster-wide), its namespaces, deployments, volume claims, isolation objects and events', async () => {
    assert.equal(await gateway.waitForSync(30_000), true, JSON.stringify(gateway.health()));
    await eventually(() => {
      const h = gateway.health();
      assert.equal(h.reachable, true, JSON.stringify(h));
      assert.equal(h.synced, true);
      // Every watch, and the heartbeat: V-Kube's identity may read /livez (system:public-info-viewer).
      assert.deepEqual(Object.entries(h.sources ?? {}).filter(([, s]) => !s.live), []);
      assert.deepEqual(Object.keys(h.sources ?? {}).sort(), ['apiserver', 'claims', 'deployments', 'events', 'limits', 'namespaces', 'networkPolicies', 'nodes', 'pods', 'quotas']);
    });
    assert.ok(gateway.regions()?.includes('giltine'));
    assert.ok(gateway.hostPortsInRegion('giltine'));
  });

  it('creates its labelled namespace and server-side applies every order object', async () => {
    await gateway.apply(objects);
    // The claim of an order with persistent storage, too (not mounted here: the local cluster has no provisioner).
    const claim = orderObjects(orderId, { persistStorage: true }).find((o) => o.kind === 'PersistentVolumeClaim')!;
    await gateway.apply([claim]);
    // Re-applying (an update, as every reconcile does) works too.
    await gateway.apply(objects);
    await eventually(() => assert.ok(gateway.managedNamespaces().some((n) => n.metadata.name === ns)));
    await eventually(() => assert.ok(gateway.deployment(ns, DEPLOYMENT_NAME)));
  });

  it('sees its volume claim through the claim watch, and the events about it', { timeout: 60_000 }, async () => {
    const claim = await eventually(() => {
      const c = gateway.persistentVolumeClaim(ns, DATA_CLAIM);
      assert.ok(c, `the claim ${ns}/${DATA_CLAIM} reached the claim cache`);
      return c;
    });
    assert.ok(claim.status?.phase, `the claim has a phase: ${JSON.stringify(claim.status)}`);
    // The volume controller says something about every claim it cannot bind at once (no class, no default class, waiting for a consumer, …).
    await eventually(
      () => assert.ok(gateway.claimEvents(ns, DATA_CLAIM).length > 0 || gateway.persistentVolumeClaim(ns, DATA_CLAIM)?.status?.phase === 'Bound', 'an event about the claim reached the event cache'),
      { timeoutMs: 45_000 },
    );
  });

  it('sees its pod run through the cluster-wide pod watch, and its events', { timeout: 60_000 }, async () => {
    await eventually(() => assert.ok(gateway.podsInNamespace(ns).some((p) => p.status?.phase === 'Running')), { timeoutMs: 60_000 });
    await eventually(() => assert.ok(sawOwnEvent, 'an event of its namespace reached the gateway'));
  });

  it('reads its pod log', async () => {
    const pod = gateway.podsInNamespace(ns).find((p) => p.status?.phase === 'Running')!;
    assert.equal(await gateway.readLog(ns, pod.metadata.name, { container: 'web' }), DEFAULT_LOG_LINES.join('\n') + '\n');
  });

  it('reads pod metrics (metrics.k8s.io) and the kubelet Summary API (nodes/proxy)', { timeout: 90_000 }, async () => {
    const pod = gateway.podsInNamespace(ns).find((p) => p.status?.phase === 'Running')!;
    const metrics = await eventually(
      async () => {
        const m = await gateway.podMetrics(ns, pod.metadata.name);
        assert.ok(m, 'no sample yet');
        return m;
      },
      { timeoutMs: 80_000, intervalMs: 1000 },
    );
    assert.ok(metrics.containers.some((c) => c.name === 'web'));
    // The usage sampler's read: one label-selected LIST (RBAC's list verb), V-Kube's pods only.
    const all = await eventually(
      async () => {
        const m = await gateway.managedPodMetrics();
        assert.ok(m.has(`${ns}/${pod.metadata.name}`), 'the pod is not in the list yet');
        return m;
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    assert.ok(all.get(`${ns}/${pod.metadata.name}`)!.containers.some((c) => c.name === 'web'));
    assert.ok([...all.keys()].every((k) => k.startsWith('vkube-')), `only V-Kube's namespaces: ${[...all.keys()].join(', ')}`);
    try {
      assert.ok(Array.isArray((await gateway.kubeletSummary(pod.spec.nodeName!)).pods));
    } catch (err) {
      // The local cluster's API server will not proxy to kwok's loopback kubelet address
      // ("address not allowed", for the admin too). What this test proves is that RBAC and
      // admission let V-Kube's identity through: the refusal comes from the proxy, not a 403.
      const cause = err instanceof KubeError ? err : (err as Error).cause;
      assert.ok(cause instanceof KubeError, String(err));
      assert.equal(cause.status, 400, cause.message);
      assert.match(cause.message, /address not allowed/);
    }
    // A real kubelet (the local real node, when this cluster has one) answers V-Kube's identity in full.
    const real = (await admin.get<{ items: Array<{ metadata: { name: string } }> }>('/api/v1/nodes', { query: { labelSelector: 'vkube.dev/real-node=true' } })).items[0];
    if (real) {
      const summary = await gateway.kubeletSummary(real.metadata.name);
      assert.ok(summary !== null && typeof summary === 'object' && 'pods' in summary, `the Summary API of ${real.metadata.name}: ${JSON.stringify(summary).slice(0, 200)}`);
    }
  });

  it('prunes what an older spec generation left, without reading a Secret', async () => {
    // The objects were applied for generation 1: pruning for it keeps them, for generation 2 removes them.
    const count = async (kind: string) =>
      (await admin.get<{ items: unknown[] }>(objectPath(kind, 'x', ns).replace(/\/x$/, ''), { query: { labelSelector: 'app.kubernetes.io/managed-by=vkube' } })).items.length;
    const kinds = ['Secret', 'ConfigMap', 'Service', 'Ingress'];
    await gateway.prune(ns, 1);
    for (const kind of kinds) assert.ok((await count(kind)) >= 1, `the current ${kind} is kept`);
    await gateway.prune(ns, 2);
    for (const kind of kinds) assert.equal(await count(kind), 0, `no stale ${kind} left`);
    await refused(kube.get(objectPath('Secret', 'x', ns).replace(/\/x$/, '')), 403, /secrets/);
  });

  it('deletes a pod in its namespace', async () => {
    const pod = gateway.podsInNamespace(ns).find((p) => !p.metadata.deletionTimestamp)!;
    await gateway.deletePod(ns, pod.metadata.name);
  });

  it('cannot deploy a privileged workload even into its own namespace (pod guard)', async () => {
    const deployment = structuredClone(objects.find((o) => o.kind === 'Deployment')!) as KubeManifest & { spec: any };
    deployment.spec.template.spec.containers[0].securityContext = { privileged: true };
    // As V-Kube's field manager, so the apply replaces the hardened securityContext instead of merging with it.
    const path = objectPath('Deployment', DEPLOYMENT_NAME, ns);
    await refused(kube.apply(path, deployment, 'vkube'), 403, /vkube-pod-guard/, /no-privileged/);
  });

  it('deletes its namespace', async () => {
    await gateway.deleteNamespace(ns);
    await eventually(() => assert.ok(gateway.managedNamespaces().every((n) => n.metadata.name !== ns || n.metadata.deletionTimestamp)));
  });

  describe('refused by RBAC (403)', () => {
    it('reading Secrets: in kube-system, cluster-wide, or even in its own namespace', async () => {
      await refused(kube.get('/api/v1/namespaces/kube-system/secrets'), 403, /forbidden/);
      await refused(kube.get('/api/v1/namespaces/kube-system/secrets/anything'), 403, /forbidden/);
      await refused(kube.get('/api/v1/secrets'), 403, /forbidden/);
      await refused(kube.get(`/api/v1/namespaces/${GUARDED_NS}/secrets`), 403, /forbidden/);
    });

    it('creating a ClusterRoleBinding (or any RBAC object)', async () => {
      const binding = {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: `vkube-escalate-${suffix}` },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
        subjects: [{ kind: 'ServiceAccount', name: 'vkube', namespace: 'vkube-system' }],
      };
      await refused(kube.post('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', binding), 403, /forbidden/);
      await refused(kube.get('/apis/rbac.authorization.k8s.io/v1/clusterroles'), 403, /forbidden/);
    });

    it('deleting or changing a node', async () => {
      const node = (await admin.get<{ items: Array<{ metadata: { name: string } }> }>('/api/v1/nodes')).items[0]!.metadata.name;
      await refused(kube.delete(`/api/v1/nodes/${node}`), 403, /forbidden/);
      await refused(kube.mergePatch(`/api/v1/nodes/${node}`, { metadata: { labels: { region: 'elsewhere' } } }), 403, /forbidden/);
    });

    it('changing the admission policies', async () => {
      const path = `/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/${POD_GUARD}`;
      await refused(kube.mergePatch(path, { spec: { failurePolicy: 'Ignore' } }), 403, /forbidden/);
      await refused(kube.delete(`/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings/${POD_GUARD}`), 403, /forbidden/);
    });

    it('creating a pod, in kube-system or anywhere', async () => {
      await refused(kube.post('/api/v1/namespaces/kube-system/pods', goodPod('kube-system', `vkube-${suffix}`)), 403, /forbidden/);
      await refused(kube.post(`/api/v1/namespaces/${GUARDED_NS}/pods`, goodPod(GUARDED_NS, `direct-${suffix}`)), 403, /forbidden/);
    });

    it('reading PersistentVolumes or StorageClasses, or deleting a volume claim (the namespace takes it)', async () => {
      await refused(kube.get('/api/v1/persistentvolumes'), 403, /forbidden/);
      await refused(kube.get('/apis/storage.k8s.io/v1/storageclasses'), 403, /forbidden/);
      await refused(kube.delete(objectPath('PersistentVolumeClaim', DATA_CLAIM, GUARDED_NS)), 403, /forbidden/);
    });

    it('attaching to pods, or minting ServiceAccount tokens', async () => {
      await refused(kube.post('/api/v1/namespaces/kube-system/serviceaccounts/default/token', { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} }), 403, /forbidden/);
      await refused(kube.post(`/api/v1/namespaces/${GUARDED_NS}/pods/baseline/attach?stdout=true`, {}), 403, /forbidden/);
    });
  });

  describe('refused by vkube-identity-scope (403): its cluster-wide write verbs only work in its namespaces', () => {
    it('applying a ConfigMap in default, or a Secret in kube-system', async () => {
      const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `vkube-${suffix}`, namespace: 'default' }, data: { a: 'b' } };
      await refused(apply(kube, configMap), 403, /vkube-identity-scope/, /vkube-namespaces-only/, /namespace default/);
      // RBAC lets it patch Secrets (it applies pull Secrets); without the policy, a patch would answer with any Secret's data.
      const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: `vkube-${suffix}`, namespace: 'kube-system' }, stringData: { a: 'b' } };
      await refused(apply(kube, secret), 403, /vkube-namespaces-only/, /namespace kube-system/);
    });

    it('creating a namespace not named vkube-*, or labelling / deleting one it did not create', async () => {
      await refused(apply(kube, namespace(`not-vkube-${suffix}`, MANAGED_BY)), 403, /vkube-namespaces-only/);
      await refused(apply(kube, namespace(FREE_NS, MANAGED_BY)), 403, /vkube-namespaces-only/);
      await refused(kube.delete(objectPath('Namespace', FREE_NS)), 403, /vkube-namespaces-only/);
    });

    it('removing the label from one of its namespaces (which would lift the pod guard)', async () => {
      await refused(apply(kube, namespace(GUARDED_NS, { 'app.kubernetes.io/managed-by': 'someone-else' })), 403, /vkube-namespaces-only/);
    });

    it('exec or port-forward into a pod outside its namespaces (RBAC grants them cluster-wide for the customers\' pods)', async () => {
      // A real pod of the control plane's namespace: admission refuses before the pod is even looked up.
      const victim = (await admin.get<{ items: Array<{ metadata: { name: string } }> }>('/api/v1/namespaces/kube-system/pods')).items[0]?.metadata.name ?? 'any';
      await refused(kube.post(`/api/v1/namespaces/kube-system/pods/${victim}/exec?command=id&stdout=true`, {}), 403, /vkube-identity-scope/, /vkube-namespaces-only/, /pods\/exec in namespace kube-system/);
      await refused(kube.post(`/api/v1/namespaces/${FREE_NS}/pods/any/portforward?ports=80`, {}), 403, /vkube-namespaces-only/, /pods\/portforward in namespace/);
      // Over a WebSocket, as V-Kube's own exec does it.
      await assert.rejects(
        gateway.exec('kube-system', victim, { container: 'x', command: ['id'], stdin: false, tty: false }),
        (err: Error) => /refused V-Kube's identity/.test(err.message) && /403/.test(err.message),
      );
    });

    it('the node proxy for anything but kubelet metrics (pod lists, exec)', async () => {
      const node = (await admin.get<{ items: Array<{ metadata: { name: string } }> }>('/api/v1/nodes')).items[0]!.metadata.name;
      await refused(kube.text(`/api/v1/nodes/${node}/proxy/pods`), 403, /vkube-kubelet-metrics-only/, /not \/pods/);
      await refused(kube.text(`/api/v1/nodes/${node}/proxy/configz`), 403, /vkube-kubelet-metrics-only/);
      await refused(kube.text(`/api/v1/nodes/${node}/proxy/metrics/../exec/kube-system/x/y?command=id`), 403, /vkube-kubelet-metrics-only/, /not \/exec/);
    });

    it('NodePort Services, externalIPs, and service-account-token Secrets in its namespaces', async () => {
      const service = (spec: Record<string, unknown>) => ({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: `probe-${suffix}`, namespace: GUARDED_NS },
        spec: { ports: [{ port: 80 }], ...spec },
      });
      await refused(apply(kube, service({ type: 'NodePort' })), 403, /vkube-cluster-ip-services/);
      await refused(apply(kube, service({ externalIPs: ['203.0.113.7'] })), 403, /vkube-cluster-ip-services/);
      const token = {
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'kubernetes.io/service-account-token',
        metadata: { name: `probe-${suffix}`, namespace: GUARDED_NS, annotations: { 'kubernetes.io/service-account.name': 'default' } },
      };
      await refused(apply(kube, token), 403, /vkube-no-token-secrets/);
    });
  });
});
