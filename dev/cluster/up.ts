/**
 * `npm run cluster:up`: builds what is missing, then starts etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler and kwok on loopback, creates the fake
 * nodes, brings up the real node (the local registry, containerd, kubelet, kube-router's
 * network-policy controller and the local-path provisioner) when the config has a real
 * region, and waits until the API is ready and every node is Ready.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from './build.js';
import { auditLogPath, type ClusterConfig, expectedProcesses, fakeNodes, kubeconfigPath, loadClusterConfig, type Ports, portEnv, ports as portsFromEnv, realNodeRegion, stateDir } from './config.js';
import { applyCrds, applyGuard, applyManifests, GiveUp, kubeClient, probe, readyNodes, syncNodes, until } from './kube.js';
import { writeKwokConfig } from './kwok-config.js';
import { adminKubeconfig, ensurePki, type Pki } from './pki.js';
import { isAlive, logPath, portIsFree, type ProcessRecord, readRecords, startProcess } from './processes.js';
import { down } from './down.js';
import { registryHost, startLocalRegistry } from './local-registry.js';
import { enforcesNetworkPolicies } from './real-node/network-policy.js';
import { startRealNode } from './real-node/node.js';
import { ClusterError, formatDuration } from './util.js';
import { binaryPath, components, kwokCrds } from './versions.js';


export const SERVICE_CIDR = '10.96.0.0/16';
export const POD_CIDR = '10.244.0.0/16';

export interface UpResult {
  kubeconfig: string;
  alreadyUp: boolean;
  ms: number;
}

export async function up(opts: { log?: (line: string) => void } = {}): Promise<UpResult> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const started = Date.now();
  const state = stateDir();
  const config = loadClusterConfig();
  const nodes = fakeNodes(config);
  const realNode = realNodeRegion(config);
  const skipped = config.regions.find((r) => r.real && r.name !== realNode?.region);
  if (skipped) log(`region ${skipped.name} (the real node) is left out: its kubelet and containerd need root`);
  const nodeCount = nodes.length + (realNode ? 1 : 0);
  const ports = portsFromEnv();

  const records = await readRecords(state);
  if (records.length > 0) {
    if (await isHealthy(state, records, config, nodeCount)) {
      // A cluster started before the guard (or before its last change) gets it now.
      await applyGuard(kubeClient(kubeconfigPath()));
      log(`the local cluster is already up and healthy; kubeconfig: ${kubeconfigPath()}`);
      return { kubeconfig: kubeconfigPath(), alreadyUp: true, ms: Date.now() - started };
    }
    log('the local cluster is partly running: restarting it (its data is kept)');
    await down({ keep: true, log: () => {} });
  }

  await build({ quiet: true });
  await checkPortsFree(ports);
  await mkdir(state, { recursive: true });
  const pki = await ensurePki(join(state, 'pki'));
  const kubeconfig = kubeconfigPath();
  await writeFile(kubeconfig, adminKubeconfig(pki, `https://127.0.0.1:${ports.apiserver}`), { mode: 0o600 });

  const step = async (name: string, what: () => Promise<void>) => {
    const t = Date.now();
    await what();
    log(`  ${name} (${formatDuration(Date.now() - t)})`);
  };

  await writeFile(auditPolicyPath(state), AUDIT_POLICY);
  const etcd = await startProcess(state, 'etcd', binaryPath('etcd'), etcdArgs(state, ports));
  await step('etcd ready', () => waitFor(etcd, () => probe(`http://127.0.0.1:${ports.etcdClient}/health`).then((r) => r.status === 200), 30_000, 'etcd to report healthy'));

  const apiserver = await startProcess(state, 'kube-apiserver', binaryPath('kube-apiserver'), apiserverArgs(state, pki, ports));
  await step('kube-apiserver ready', () =>
    waitFor(apiserver, () => probe(`https://127.0.0.1:${ports.apiserver}/readyz`, pki).then((r) => r.status === 200), 90_000, 'kube-apiserver /readyz'),
  );

  const kcm = await startProcess(state, 'kube-controller-manager', binaryPath('kube-controller-manager'), controllerManagerArgs(pki, kubeconfig, ports));
  const scheduler = await startProcess(state, 'kube-scheduler', binaryPath('kube-scheduler'), schedulerArgs(kubeconfig, ports));

  const kc = kubeClient(kubeconfig);
  await step('V-Kube RBAC and admission policies applied', () => applyGuard(kc));
  const kwokDir = components().find((c) => c.name === 'kwok')!.dir;
  await step('kwok CRDs established', () => applyCrds(kc, kwokCrds.map((f) => join(kwokDir, f))));
  await step('nodes created', () => syncNodes(kc, config, nodes));
  if (realNode) {
    const registry = await startLocalRegistry(state, ports.registry);
    await step(`local registry http://${registryHost(ports.registry)}`, () =>
      waitFor(registry, () => probe(`http://${registryHost(ports.registry)}/v2/`).then((r) => r.status === 200), 30_000, 'the local registry'),
    );
    await startRealNode({
      state,
      node: realNode,
      regionLabel: config.regionLabel,
      pki,
      kubeconfig,
      apiserverUrl: `https://127.0.0.1:${ports.apiserver}`,
      registryHost: registryHost(ports.registry),
      serviceCidr: SERVICE_CIDR,
      log,
      step,
      waitFor,
    });
  }
  const kwokConfig = await writeKwokConfig({ state, cidr: POD_CIDR });
  const kwok = await startProcess(state, 'kwok', binaryPath('kwok'), kwokArgs(pki, kubeconfig, kwokConfig, ports));

  await step(`${nodeCount} nodes Ready`, () =>
    waitFor(kwok, async () => (await readyNodes(kc)).ready.length === nodeCount, 60_000, 'every node to become Ready'),
  );
  await step('controller-manager and scheduler healthy', async () => {
    await waitFor(kcm, () => probe(`https://127.0.0.1:${ports.controllerManager}/healthz`).then((r) => r.status === 200), 60_000, 'kube-controller-manager /healthz');
    await waitFor(scheduler, () => probe(`https://127.0.0.1:${ports.scheduler}/healthz`).then((r) => r.status === 200), 60_000, 'kube-scheduler /healthz');
  });
  // Pods cannot be created in a namespace until its "default" ServiceAccount exists.
  await step('default ServiceAccount', () => waitFor(kcm, () => serviceAccountExists(kc), 60_000, 'the default ServiceAccount'));

  const metricsServer = await startProcess(state, 'metrics-server', binaryPath('metrics-server'), metricsServerArgs(state, pki, kubeconfig, ports, config.metricResolutionSeconds));
  await step('metrics-server serving', async () => {
    await waitFor(metricsServer, () => probe(`https://127.0.0.1:${ports.metricsServer}/livez`).then((r) => r.status === 200), 60_000, 'metrics-server /livez');
    await registerMetricsApi(kc, ports.metricsServer);
  });

  await writeFile(
    join(state, 'cluster.json'),
    JSON.stringify({ ports, nodes: [...nodes.map((n) => n.name), ...(realNode ? [realNode.name] : [])], realNode: realNode ?? null, startedAt: new Date().toISOString() }, null, 2),
  );
  const ms = Date.now() - started;
  log(`the local cluster is up in ${formatDuration(ms)}: ${nodeCount} nodes in ${config.regions.map((r) => r.name).join(', ')}`);
  log(`kubeconfig: ${kubeconfig}`);
  return { kubeconfig, alreadyUp: false, ms };
}

/** Every process of the config alive, the API ready and every node Ready. */
export async function isHealthy(state: string, records: ProcessRecord[], config: ClusterConfig, nodeCount: number): Promise<boolean> {
  if (!expectedProcesses(config, await enforcesNetworkPolicies(state)).every((name) => records.some((r) => r.name === name && isAlive(r)))) return false;
  if (!existsSync(kubeconfigPath())) return false;
  try {
    const saved = JSON.parse(await readFile(join(state, 'cluster.json'), 'utf8')) as { ports: Ports };
    const pki = await ensurePki(join(state, 'pki'));
    if ((await probe(`https://127.0.0.1:${saved.ports.apiserver}/readyz`, pki)).status !== 200) return false;
    const nodes = await readyNodes(kubeClient(kubeconfigPath()));
    return nodes.ready.length === nodeCount && nodes.total === nodeCount;
  } catch {
    return false;
  }
}

