/**
 * Where the local control plane keeps its state, which ports it listens on, and which
 * regions and fake nodes it has.
 *
 * Ports default to a block starting at 36443, away from common services. A second
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
};

export function ports(env: NodeJS.ProcessEnv = process.env): Ports {
  const base = intFrom(env, 'VKUBE_CLUSTER_PORT_BASE', 36443);
  const offsets: Record<keyof Ports, number> = {
    apiserver: 0,
    etcdClient: 1,
    etcdPeer: 2,
    controllerManager: 3,
    scheduler: 4,
    kwok: 5,
    metricsServer: 6,
  };
  const out = {} as Ports;
  for (const key of Object.keys(offsets) as Array<keyof Ports>) {
    out[key] = intFrom(env, portEnv[key], base + offsets[key]);
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
  nodes: number;
  node?: Partial<NodeResources>;
}

export interface ClusterConfig {
  regionLabel: string;
  node: NodeResources;
  regions: RegionConfig[];
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
    if (!Number.isInteger(r.nodes) || r.nodes < 1 || r.nodes > 1000) throw bad(`region ${r.name}: "nodes" must be an integer from 1 to 1000`);
  }
  return {
    regionLabel: typeof c.regionLabel === 'string' && c.regionLabel ? c.regionLabel : 'region',
    node: { cpu: '8', memory: '32Gi', pods: '110', ...c.node },
    regions: c.regions,
  };
}

/** The fake nodes a config describes: `<region>-<n>`, each with its own address. */
export function fakeNodes(config: ClusterConfig): FakeNode[] {
  const nodes: FakeNode[] = [];
  for (const region of config.regions) {
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
