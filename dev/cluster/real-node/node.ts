/**
 * The real node: this machine joins the local cluster as node `<region>-1` (region
 * `laima` by default) with a real kubelet, containerd and runc, so customer containers
 * really run, listen on their host ports, keep their volumes, are held to their memory
 * and to their NetworkPolicy (network-policy.ts). `startRealNode` brings it up after the
 * control plane; `stopRealNode` takes it down leaving nothing behind: no container,
 * mount, interface, iptables rule, ipset, cgroup or kernel setting of its own.
 */
import * as k8s from '@kubernetes/client-node';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LOCAL_NODE_LABEL, until } from '../kube.js';
import { certificateKubeconfig, ensureNodeCert, type Pki } from '../pki.js';
import { isAlive, type ProcessRecord, startProcess, stopProcess } from '../processes.js';
import { ClusterError } from '../util.js';
import { binaryPath, componentDir, components } from '../versions.js';
import { ensureCgroupRoot, removeCgroupRoot, usesCgroupV1 } from './cgroups.js';
import { writeContainerdConfig } from './containerd.js';
import { attempt, HOST_PATH, isRoot, run } from './host.js';
import { pushNodeImages } from './images.js';
import { kubeletArgs, writeKubeletConfig } from './kubelet.js';
import { type RealNodeLayout, realNodeLayout, slotFile } from './layout.js';
import { claimSlot, ensureBridge, removeNetwork, type SlotClaim, writeCniConfig } from './network.js';
import { startNetworkPolicy, stopNetworkPolicy } from './network-policy.js';
import { prepareStorage } from './storage.js';
import { restoreSysctls, saveSysctls } from './sysctls.js';

/** Label that tells the real node from kwok's fake ones. */
export const REAL_NODE_LABEL = 'vkube.dev/real-node';

export interface RealNodeStart {
  state: string;
  node: { name: string; region: string };
  regionLabel: string;
  pki: Pki;
  /** The admin kubeconfig (for the provisioner, kube-router and the checks here). */
  kubeconfig: string;
  apiserverUrl: string;
  registryHost: string;
  /** The Services' address range (kube-router lets pods reach it). */
  serviceCidr: string;
  log: (line: string) => void;
  step: (name: string, what: () => Promise<void>) => Promise<void>;
  waitFor: (proc: ProcessRecord, check: () => Promise<boolean>, timeoutMs: number, what: string) => Promise<void>;
}

/** Refuses early, with what to do, when this machine cannot run a real node. */
export function checkRealNodeHost(): void {
  if (!isRoot()) {
    throw new ClusterError(
      'the real node (a kubelet with containerd and runc on this machine) needs root',
      'run as root, or use a cluster config without a "real" region (VKUBE_CLUSTER_CONFIG; see dev/cluster/cluster.json)',
    );
  }
  for (const tool of ['ip', 'iptables', 'iptables-save', 'mount', 'umount']) {
    if (!HOST_PATH.split(':').some((d) => existsSync(join(d, tool)))) {
      throw new ClusterError(`${tool} is not installed (the real node needs it)`, 'run scripts/install-system-deps.sh');
    }
  }
}

export async function startRealNode(s: RealNodeStart): Promise<RealNodeLayout> {
  checkRealNodeHost();
  const pauseComponent = components().find((c) => c.name === 'pause')!;
  let images = { pause: '', busybox: '' };
  await s.step(`images pushed to the local registry ${s.registryHost}`, async () => {
    images = await pushNodeImages(s.registryHost, binaryPath('pause'), pauseComponent.version);
  });

  const slot = await claimSlot(s.state, s.node);
  const node = realNodeLayout(s.state, s.node, slot);
  await s.step(`node ${node.name}: bridge ${node.bridge} ${node.ip}, cgroup ${node.cgroupRoot}`, async () => {
    await mkdir(node.dir, { recursive: true });
    await mkdir(node.runDir, { recursive: true });
    await saveSysctls(node.dir);
    await ensureBridge(node);
    await writeCniConfig(node);
    await ensureCgroupRoot(node.cgroupRoot);
  });

  await writeContainerdConfig({
    node,
    runc: binaryPath('runc'),
    cniBinDir: componentDir('cni-plugins'),
    sandboxImage: images.pause,
    registry: s.registryHost,
  });
  const env = { PATH: `${componentDir('containerd')}:${componentDir('runc')}:${HOST_PATH}` };
  const containerd = await startProcess(s.state, 'containerd', binaryPath('containerd'), [`--config=${node.containerdConfig}`], env);
  await s.step('containerd serving', () => s.waitFor(containerd, async () => (await crictl(node, ['info'])).includes('"RuntimeReady"'), 30_000, 'containerd to answer on its CRI socket'));

  const nodeCert = await ensureNodeCert(s.pki, node.name, node.ip);
  await writeFile(node.kubeletKubeconfig, certificateKubeconfig(s.pki, s.apiserverUrl, { user: `system:node:${node.name}`, ...nodeCert }), { mode: 0o600 });
  const kubeletInput = {
    node,
    regionLabel: s.regionLabel,
    caCert: s.pki.caCert,
    nodeCert,
    labels: { [s.regionLabel]: node.region, [LOCAL_NODE_LABEL]: 'true', [REAL_NODE_LABEL]: 'true' },
  };
  if (!usesCgroupV1() && !existsSync('/sys/fs/cgroup/cgroup.controllers')) {
    throw new ClusterError('no cgroup hierarchy found under /sys/fs/cgroup', 'the real node needs cgroups (v1 or v2) mounted');
  }
  await writeKubeletConfig(kubeletInput);
  const kubelet = await startProcess(s.state, 'kubelet', binaryPath('kubelet'), kubeletArgs(kubeletInput), env);
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(s.kubeconfig);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  await s.step(`node ${node.name} Ready`, () =>
    s.waitFor(kubelet, async () => {
      const n = await core.readNode({ name: node.name });
      return n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
    }, 90_000, `the real node ${node.name} to become Ready`),
  );

  await startNetworkPolicy({ ...s, node });
  const provisionerArgs = await prepareStorage(kc, node, s.regionLabel, s.kubeconfig, images.busybox);
  await startProcess(s.state, 'local-path-provisioner', binaryPath('local-path-provisioner'), provisionerArgs);
  return node;
}

