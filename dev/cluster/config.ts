/**
 * Where the local control plane keeps its state, which ports it listens on, and which
 * regions and fake nodes it has.
 *
 * Ports default to a block starting at 26443, away from common services and below Linux's
 * ephemeral range (32768–60999), where any client socket's source port may already hold
 * one of them (kube-apiserver's connection to etcd once took kwok's 36448). A second
 * checkout on the same machine sets VKUBE_CLUSTER_PORT_BASE (or a port variable each)
 * to run its own cluster beside this one.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClusterError } from './util.js';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Everything the running cluster owns; removed by `cluster:down` unless kept. */
export function stateDir(): string {
  return process.env.VKUBE_CLUSTER_DIR ? resolve(process.env.VKUBE_CLUSTER_DIR) : join(repoRoot, '.vkube', 'cluster');
}

/** Where the API server's audit log of V-Kube's writes is (JSON lines; see AUDIT_POLICY in up.ts). */
export function auditLogPath(state = stateDir()): string {
  return join(state, 'logs', 'kube-apiserver-audit.log');
}

export function kubeconfigPath(): string {
  return join(stateDir(), 'kubeconfig');
}

export interface Ports {
  apiserver: number;
  etcdClient: number;
  etcdPeer: number;
  controllerManager: number;
  scheduler: number;
  kwok: number;
  metricsServer: number;
  /** The local image registry the real node pulls from (plain HTTP on loopback). */
  registry: number;
}

/** The environment variable that sets each port, for messages that tell how to move it. */
export const portEnv: Record<keyof Ports, string> = {
  apiserver: 'VKUBE_APISERVER_PORT',
  etcdClient: 'VKUBE_ETCD_PORT',
  etcdPeer: 'VKUBE_ETCD_PEER_PORT',
  controllerManager: 'VKUBE_CONTROLLER_MANAGER_PORT',
  scheduler: 'VKUBE_SCHEDULER_PORT',
  kwok: 'VKUBE_KWOK_PORT',
  metricsServer: 'VKUBE_METRICS_SERVER_PORT',
  registry: 'VKUBE_LOCAL_REGISTRY_PORT',
};

export const DEFAULT_PORT_BASE = 26443;
/** The local registry's documented address for the default port block: 127.0.0.1:5000. */
export const DEFAULT_REGISTRY_PORT = 5000;

export function ports(env: NodeJS.ProcessEnv = process.env): Ports {
  const base = intFrom(env, 'VKUBE_CLUSTER_PORT_BASE', DEFAULT_PORT_BASE);
  const offsets: Record<keyof Ports, number> = {
    apiserver: 0,
    etcdClient: 1,
    etcdPeer: 2,
    controllerManager: 3,
    scheduler: 4,
    kwok: 5,
    metricsServer: 6,
    registry: 9,
  };
  const out = {} as Ports;
  for (const key of Object.keys(offsets) as Array<keyof Ports>) {
    // The registry sits at the well-known 127.0.0.1:5000 unless the whole block moved.
    const fallback = key === 'registry' && base === DEFAULT_PORT_BASE ? DEFAULT_REGISTRY_PORT : base + offsets[key];
    out[key] = intFrom(env, portEnv[key], fallback);
  }
  return out;
}

function intFrom(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1024 || n > 65535) {
    throw new ClusterError(`${name}=${raw} is not a port number between 1024 and 65535`, `set ${name} to a free port, or unset it`);
  }
  return n;
}

export interface NodeResources {
  cpu: string;
  memory: string;
  pods: string;
}

export interface RegionConfig {
  name: string;
  /** Fake (kwok) nodes of the region; a real region has exactly one node, this machine. */
  nodes: number;
  node?: Partial<NodeResources>;
  /** One real node on this machine (kubelet, containerd, runc) instead of kwok nodes. */
  real?: boolean;
}

export interface ClusterConfig {
  regionLabel: string;
  node: NodeResources;
  regions: RegionConfig[];
  /**
   * How often metrics-server scrapes every node (default 10 s, so that tests see a new
   * pod's usage soon). kwok serves all the fake nodes' scrapes from this machine, at a
   * cost that grows with their pods; on a real cluster each node's kubelet serves its own.
   */
  metricResolutionSeconds: number;
}

export interface FakeNode {
  name: string;
  region: string;
  /** InternalIP reported by the node; pods on it get this as hostIP. */
  ip: string;
  resources: NodeResources;
}

