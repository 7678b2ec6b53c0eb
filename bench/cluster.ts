/**
 * The benchmark's own local control plane: a temporary state directory, its own port
 * block and its own cluster config (the usual regions plus a `bench` region sized for
 * the largest scale), so it never touches a developer's or the test suite's cluster.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { portIsFree, readRecords } from '../dev/cluster/processes.js';
import { ensureCluster } from '../dev/cluster/testing.js';
import { down } from '../dev/cluster/down.js';
import { kubeconfigPath, portEnv, ports, stateDir } from '../dev/cluster/config.js';

export const BENCH_REGION = 'bench';
/** The region whose node is this machine: real containers (kubelet, containerd, runc). */
export const REAL_REGION = 'laima';
export const REGION_LABEL = 'region';

export interface BenchCluster {
  dir: string;
  /** Where its processes are recorded (VKUBE_CLUSTER_DIR): `cluster:down` there takes it down. */
  stateDir: string;
  kubeconfig: string;
  apiserverPort: number;
  configFile: string;
  /** Pids of the control plane's processes, by name (kube-apiserver, etcd, …). */
  pids: Record<string, number>;
  upMs: number;
  stop(): Promise<void>;
}

export interface BenchClusterOptions {
  portBase: number;
  benchNodes: number;
  podsPerNode: number;
  log: (line: string) => void;
}

export async function startBenchCluster(opts: BenchClusterOptions): Promise<BenchCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'vkube-bench-'));
  const configFile = join(dir, 'cluster.json');
  await writeFile(
    configFile,
    JSON.stringify(
      {
        $comment: 'Written by bench/cluster.ts: the usual regions, a bench region sized for the largest scale, and the real node.',
        regionLabel: REGION_LABEL,
        node: { cpu: '8', memory: '32Gi', pods: '110' },
        regions: [
          { name: 'ausrine', nodes: 1 },
          { name: 'giltine', nodes: 2 },
          { name: BENCH_REGION, nodes: opts.benchNodes, node: { cpu: '64', memory: '256Gi', pods: String(opts.podsPerNode) } },
          { name: REAL_REGION, real: true },
        ],
        // kwok serves every bench node's metrics scrape from this machine, some 5,000 pods'
        // worth at the largest scale: every 10 s (the tests' setting) that was 20–45 % of a
        // core beside V-Kube, work each node's own kubelet does on a real cluster. 60 s is
        // metrics-server's own default.
        metricResolutionSeconds: 60,
      },
      null,
      2,
    ),
  );
  // dev/cluster reads these at call time: everything below happens in `dir`, on our ports.
  process.env.VKUBE_CLUSTER_DIR = join(dir, 'cluster');
  process.env.VKUBE_CLUSTER_PORT_BASE = String(opts.portBase);
  process.env.VKUBE_CLUSTER_CONFIG = configFile;
  for (const name of Object.values(portEnv)) delete process.env[name];
  const p = ports();
  for (const [what, port] of Object.entries(p)) {
    if (!(await portIsFree(port))) {
      await rm(dir, { recursive: true, force: true });
      throw new Error(`port ${port} (${what}) of the bench cluster's block is in use; pick another block with --port-base`);
    }
  }

  const started = Date.now();
  let handle;
  for (let attempt = 1; ; attempt++) {
    try {
      handle = await ensureCluster((line) => opts.log(`  cluster: ${line.trim()}`));
      break;
    } catch (err) {
      // Clears a half-started cluster before the retry; the start's own error, below, is what gets reported.
      await down({ log: () => {} }).catch(() => {});
      // A port taken for a moment (by a client socket, say) is worth one more try.
      if (attempt < 2 && /address already in use/.test((err as Error).message)) {
        opts.log(`  cluster: a port was taken while starting; trying once more`);
        continue;
      }
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }
  const upMs = Date.now() - started;
  const pids: Record<string, number> = {};
  for (const rec of await readRecords(stateDir())) pids[rec.name] = rec.pid;

  return {
    dir,
    stateDir: stateDir(),
    kubeconfig: kubeconfigPath(),
    apiserverPort: p.apiserver,
    configFile,
    pids,
    upMs,
    async stop() {
      // A fresh directory: this call started the cluster, so stop() takes it down.
      await handle.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
