/**
 * What test suites use of the local control plane: start it once for a whole run (or
 * reuse a healthy one), hand its kubeconfig to the tests, and give a pod its own log.
 */
import * as k8s from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage, type ImageRunConfig, pushBuiltImage, type TarEntry } from '../registry/oci-image.js';
import { kubeconfigPath, type Ports, repoRoot, stateDir } from './config.js';
export { auditLogPath } from './config.js';
import { registryHost } from './local-registry.js';
import { BUSYBOX_PATH_ENV, busyboxFiles } from './real-node/images.js';
import type { RealNodeLayout } from './real-node/layout.js';
import { realNodeOf } from './real-node/node.js';
import { isAlive, type ProcessRecord, readRecords, startProcess, stopProcess } from './processes.js';
import { down } from './down.js';
import { ensureVkubeIdentityKubeconfig } from './identity.js';
import { criLog } from './kwok-config.js';
import { up } from './up.js';

export { DEFAULT_LOG_LINES, DEFAULT_PREVIOUS_LOG_LINES } from './kwok-config.js';

export interface ClusterHandle {
  kubeconfig: string;
  /** True when this call started the cluster; then `stop` takes it down again. */
  startedHere: boolean;
  stop(): Promise<void>;
}

/** Starts the local cluster unless a healthy one is already up. */
export async function ensureCluster(log: (line: string) => void = () => {}): Promise<ClusterHandle> {
  const result = await up({ log });
  return {
    kubeconfig: result.kubeconfig,
    startedHere: !result.alreadyUp,
    // Quiet: whatever runs last (the test runner's summary) stays the last thing printed.
    stop: async () => {
      if (!result.alreadyUp) await down({ log: () => {} });
    },
  };
}

/** The kubeconfig a test should use: $KUBECONFIG set by the test runner, else the local cluster's. */
export function testKubeconfig(): string {
  return process.env.KUBECONFIG || kubeconfigPath();
}

/**
 * The kubeconfig V-Kube itself runs with in tests: its least-privilege identity
 * (identity.ts, deploy/kubernetes/rbac.yaml) behind the admission policies, as in a
 * real installation. Every suite that starts V-Kube thereby proves that what V-Kube
 * does is allowed to it; the tests' own checks and set-ups use testKubeconfig().
 */
export function vkubeKubeconfig(): Promise<string> {
  return ensureVkubeIdentityKubeconfig(testKubeconfig());
}

export function testKubeClient(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(testKubeconfig());
  return kc;
}

/**
 * Gives one pod its own log text (and previous-container log), served through the
 * real `pods/<name>/log` API from then on. Works through kwok's `Logs` resource.
 */
export async function setPodLog(
  kc: k8s.KubeConfig,
  target: { namespace: string; pod: string; container?: string },
  lines: string[],
  previousLines: string[] = [],
): Promise<void> {
  const dir = join(stateDir(), 'pod-logs');
  await mkdir(dir, { recursive: true });
  const base = join(dir, `${target.namespace}_${target.pod}_${target.container ?? 'all'}`);
  await writeFile(`${base}.log`, criLog(lines, new Date()));
  await writeFile(`${base}.previous.log`, criLog(previousLines, new Date(Date.now() - 60_000)));
  const body = {
    apiVersion: 'kwok.x-k8s.io/v1alpha1',
    kind: 'Logs',
    metadata: { name: target.pod, namespace: target.namespace },
    spec: {
      logs: [
        {
          ...(target.container ? { containers: [target.container] } : {}),
          logsFile: `${base}.log`,
          previousLogsFile: `${base}.previous.log`,
          follow: true,
        },
      ],
    },
  };
  const api = kc.makeApiClient(k8s.CustomObjectsApi);
  const ref = { group: 'kwok.x-k8s.io', version: 'v1alpha1', namespace: target.namespace, plural: 'logs' };
  try {
    await api.createNamespacedCustomObject({ ...ref, body });
  } catch (err) {
    if (!(err instanceof k8s.ApiException && err.code === 409)) throw err;
    const existing = (await api.getNamespacedCustomObject({ ...ref, name: target.pod })) as { metadata: { resourceVersion: string } };
    await api.replaceNamespacedCustomObject({
      ...ref,
      name: target.pod,
      body: { ...body, metadata: { ...body.metadata, resourceVersion: existing.metadata.resourceVersion } },
    });
  }
}

/**
 * Stops one component of the running local cluster (for outage tests) and returns what
 * `startComponent` needs to bring it back with the same binary and flags.
 */
export async function stopComponent(name: string): Promise<ProcessRecord> {
  const state = stateDir();
  const rec = (await readRecords(state)).find((r) => r.name === name);
  if (!rec || !isAlive(rec)) throw new Error(`${name} is not running in ${state}`);
  await stopProcess(state, rec);
  return rec;
}

export async function startComponent(rec: ProcessRecord): Promise<void> {
  await startProcess(stateDir(), rec.name, rec.binary, rec.args, rec.env);
}

/** What tests need of the cluster's real node: where it is and where it pulls from. */
export interface RealNodeHandle {
  name: string;
  region: string;
  /** The node's address: pods' hostIP, where host ports answer. */
  ip: string;
  /** The local registry, `127.0.0.1:<port>`. */
  registry: string;
  layout: RealNodeLayout;
}

