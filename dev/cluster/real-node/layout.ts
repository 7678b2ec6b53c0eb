/**
 * Where one cluster's real node lives on this machine: its network (a bridge of its
 * own with the node's address on it), its cgroup root, and its directories.
 *
 * Several local clusters may each run a real node on the same machine, so everything
 * machine-wide is numbered by a *slot* the node claims when it first starts (the
 * lowest slot whose bridge does not exist yet) and keeps in its state directory:
 * bridge `vkube<slot>`, subnet 10.88.<slot>.0/24 with the node at .1, cgroup root
 * `/vkube<slot>`, runtime directory /run/vkube/<slot>.
 *
 * Two directories: `<state>/node` holds what is large or worth reading after a failure
 * (images, container layers, kubelet and pod logs, volumes); /run/vkube/<slot> holds
 * sockets and runtime state, whose paths must stay under Linux's 108-byte socket limit
 * however deep the checkout is.
 */
import { join } from 'node:path';

export const NODE_SUBNET_PREFIX = '10.88';
export const KUBELET_PORT = 10250;
/** Slots 0-199: 10.88.<slot>.0/24 stays clear of kwok's pod and node ranges. */
export const MAX_SLOT = 199;

export interface RealNodeLayout {
  /** Node name, `<region>-1`. */
  name: string;
  region: string;
  slot: number;
  /** The node's InternalIP, on its bridge: pods get hostIP = this; host ports bind here. */
  ip: string;
  /** Pod addresses come from here (the node's own address is its gateway). */
  subnet: string;
  bridge: string;
  /** Every pod's cgroup lives under this, in each cgroup v1 hierarchy. */
  cgroupRoot: string;
  /** `<state>/node`. */
  dir: string;
  /** `/run/vkube/<slot>`. */
  runDir: string;
  containerdSocket: string;
  containerdRoot: string;
  containerdState: string;
  containerdConfig: string;
  runcRoot: string;
  shimSocketDir: string;
  cniConfDir: string;
  cniDataDir: string;
  registryHostsDir: string;
  kubeletRoot: string;
  kubeletConfig: string;
  kubeletKubeconfig: string;
  podLogsDir: string;
  /** Where the local-path provisioner makes volumes. */
  volumesDir: string;
}

export function realNodeLayout(state: string, node: { name: string; region: string }, slot: number): RealNodeLayout {
  const dir = join(state, 'node');
  const runDir = join('/run/vkube', String(slot));
  return {
    ...node,
    slot,
    ip: `${NODE_SUBNET_PREFIX}.${slot}.1`,
    subnet: `${NODE_SUBNET_PREFIX}.${slot}.0/24`,
    bridge: `vkube${slot}`,
    cgroupRoot: `/vkube${slot}`,
    dir,
    runDir,
    containerdSocket: join(runDir, 'containerd.sock'),
    containerdRoot: join(dir, 'containerd'),
    containerdState: join(runDir, 'containerd'),
    containerdConfig: join(dir, 'containerd.toml'),
    runcRoot: join(runDir, 'runc'),
    shimSocketDir: join(runDir, 's'),
    cniConfDir: join(dir, 'cni', 'net.d'),
    cniDataDir: join(dir, 'cni', 'ipam'),
    registryHostsDir: join(dir, 'registry-hosts'),
    kubeletRoot: join(dir, 'kubelet'),
    kubeletConfig: join(dir, 'kubelet-config.yaml'),
    kubeletKubeconfig: join(dir, 'kubelet.kubeconfig'),
    podLogsDir: join(dir, 'pod-logs'),
    volumesDir: join(dir, 'volumes'),
  };
}

/** The file in which a node keeps its slot between starts. */
export function slotFile(state: string): string {
  return join(state, 'node', 'slot');
}
