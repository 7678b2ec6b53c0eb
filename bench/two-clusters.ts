/**
 * Reads with two clusters behind one V-Kube against one (issue: several clusters).
 *
 * On the population the scales left, V-Kube is started afresh twice on the same
 * database: once with the bench cluster alone, once with a second, kwok-only cluster
 * beside it (`VKUBE_KUBECONFIGS`). Each time the same read phases run on the same orders,
 * so the two rows differ only by the second cluster: its caches, its heartbeat and Lease,
 * and the routing by region and namespace (`cluster/cluster-set.ts`).
 */
import { join } from 'node:path';
import { startSecondCluster } from '../dev/cluster/testing.js';
import type { LoadResult } from './load.js';
import { type ReadContext, type ReadPhase, runReadPhases } from './reads.js';
import type { Teardown } from './teardown.js';
import { type Vkube, type VkubeOptions, startVkube } from './vkube.js';

export interface ClusterCountReads {
  clusters: 1 | 2;
  vkubeStartSeconds: number;
  reads: Record<ReadPhase, LoadResult>;
}

export interface TwoClusterRound {
  pods: number;
  /** The second cluster's regions (kwok nodes only). */
  secondRegions: string[];
  one: ClusterCountReads;
  two: ClusterCountReads;
}

export interface TwoClusterOptions {
  /** How V-Kube was started for the scales (database directory, runtime, log level). */
  vkube: VkubeOptions;
  /** The read phases' settings, minus the V-Kube address and the CPU meter's pids. */
  reads: Omit<ReadContext, 'vkubeUrl' | 'pids'>;
  /** The control plane's pids, for the CPU columns. */
  planePids: Record<string, number>;
  portBase: number;
  outDir: string;
  log: (line: string) => void;
  /** The V-Kube now running (stopped first: one writer per database), and where the last one started goes. */
  current: Vkube;
  setCurrent: (vk: Vkube | undefined) => void;
  /** The run's teardown: the second cluster is registered with it as it starts, so Ctrl-C takes it down too. */
  teardown: Teardown;
}

const SECOND_REGION = 'perkunas';

export async function measureTwoClusters(opts: TwoClusterOptions): Promise<TwoClusterRound> {
  const { log } = opts;
  log(`  second cluster (kwok only, region ${SECOND_REGION}, ports from ${opts.portBase})`);
  const starting = startSecondCluster({ portBase: opts.portBase, regions: [{ name: SECOND_REGION, nodes: 2 }] });
  const registered = opts.teardown.cluster('the second cluster', starting, (s) => s.dir, (s) => s.stop());
  const second = await starting;
  try {
    await opts.current.stop();
    opts.setCurrent(undefined);
    const measure = async (clusters: 1 | 2): Promise<ClusterCountReads> => {
      const env: Record<string, string> = clusters === 2 ? { VKUBE_KUBECONFIGS: `bench=${opts.vkube.kubeconfig},second=${second.kubeconfig}` } : {};
      const vk = await startVkube({ ...opts.vkube, logFile: join(opts.outDir, `vkube-${clusters}-cluster${clusters === 1 ? '' : 's'}.log`), env });
      opts.setCurrent(vk);
      // Start-up work (cache sync, the first reconcile pass) is not what is measured.
      await new Promise((r) => setTimeout(r, 5000));
      log(`  ${clusters === 1 ? 'one cluster' : 'two clusters'}: V-Kube ready in ${(vk.startMs / 1000).toFixed(1)} s`);
      const reads = await runReadPhases({ ...opts.reads, vkubeUrl: vk.url, pids: { ...opts.planePids, vkube: vk.pid } });
      await vk.stop();
      opts.setCurrent(undefined);
      return { clusters, vkubeStartSeconds: Math.round(vk.startMs / 100) / 10, reads };
    };
    const one = await measure(1);
    const two = await measure(2);
    return { pods: opts.reads.orders.length, secondRegions: [SECOND_REGION], one, two };
  } finally {
    await registered.stop();
  }
}