async function checkPortsFree(ports: Ports): Promise<void> {
  for (const [key, port] of Object.entries(ports) as Array<[keyof Ports, number]>) {
    if (!(await portIsFree(port))) {
      throw new ClusterError(
        `port ${port} (${key}) is already in use by another process`,
        `stop that process (ss -ltnp 'sport = :${port}' shows it), or move this cluster: VKUBE_CLUSTER_PORT_BASE=<another base> or ${portEnv[key]}=<port>`,
      );
    }
  }
}

/** Waits for `check`, failing fast (with the log's tail) if the process exits. */
async function waitFor(proc: ProcessRecord, check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  try {
    await until(async () => {
      if (!isAlive(proc)) throw new GiveUp(`${proc.name} exited`);
      return check();
    }, timeoutMs, what);
  } catch (err) {
    const tail = (await readFile(logPath(stateDir(), proc.name), 'utf8').catch(() => '')).trimEnd().split('\n').slice(-12).join('\n  ');
    const why = isAlive(proc) ? (err as Error).message : `${proc.name} exited`;
    throw new ClusterError(`${why}\nlast lines of ${proc.log}:\n  ${tail}`, `read ${proc.log}; \`npm run cluster:down\` cleans up before another try`);
  }
}

async function serviceAccountExists(kc: ReturnType<typeof kubeClient>): Promise<boolean> {
  const { CoreV1Api } = await import('@kubernetes/client-node');
  await kc.makeApiClient(CoreV1Api).readNamespacedServiceAccount({ name: 'default', namespace: 'default' });
  return true;
}

