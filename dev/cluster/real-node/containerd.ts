/**
 * containerd for the real node: its configuration (everything under the node's own
 * directories, nothing in /etc, /var/lib or /opt), and where it pulls images from.
 *
 * The node has no internet. Images come from registries on loopback over plain HTTP
 * (containerd's rule for localhost with a port), and docker.io is served by the local
 * cluster's registry: `nginx` resolves to 127.0.0.1:5000/library/nginx, and nothing
 * ever goes to registry-1.docker.io. V-Kube's image checks use the same mapping
 * (VKUBE_REGISTRY_MIRRORS=docker.io=http://127.0.0.1:5000), so a deploy is checked
 * where the node will pull it.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RealNodeLayout } from './layout.js';

export interface ContainerdInput {
  node: RealNodeLayout;
  runc: string;
  cniBinDir: string;
  /** Image of every pod's sandbox (our pause), in the local registry. */
  sandboxImage: string;
  /** `127.0.0.1:<port>` of the local registry. */
  registry: string;
}

const q = (s: string) => `'${s.replace(/'/g, "\\'")}'`;

export async function writeContainerdConfig(input: ContainerdInput): Promise<void> {
  const { node } = input;
  const toml = `# Written by dev/cluster/real-node/containerd.ts for node ${node.name}.
version = 4
root = ${q(node.containerdRoot)}
state = ${q(node.containerdState)}
imports = []
# Plugins that would look for hardware, kernels features or host directories we do not use.
disabled_plugins = [
  'io.containerd.snapshotter.v1.erofs',
  'io.containerd.differ.v1.erofs',
  'io.containerd.snapshotter.v1.blockfile',
  'io.containerd.nri.v1.nri',
  'io.containerd.tracing.processor.v1.otlp',
  'io.containerd.internal.v1.tracing',
]

[plugins]
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = 'overlayfs'
    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = ${q(input.sandboxImage)}
    [plugins.'io.containerd.cri.v1.images'.registry]
      config_path = ${q(node.registryHostsDir)}

  [plugins.'io.containerd.cri.v1.runtime']
    cdi_spec_dirs = []
    # This machine kind gives root no CAP_SYS_RESOURCE, so no process may lower its OOM
    # score below ours; the kubelet asks -998 for sandboxes. Clamp instead of failing.
    restrict_oom_score_adj = true
    # Network namespaces under our runtime directory, not /var/run/netns.
    netns_mounts_under_state_dir = true
    [plugins.'io.containerd.cri.v1.runtime'.containerd]
      default_runtime_name = 'runc'
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
        runtime_type = 'io.containerd.runc.v2'
        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
          BinaryName = ${q(input.runc)}
          Root = ${q(node.runcRoot)}
          SystemdCgroup = false
    [plugins.'io.containerd.cri.v1.runtime'.cni]
      bin_dirs = [${q(input.cniBinDir)}]
      conf_dir = ${q(node.cniConfDir)}

  [plugins.'io.containerd.grpc.v1.cri']
    # exec, attach and port-forward streams: on loopback, a port the kernel picks.
    stream_server_address = '127.0.0.1'
    stream_server_port = '0'

  [plugins.'io.containerd.internal.v1.opt']
    path = ${q(join(node.dir, 'containerd-opt'))}

  [plugins.'io.containerd.image-verifier.v1.bindir']
    bin_dir = ${q(join(node.dir, 'image-verifiers'))}

  [plugins.'io.containerd.server.v1.grpc']
    address = ${q(node.containerdSocket)}

  [plugins.'io.containerd.server.v1.ttrpc']
    address = ${q(`${node.containerdSocket}.ttrpc`)}

  [plugins.'io.containerd.shim.v1.manager']
    socket_dir = ${q(node.shimSocketDir)}

  [plugins.'io.containerd.transfer.v1.local']
    config_path = ${q(node.registryHostsDir)}
`;
  await mkdir(node.dir, { recursive: true });
  await writeFile(node.containerdConfig, toml);
  await writeRegistryHosts(node, input.registry);
}

/**
 * hosts.toml per registry: docker.io is the local registry alone (server = mirror, so a
 * missing image fails at once instead of reaching for the internet).
 */
async function writeRegistryHosts(node: RealNodeLayout, registry: string): Promise<void> {
  const dir = join(node.registryHostsDir, 'docker.io');
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, 'hosts.toml'),
    `# docker.io images come from the local cluster's registry, never from the internet.
server = "http://${registry}"

[host."http://${registry}"]
  capabilities = ["pull", "resolve"]
`,
  );
}
