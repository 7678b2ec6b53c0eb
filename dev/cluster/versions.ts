/**
 * What the local control plane is built from, and where the built binaries live.
 *
 * Binaries are cached outside the repository, one directory per component and
 * version, so every checkout and CI run on the same machine reuses them and a version
 * bump builds only what changed.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

export const versions = {
  kubernetes: 'v1.36.3',
  etcd: 'v3.6.16',
  kwok: 'v0.8.0',
  metricsServer: 'v0.8.0',
} as const;

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
  ];
}

/** Absolute path of one built binary. */
export function binaryPath(binary: string): string {
  for (const c of components()) if (c.binaries.includes(binary)) return join(c.dir, binary);
  throw new Error(`unknown binary ${binary}`);
}