export function clusterConfigPath(): string {
  return process.env.VKUBE_CLUSTER_CONFIG ? resolve(process.env.VKUBE_CLUSTER_CONFIG) : join(repoRoot, 'dev', 'cluster', 'cluster.json');
}

export function loadClusterConfig(path = clusterConfigPath()): ClusterConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ClusterError(`cannot read the cluster config ${path}: ${(err as Error).message}`, 'fix the file or unset VKUBE_CLUSTER_CONFIG');
  }
  const bad = (what: string) => new ClusterError(`cluster config ${path}: ${what}`, 'see dev/cluster/cluster.json for the expected shape');
  const c = raw as Partial<ClusterConfig>;
  if (!Array.isArray(c.regions) || c.regions.length === 0) throw bad('"regions" must be a non-empty array');
  const seen = new Set<string>();
  for (const r of c.regions) {
    if (typeof r?.name !== 'string' || !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(r.name)) throw bad(`region name ${JSON.stringify(r?.name)} is not a DNS label`);
    if (seen.has(r.name)) throw bad(`region ${r.name} is listed twice`);
    seen.add(r.name);
    if (r.real !== undefined && typeof r.real !== 'boolean') throw bad(`region ${r.name}: "real" must be true or false`);
    if (r.real) {
      if (r.nodes !== undefined && r.nodes !== 1) throw bad(`region ${r.name}: a real region has one node (this machine); leave "nodes" out`);
      r.nodes = 1;
      continue;
    }
    if (!Number.isInteger(r.nodes) || r.nodes < 1 || r.nodes > 1000) throw bad(`region ${r.name}: "nodes" must be an integer from 1 to 1000`);
  }
  if (c.regions.filter((r) => r.real).length > 1) throw bad('at most one region can be real (this machine runs one kubelet per cluster)');
  const resolution = c.metricResolutionSeconds ?? 10;
  // metrics-server's own bounds: at least 10 s; past a few minutes its figures would be stale.
  if (!Number.isInteger(resolution) || resolution < 10 || resolution > 300) throw bad('"metricResolutionSeconds" must be an integer from 10 to 300');
  return {
    regionLabel: typeof c.regionLabel === 'string' && c.regionLabel ? c.regionLabel : 'region',
    node: { cpu: '8', memory: '32Gi', pods: '110', ...c.node },
    regions: c.regions,
    metricResolutionSeconds: resolution,
  };
}

/** The fake nodes a config describes: `<region>-<n>`, each with its own address. */
export function fakeNodes(config: ClusterConfig): FakeNode[] {
  const nodes: FakeNode[] = [];
  for (const region of config.regions) {
    if (region.real) continue;
    for (let i = 1; i <= region.nodes; i++) {
      const index = nodes.length + 1;
      nodes.push({
        name: `${region.name}-${i}`,
        region: region.name,
        ip: `10.200.${Math.floor(index / 250)}.${(index % 250) + 1}`,
        resources: { ...config.node, ...region.node },
      });
    }
  }
  return nodes;
}

/**
 * The real node a cluster of this config runs: the region marked `real`, node
 * `<region>-1` — when this process may run it (kubelet and containerd need root).
 * Without root the cluster comes up without it (`up` says so) and the real-node tests skip.
 */
export function realNodeRegion(config: ClusterConfig): { region: string; name: string } | undefined {
  const region = config.regions.find((r) => r.real);
  return region && process.getuid?.() === 0 ? { region: region.name, name: `${region.name}-1` } : undefined;
}

/**
 * The real node's processes, in start order (the registry first: containerd pulls from
 * it; kube-router once the kubelet has registered the node it guards).
 */
export const REAL_NODE_PROCESSES = ['registry', 'containerd', 'kubelet', 'kube-router', 'local-path-provisioner'] as const;

/** Start order of every process a cluster may have; `cluster:down` stops in reverse. */
export const PROCESS_ORDER = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', ...REAL_NODE_PROCESSES, 'kwok', 'metrics-server'] as const;

/**
 * The processes a cluster of this config runs: the real node's only with a real region,
 * kube-router only when that node is the one enforcing network policies on the machine.
 */
export function expectedProcesses(config: ClusterConfig, enforcesNetworkPolicies: boolean): string[] {
  const real = realNodeRegion(config) !== undefined;
  return PROCESS_ORDER.filter((name) => (real || !(REAL_NODE_PROCESSES as readonly string[]).includes(name)) && (enforcesNetworkPolicies || name !== 'kube-router'));
}