/**
 * The running local cluster's real node, or undefined when its config has none (a
 * test then skips, saying why). Reads the state `cluster:up` wrote.
 */
export async function realNode(): Promise<RealNodeHandle | undefined> {
  const state = stateDir();
  // No cluster.json (no cluster started here, or one from an older layout): no real node to report.
  const saved = await readFile(join(state, 'cluster.json'), 'utf8')
    .then((t) => JSON.parse(t) as { ports: Ports; realNode?: { name: string; region: string } | null })
    .catch(() => undefined);
  if (!saved?.realNode) return undefined;
  const layout = await realNodeOf(state);
  if (!layout) return undefined;
  return { name: layout.name, region: layout.region, ip: layout.ip, registry: registryHost(saved.ports.registry), layout };
}

/** Files and run settings of a test image, on top of the local cluster's busybox. */
export interface TestImageSpec {
  files?: Record<string, string>;
  config?: ImageRunConfig;
}

let busyboxLayer: Promise<TarEntry[]> | undefined;

/**
 * Builds a real image — Debian's static busybox plus the given files (executable when
 * they start with `#!`) — and pushes it to the local registry. Returns the reference
 * to deploy and the manifest digest the node will report in the container's imageID.
 */
export async function pushTestImage(registry: string, repository: string, tag: string, spec: TestImageSpec = {}): Promise<{ image: string; digest: string }> {
  busyboxLayer ??= busyboxFiles();
  const files = Object.entries(spec.files ?? {});
  const dirs = [...new Set(files.flatMap(([path]) => path.split('/').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join('/'))))];
  const appLayer: TarEntry[] = [
    ...dirs.map((path): TarEntry => ({ type: 'dir', path })),
    ...files.map(([path, content]): TarEntry => ({ type: 'file', path, content, mode: content.startsWith('#!') ? 0o755 : 0o644 })),
  ];
  // busybox's default command (sh) only when the image names no entrypoint of its own.
  const defaults = spec.config?.Entrypoint ? {} : { Cmd: ['sh'] };
  const image = buildImage([await busyboxLayer, appLayer], { ...defaults, Env: [BUSYBOX_PATH_ENV], ...spec.config });
  const digest = await pushBuiltImage(`http://${registry}`, repository, tag, image);
  return { image: `${registry}/${repository}:${tag}`, digest };
}

/** A second local control plane beside the shared one, for tests of one V-Kube driving two clusters. */
export interface SecondCluster {
  /** Its state directory (VKUBE_CLUSTER_DIR). */
  dir: string;
  /** The admin kubeconfig (the tests' own checks). */
  kubeconfig: string;
  /** V-Kube's least-privilege identity on it, as vkubeKubeconfig() gives for the shared cluster. */
  vkubeKubeconfig: string;
  /** The pid of one of its components (kube-apiserver, etcd, kwok, …), for outage tests. */
  pidOf(component: string): Promise<number>;
  /** `cluster:down` of this cluster alone. */
  stop(): Promise<void>;
}

/**
 * Starts a second cluster with its own state directory, port block and regions, through
 * the same `cluster:up` a developer runs (cached build), in a child process: the cluster
 * tooling reads its directory and ports from the environment. Kwok nodes only unless a
 * region is `real` (then it needs root, and gets a node slot of its own).
 */
export async function startSecondCluster(opts: {
  portBase: number;
  regions: Array<{ name: string; nodes?: number; real?: boolean }>;
  log?: (line: string) => void;
}): Promise<SecondCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'vkube-second-cluster-'));
  const configFile = join(dir, 'regions.json');
  await writeFile(configFile, JSON.stringify({ regionLabel: 'region', node: { cpu: '8', memory: '32Gi', pods: '110' }, regions: opts.regions }));
  // Only this cluster's block: a port variable of the shared cluster's environment must not leak in.
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^VKUBE_[A-Z_]*_PORT$/.test(k)));
  Object.assign(env, { VKUBE_CLUSTER_DIR: dir, VKUBE_CLUSTER_PORT_BASE: String(opts.portBase), VKUBE_CLUSTER_CONFIG: configFile });
  const cli = (args: string[]) =>
    new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--import', 'tsx', join(repoRoot, 'dev/cluster/cli.ts'), ...args], { cwd: repoRoot, env, timeout: 600_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`cluster ${args.join(' ')} in ${dir}: ${err.message}\n${stdout}${stderr}`)) : resolve(stdout + stderr),
      ),
    );
  const kubeconfig = join(dir, 'kubeconfig');
  try {
    const out = await cli(['up']);
    opts.log?.(out);
    await readFile(kubeconfig).catch(() => {
      throw new Error(`cluster up in ${dir} left no kubeconfig:\n${out}`);
    });
  } catch (err) {
    // Whatever it started goes again, and so does the directory.
    await cli(['down']).catch(() => {});
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    dir,
    kubeconfig,
    vkubeKubeconfig: await ensureVkubeIdentityKubeconfig(kubeconfig, dir),
    async pidOf(component) {
      const rec = (await readRecords(dir)).find((r) => r.name === component);
      if (!rec || !isAlive(rec)) throw new Error(`${component} is not running in ${dir}`);
      return rec.pid;
    },
    async stop() {
      // Not `opts.log?.(await cli(…))`: without a log, optional chaining skips its argument too, and nothing was taken down.
      const out = await cli(['down']);
      opts.log?.(out);
    },
  };
}