function metricsServerArgs(state: string, pki: Pki, kubeconfig: string, p: Ports, resolutionSeconds: number): string[] {
  return [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${p.metricsServer}`,
    `--tls-cert-file=${pki.adminCert}`,
    `--tls-private-key-file=${pki.adminKey}`,
    `--cert-dir=${join(state, 'pki', 'metrics-server')}`,
    // kwok's kubelet server has the admin certificate, not one issued for each node.
    '--kubelet-insecure-tls',
    '--kubelet-use-node-status-port',
    '--kubelet-preferred-address-types=InternalDNS,InternalIP',
    `--metric-resolution=${resolutionSeconds}s`,
    '--kubelet-request-timeout=5s',
  ];
}

/**
 * The metrics API (metrics.k8s.io) served by our metrics-server process: an
 * ExternalName Service pointing at localhost lets the apiserver's aggregator reach a
 * process that runs outside the cluster.
 */
async function registerMetricsApi(kc: ReturnType<typeof kubeClient>, port: number): Promise<void> {
  await applyManifests(kc, [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'metrics-server', namespace: 'kube-system' },
      spec: { type: 'ExternalName', externalName: 'localhost', ports: [{ name: 'https', port, protocol: 'TCP' }] },
    },
    {
      apiVersion: 'apiregistration.k8s.io/v1',
      kind: 'APIService',
      metadata: { name: 'v1beta1.metrics.k8s.io' },
      spec: {
        group: 'metrics.k8s.io',
        version: 'v1beta1',
        groupPriorityMinimum: 100,
        versionPriority: 100,
        insecureSkipTLSVerify: true,
        service: { name: 'metrics-server', namespace: 'kube-system', port },
      },
    },
  ]);
}

function etcdArgs(state: string, p: Ports): string[] {
  const client = `http://127.0.0.1:${p.etcdClient}`;
  const peer = `http://127.0.0.1:${p.etcdPeer}`;
  return [
    '--name=node0',
    `--data-dir=${join(state, 'etcd')}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=node0=${peer}`,
    '--listen-metrics-urls=',
    '--auto-compaction-retention=1',
    '--quota-backend-bytes=8589934592',
    // Test data: durability across power loss is not worth the fsync latency here.
    '--unsafe-no-fsync=true',
  ];
}

/**
 * The API server's audit log records every write V-Kube's own identity makes (who —
 * its user agent names the replica —, what, when), nothing else: tests show from it
 * that only one replica writes at a time.
 */
const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    userGroups: ["system:serviceaccounts:vkube-system"]
    verbs: ["create", "update", "patch", "delete", "deletecollection"]
  - level: None
`;

function auditPolicyPath(state: string): string {
  return join(state, 'audit-policy.yaml');
}

function apiserverArgs(state: string, pki: Pki, p: Ports): string[] {
  return [
    `--etcd-servers=http://127.0.0.1:${p.etcdClient}`,
    '--etcd-prefix=/registry',
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${p.apiserver}`,
    `--tls-cert-file=${pki.adminCert}`,
    `--tls-private-key-file=${pki.adminKey}`,
    `--client-ca-file=${pki.caCert}`,
    `--service-account-key-file=${pki.saPub}`,
    `--service-account-signing-key-file=${pki.saKey}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    '--authorization-mode=Node,RBAC',
    '--allow-privileged=true',
    '--endpoint-reconciler-type=none',
    // Aggregated APIs (metrics-server) authenticate the apiserver by this front-proxy certificate.
    `--requestheader-client-ca-file=${pki.caCert}`,
    '--requestheader-allowed-names=front-proxy-client',
    '--requestheader-username-headers=X-Remote-User',
    '--requestheader-group-headers=X-Remote-Group',
    '--requestheader-extra-headers-prefix=X-Remote-Extra-',
    `--proxy-client-cert-file=${pki.proxyCert}`,
    `--proxy-client-key-file=${pki.proxyKey}`,
    // Kubelets: kwok's server for the fake nodes (their InternalDNS is localhost; their
    // InternalIP is made up and never dialled), the real kubelet at its InternalIP.
    // The apiserver presents the admin certificate and does not verify theirs.
    '--kubelet-preferred-address-types=InternalDNS,InternalIP',
    `--kubelet-client-certificate=${pki.adminCert}`,
    `--kubelet-client-key=${pki.adminKey}`,
    // Benchmarks drive thousands of requests; do not let flow control shape them.
    '--max-requests-inflight=0',
    '--max-mutating-requests-inflight=0',
    '--enable-priority-and-fairness=false',
    `--audit-policy-file=${auditPolicyPath(state)}`,
    `--audit-log-path=${auditLogPath(state)}`,
    // Written as each request completes, so a test reads it at once; kept small.
    '--audit-log-mode=blocking',
    '--audit-log-maxsize=50',
    '--audit-log-maxbackup=1',
    `--cert-dir=${join(state, 'pki', 'apiserver')}`,
  ];
}

