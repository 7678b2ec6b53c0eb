/**
 * Deploys on the bench cluster's real node: a real image (Debian's static busybox
 * serving HTTP on 8080, stopping at once on SIGTERM) in the cluster's own registry,
 * pulled once by a warm-up deploy, so the timed deploys measure starting containers
 * and not downloading them.
 */
import { pushTestImage, realNode } from '../dev/cluster/testing.js';
import { NETWORK_POLICY_PROCESS } from '../dev/cluster/real-node/network-policy.js';
import type { PodWatch } from './kube.js';
import { type Order, type Vkube, createOrder, deploy } from './vkube.js';

export interface RealNodeBench {
  image: string;
  /** A running order on the real node: the template of the direct Deployments. */
  warm: Order;
}

const SERVE = 'mkdir -p /www && echo bench > /www/index.html && trap "exit 0" TERM && httpd -f -p 8080 -h /www & wait';

/** Undefined when the bench cluster has no real node (not root, or a config without one). */
export async function prepareRealNode(vk: Vkube, watch: PodWatch, region: string, hostPort: number): Promise<RealNodeBench | undefined> {
  const node = await realNode();
  if (!node) return undefined;
  const { image } = await pushTestImage(node.registry, 'bench/real', '1', { config: { Entrypoint: ['/bin/sh', '-c', SERVE] } });
  const warm = await createOrder(vk, region, hostPort);
  const running = watch.running(warm.namespace);
  await deploy(vk, warm, region, image);
  await running;
  return { image, warm };
}

/**
 * Pauses the real node's NetworkPolicy enforcer (kube-router, SIGSTOP) for the kwok
 * phases, and returns what resumes it (SIGCONT; also before the teardown, which stops it
 * with SIGTERM). kube-router re-syncs every policy of the cluster into iptables on each
 * change: at 5,000 orders it took 65 % of a core through the kwok phases, whose pods have
 * no node it guards. That is the cluster's cost on every enforcing node, not V-Kube's; the
 * report says the enforcer was paused. Undefined when the cluster runs none.
 */
export function pauseNetworkPolicyEnforcer(pids: Record<string, number>): (() => void) | undefined {
  const pid = pids[NETWORK_POLICY_PROCESS];
  if (!pid) return undefined;
  try {
    process.kill(pid, 'SIGSTOP');
  } catch {
    return undefined;
  }
  let resumed = false;
  return () => {
    if (resumed) return;
    resumed = true;
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      // Gone already: nothing to resume.
    }
  };
}
