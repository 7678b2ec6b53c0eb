/**
 * The real node's kubelet: its configuration file and flags.
 *
 * Facts of this machine kind that shape it: cgroups are v1 (kubelet ≥ 1.35 refuses
 * them unless `failCgroupV1: false`), there is no systemd (cgroupfs driver), and the
 * node shares the machine with other nodes and the developer's work — so every port
 * binds to the node's own address, every directory is the node's own, and pods live
 * under the node's cgroup root.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { KUBELET_PORT, type RealNodeLayout } from './layout.js';

export interface KubeletInput {
  node: RealNodeLayout;
  regionLabel: string;
  caCert: string;
  nodeCert: { cert: string; key: string };
  /** Labels the node registers with (its region, and what marks it as the local cluster's). */
  labels: Record<string, string>;
}

export async function writeKubeletConfig(input: KubeletInput): Promise<void> {
  const { node } = input;
  const resolvConf = join(node.dir, 'resolv.conf');
  // Pods get no name server: there is none to give them on this machine.
  await writeFile(resolvConf, '# no DNS on the local real node\n');
  const config = {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    address: node.ip,
    port: KUBELET_PORT,
    readOnlyPort: 0,
    healthzBindAddress: node.ip,
    healthzPort: 10248,
    tlsCertFile: input.nodeCert.cert,
    tlsPrivateKeyFile: input.nodeCert.key,
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: true },
      x509: { clientCAFile: input.caCert },
    },
    authorization: { mode: 'Webhook' },
    containerRuntimeEndpoint: `unix://${node.containerdSocket}`,
    cgroupDriver: 'cgroupfs',
    cgroupRoot: node.cgroupRoot,
    failCgroupV1: false,
    failSwapOn: false,
    podLogsDir: node.podLogsDir,
    resolvConf,
    // No cluster DNS runs here. Pods ask the node's own address, where nothing answers on
    // port 53: a lookup fails at once and never leaves the machine.
    clusterDNS: [node.ip],
    clusterDomain: 'cluster.local',
    maxPods: 110,
    // Fewer processes than a fork bomb needs; plenty for any real application.
    podPidsLimit: 4096,
    serializeImagePulls: false,
    registerNode: true,
    // The machine is shared with the build caches and the tests: evict only when truly out.
    evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '2%', 'nodefs.inodesFree': '2%', 'imagefs.available': '2%' },
    imageGCHighThresholdPercent: 98,
    imageGCLowThresholdPercent: 95,
    // Quick to notice a changed pod or a dead container: tests and customers wait on it.
    syncFrequency: '10s',
    nodeStatusUpdateFrequency: '5s',
    fileCheckFrequency: '20s',
    staticPodPath: '',
    // The kubelet sets a few kernel tunables it wants (sysctls.ts saves and restores them).
    protectKernelDefaults: false,
  };
  await mkdir(node.dir, { recursive: true });
  await writeFile(node.kubeletConfig, stringify(config));
}

export function kubeletArgs(input: KubeletInput): string[] {
  const { node } = input;
  return [
    `--config=${node.kubeletConfig}`,
    `--kubeconfig=${node.kubeletKubeconfig}`,
    `--root-dir=${node.kubeletRoot}`,
    `--cert-dir=${join(node.kubeletRoot, 'pki')}`,
    `--hostname-override=${node.name}`,
    `--node-ip=${node.ip}`,
    `--node-labels=${Object.entries(input.labels).map(([k, v]) => `${k}=${v}`).join(',')}`,
    // The kubelet's cAdvisor finds containerd only at /run/containerd/containerd.sock;
    // without it cAdvisor sees bare cgroups, and no pod has network figures in the
    // Summary API (/stats/summary) or in /metrics/cadvisor. (Deprecated flag, still read.)
    `--containerd=${node.containerdSocket}`,
    '--v=1',
  ];
}