function controllerManagerArgs(pki: Pki, kubeconfig: string, p: Ports): string[] {
  return [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${p.controllerManager}`,
    `--root-ca-file=${pki.caCert}`,
    `--service-account-private-key-file=${pki.saKey}`,
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    '--leader-elect=false',
    '--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics',
    '--kube-api-qps=5000',
    '--kube-api-burst=10000',
    '--concurrent-deployment-syncs=10',
    '--concurrent-replicaset-syncs=10',
    '--concurrent-namespace-syncs=10',
  ];
}

function schedulerArgs(kubeconfig: string, p: Ports): string[] {
  return [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${p.scheduler}`,
    '--leader-elect=false',
    '--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics',
    '--kube-api-qps=5000',
    '--kube-api-burst=10000',
  ];
}

function kwokArgs(pki: Pki, kubeconfig: string, kwokConfig: string, p: Ports): string[] {
  return [
    `--kubeconfig=${kubeconfig}`,
    `--config=${kwokConfig}`,
    // The fake nodes only: the real node has a kubelet of its own.
    '--manage-all-nodes=false',
    '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
    // The apiserver reaches every node's "kubelet" (kwok's server) at this name and port.
    '--node-name=localhost',
    `--node-port=${p.kwok}`,
    `--server-address=127.0.0.1:${p.kwok}`,
    `--tls-cert-file=${pki.adminCert}`,
    `--tls-private-key-file=${pki.adminKey}`,
    '--enable-crds=Logs',
  ];
}