/** The real node of a state directory, if it ever claimed a slot (even if its start failed half-way). */
export async function realNodeOf(state: string): Promise<RealNodeLayout | undefined> {
  if (!existsSync(slotFile(state))) return undefined;
  const claim = JSON.parse(await readFile(slotFile(state), 'utf8')) as SlotClaim;
  return realNodeLayout(state, { name: claim.name, region: claim.region }, claim.slot);
}

export async function crictl(node: RealNodeLayout, args: string[]): Promise<string> {
  return run(binaryPath('crictl'), [`--runtime-endpoint=unix://${node.containerdSocket}`, `--image-endpoint=unix://${node.containerdSocket}`, '--timeout=20s', ...args]);
}

/**
 * Stops kube-router (removing its chains and ipsets when this node enforced), the
 * kubelet, removes every pod sandbox through containerd (which runs CNI's teardown:
 * addresses, veths, host-port rules), stops containerd, then removes what could still
 * be left: processes in the node's cgroups, mounts, the bridge, iptables rules,
 * cgroups, kernel settings and the runtime directory. Returns what could not be
 * cleaned (empty when the machine is as before).
 */
export async function stopRealNode(state: string, node: RealNodeLayout, records: ProcessRecord[]): Promise<string[]> {
  const problems: string[] = [];
  const record = (name: string) => records.find((r) => r.name === name);
  await stopNetworkPolicy(state, records, problems);
  const kubelet = record('kubelet');
  if (kubelet) await stopProcess(state, kubelet);
  const containerd = record('containerd');
  if (containerd && isAlive(containerd)) {
    try {
      await crictl(node, ['rmp', '--force', '--all']);
    } catch (err) {
      problems.push(`removing the pod sandboxes: ${(err as Error).message}`);
    }
    await stopProcess(state, containerd);
  }
  killShims(node);
  await killCgroupProcesses(node.cgroupRoot);
  await unmountUnder([node.dir, node.runDir], problems);
  await removeNetwork(node, problems);
  await removeCgroupRoot(node.cgroupRoot, problems);
  await restoreSysctls(node.dir, problems);
  await rm(node.runDir, { recursive: true, force: true }).catch((err: Error) => problems.push(`removing ${node.runDir}: ${err.message}`));
  return problems;
}

/** containerd's shims outlive it; ours are the ones started with our socket. */
function killShims(node: RealNodeLayout): void {
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (argv[0]?.endsWith('containerd-shim-runc-v2') && argv.includes(node.containerdSocket)) process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

/** SIGKILL every process still in the node's cgroups (containers whose shim died first). */
async function killCgroupProcesses(root: string): Promise<void> {
  const procs = join('/sys/fs/cgroup', 'pids', root);
  if (!existsSync(procs)) return;
  const walk = (dir: string): number[] => {
    const pids = readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) pids.push(...walk(join(dir, e.name)));
    return pids;
  };
  for (const pid of walk(procs)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

/** Unmounts everything mounted under the given directories, deepest first. */
async function unmountUnder(dirs: string[], problems: string[]): Promise<void> {
  const mounts = (await readFile('/proc/self/mountinfo', 'utf8'))
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => !!p)
    .map((p) => p.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => dirs.some((d) => p === d || p.startsWith(`${d}/`)))
    .sort((a, b) => b.length - a.length);
  for (const mount of mounts) {
    if ((await attempt('umount', [mount], [])) === undefined) await attempt('umount', ['-l', mount], problems);
  }
}
