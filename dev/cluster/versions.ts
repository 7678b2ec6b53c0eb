/**
 * What the local control plane is built from, and where the built binaries live.
 *
 * Binaries are cached outside the repository, one directory per component and
 * version, so every checkout and CI run on the same machine reuses them and a version
 * bump builds only what changed.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const versions = {
  kubernetes: 'v1.36.3',
  etcd: 'v3.6.16',
  kwok: 'v0.8.0',
  metricsServer: 'v0.8.0',
  // The real node (region laima): kubelet is built from the kubernetes version above.
  containerd: 'v2.4.2',
  runc: 'v1.5.3',
  cniPlugins: 'v1.10.0',
  criTools: 'v1.37.0',
  localPathProvisioner: 'v0.0.30',
  // Only its network-policy controller runs, beside the real node. Security flaws are
  // reported for this version: it is fit for this local test cluster, not for a real one.
  kubeRouter: 'v2.1.0',
} as const;

/** Our own pause program (the pod sandbox's process), compiled with gcc. */
export const PAUSE_SOURCE = join(dirname(fileURLToPath(import.meta.url)), 'real-node', 'pause.c');

/** The pause binary is versioned by its source: an edit rebuilds it. */
function pauseVersion(): string {
  return `src-${createHash('sha256').update(readFileSync(PAUSE_SOURCE)).digest('hex').slice(0, 12)}`;
}

/** CNI plugins the real node's network uses. */
export const CNI_PLUGINS = ['bridge', 'host-local', 'portmap', 'loopback'] as const;

/** Root of everything V-Kube caches on this machine (VKUBE_CACHE_DIR overrides). */
export function cacheRoot(): string {
  if (process.env.VKUBE_CACHE_DIR) return process.env.VKUBE_CACHE_DIR;
  const xdg = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(xdg, 'vkube');
}

/** Go's module and build caches, kept apart from the user's so a clean is safe. */
export function goCacheDirs(): { mod: string; build: string } {
  return { mod: join(cacheRoot(), 'go', 'mod'), build: join(cacheRoot(), 'go', 'build') };
}

export interface Component {
  /** Short name shown in progress output. */
  name: string;
  version: string;
  /** Directory that holds this component's binaries once built. */
  dir: string;
  /** Executables the directory must contain. */
  binaries: string[];
  /** Other files taken from the component's module (kwok's CRDs). */
  files?: string[];
  /** Only the real node needs it. */
  realNode?: boolean;
}

/** kwok's CRDs the local cluster installs: per-pod logs and resource usage. */
export const kwokCrds = ['logs', 'clusterlogs', 'metrics', 'resourceusages', 'clusterresourceusages'].map(
  (k) => `crds/kwok.x-k8s.io_${k}.yaml`,
);

export function components(): Component[] {
  const bin = (name: string, version: string) => join(cacheRoot(), 'cluster', `${name}-${version}`);
  return [
    { name: 'etcd', version: versions.etcd, dir: bin('etcd', versions.etcd), binaries: ['etcd'] },
    {
      name: 'kubernetes',
      version: versions.kubernetes,
      dir: bin('kubernetes', versions.kubernetes),
      binaries: ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'],
    },
    { name: 'kwok', version: versions.kwok, dir: bin('kwok', versions.kwok), binaries: ['kwok'], files: kwokCrds },
    {
      name: 'metrics-server',
      version: versions.metricsServer,
      dir: bin('metrics-server', versions.metricsServer),
      binaries: ['metrics-server'],
    },
    { name: 'kubelet', version: versions.kubernetes, dir: bin('kubelet', versions.kubernetes), binaries: ['kubelet'], realNode: true },
    {
      name: 'containerd',
      version: versions.containerd,
      dir: bin('containerd', versions.containerd),
      binaries: ['containerd', 'containerd-shim-runc-v2', 'ctr'],
      realNode: true,
    },
    { name: 'runc', version: versions.runc, dir: bin('runc', versions.runc), binaries: ['runc'], realNode: true },
    { name: 'cni-plugins', version: versions.cniPlugins, dir: bin('cni-plugins', versions.cniPlugins), binaries: [...CNI_PLUGINS], realNode: true },
    { name: 'cri-tools', version: versions.criTools, dir: bin('cri-tools', versions.criTools), binaries: ['crictl'], realNode: true },
    {
      name: 'local-path-provisioner',
      version: versions.localPathProvisioner,
      dir: bin('local-path-provisioner', versions.localPathProvisioner),
      binaries: ['local-path-provisioner'],
      realNode: true,
    },
    { name: 'kube-router', version: versions.kubeRouter, dir: bin('kube-router', versions.kubeRouter), binaries: ['kube-router'], realNode: true },
    { name: 'pause', version: pauseVersion(), dir: bin('pause', pauseVersion()), binaries: ['pause'], realNode: true },
  ];
}

/** Directory of one component's binaries (e.g. the CNI plugins' bin dir). */
export function componentDir(name: string): string {
  const c = components().find((c) => c.name === name);
  if (!c) throw new Error(`unknown component ${name}`);
  return c.dir;
}

/** Absolute path of one built binary. */
export function binaryPath(binary: string): string {
  for (const c of components()) if (c.binaries.includes(binary)) return join(c.dir, binary);
  throw new Error(`unknown binary ${binary}`);
}
